"""`relais-context-store` / `python -m relais_context_store`: run the service."""

from relais_context_store.app import SERVICE, create_app
from relais_context_store.settings import ContextStoreSettings
from relais_platform.runtime import serve


def main() -> None:
    serve(create_app, ContextStoreSettings, SERVICE)


if __name__ == "__main__":
    main()
