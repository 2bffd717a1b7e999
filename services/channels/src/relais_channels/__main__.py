"""`relais-channels` / `python -m relais_channels`: run the service."""

from relais_channels.adapters.integrator_files import IntegratorConfigError
from relais_channels.app import SERVICE, create_app
from relais_channels.settings import ChannelsSettings
from relais_platform.runtime import serve


def main() -> None:
    try:
        serve(create_app, ChannelsSettings, SERVICE)
    except IntegratorConfigError as exc:
        raise SystemExit(f"{SERVICE}: invalid integrators: {exc}") from None


if __name__ == "__main__":
    main()
