"""Process entry point: `python -m relais_agent_gateway` (or the `relais-agent-gateway` script)."""

from pydantic import ValidationError

from relais_agent_gateway.app import SERVICE, create_app
from relais_agent_gateway.settings import GatewaySettings
from relais_platform.runtime import serve


def main() -> None:
    # Settings are read here, not at import: a prod process without its JWT secret stops at once,
    # with the reason on one line. Only the reasons: pydantic's own text would echo the inputs,
    # secrets included.
    try:
        settings = GatewaySettings()
    except ValidationError as exc:
        reasons = "; ".join(
            f"{'.'.join(map(str, err['loc'])) or 'settings'}: {err['msg']}"
            for err in exc.errors(include_input=False, include_url=False)
        )
        raise SystemExit(f"{SERVICE}: invalid settings: {reasons}") from None
    serve(create_app, settings, SERVICE)


if __name__ == "__main__":
    main()
