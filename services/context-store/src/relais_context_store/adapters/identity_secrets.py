"""The tenants' identity-signing secrets, from the settings' JSON map and the optional mounted file."""

import json
from pathlib import Path

from pydantic import SecretStr, TypeAdapter, ValidationError

from relais_context_store.settings import ContextStoreSettings

_SECRETS: TypeAdapter[dict[str, SecretStr]] = TypeAdapter(dict[str, SecretStr])


class InvalidSecretsFile(ValueError):
    """The secrets file is unreadable or not a JSON object of strings (its content is never echoed)."""


def _read_file(path: Path) -> dict[str, SecretStr]:
    try:
        return _SECRETS.validate_python(json.loads(path.read_text()))
    except (OSError, ValueError, ValidationError):
        raise InvalidSecretsFile(
            f"{path}: cannot read a JSON object of tenant -> secret (RELAIS_IDENTITY_SECRETS_FILE)"
        ) from None


class IdentitySecrets:
    """Per-tenant secrets, read once at start: a bad file stops the service instead of quietly turning
    every signed hint into a claim."""

    def __init__(self, settings: ContextStoreSettings) -> None:
        secrets = dict(settings.identity_secrets)
        if settings.identity_secrets_file is not None:
            secrets |= _read_file(settings.identity_secrets_file)
        self._secrets = secrets

    def of(self, tenant: str) -> str | None:
        secret = self._secrets.get(tenant)
        return secret.get_secret_value() if secret is not None else None

    def __repr__(self) -> str:  # never the secrets themselves
        return f"IdentitySecrets(tenants={sorted(self._secrets)})"
