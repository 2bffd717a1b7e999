"""Process entry point: `python -m relais_agent_gateway` (or the `relais-agent-gateway` script)."""

from relais_agent_gateway.app import SERVICE, create_app
from relais_agent_gateway.settings import GatewaySettings
from relais_platform.runtime import serve


def main() -> None:
    serve(create_app, GatewaySettings, SERVICE)


if __name__ == "__main__":
    main()
