"""`relais-router` / `python -m relais_router`: run the service."""

from relais_platform.runtime import serve
from relais_router.app import SERVICE, create_app
from relais_router.settings import RouterSettings


def main() -> None:
    serve(create_app, RouterSettings, SERVICE)


if __name__ == "__main__":
    main()
