"""The integrators of the settings and of `RELAIS_INTEGRATORS_FILE`, with their secrets read from files."""

from pathlib import Path

from pydantic import TypeAdapter, ValidationError

from relais_channels.domain.integrators import Integrator
from relais_channels.settings import ChannelsSettings, IntegratorConfig

_LIST = TypeAdapter(tuple[IntegratorConfig, ...])


class IntegratorConfigError(ValueError):
    """The integrators' configuration is unusable: the service refuses to start with the reason."""


def load_integrators(settings: ChannelsSettings) -> dict[str, Integrator]:
    """Every configured integrator by id; IntegratorConfigError on a duplicate id, a tenant outside
    RELAIS_TENANTS, an unreadable, empty or (in prod) short secret, or an invalid file."""
    configs = list(settings.integrators)
    if settings.integrators_file is not None:
        try:
            configs += _LIST.validate_json(settings.integrators_file.read_bytes())
        except (OSError, ValidationError) as exc:
            raise IntegratorConfigError(
                f"RELAIS_INTEGRATORS_FILE {settings.integrators_file}: {exc}"
            ) from None
    found: dict[str, Integrator] = {}
    for config in configs:
        if config.id in found:
            raise IntegratorConfigError(f"integrator {config.id} is configured twice")
        if settings.tenants and config.tenant not in settings.tenants:
            raise IntegratorConfigError(
                f"integrator {config.id}: tenant {config.tenant} is not served here (RELAIS_TENANTS)"
            )
        secrets = (_secret(config), *(s.get_secret_value().encode() for s in config.previous_secrets))
        if settings.env == "prod" and any(len(s) < settings.integrator_secret_min_bytes for s in secrets):
            raise IntegratorConfigError(
                f"integrator {config.id}: secrets must be at least "
                f"{settings.integrator_secret_min_bytes} bytes"
            )
        found[config.id] = Integrator(
            id=config.id,
            tenant=config.tenant,
            channels=frozenset(config.channels),
            secrets=secrets,
            callback_url=config.callback_url,
            rate_per_s=config.rate_per_s or settings.integrator_rate_per_s,
            burst=config.burst or settings.integrator_burst,
            email_addresses=frozenset(a.lower() for a in config.email_addresses),
            widget=config.widget or bool(config.widget_origins),
            widget_origins=frozenset(config.widget_origins),
        )
    mailboxes = [a for i in found.values() for a in i.email_addresses]
    if len(set(mailboxes)) != len(mailboxes):
        raise IntegratorConfigError("a mailbox is given to two integrators")
    return found


def _secret(config: IntegratorConfig) -> bytes:
    if config.secret is not None:
        value = config.secret.get_secret_value().encode()
    else:
        assert config.secret_file is not None  # one of the two, by the model's validator
        try:
            # A trailing newline is what `echo` and editors leave; it is never part of the secret.
            value = Path(config.secret_file).read_bytes().strip()
        except OSError as exc:
            raise IntegratorConfigError(
                f"integrator {config.id}: cannot read its secret_file: {exc}"
            ) from None
    if not value:
        raise IntegratorConfigError(f"integrator {config.id}: empty secret")
    return value
