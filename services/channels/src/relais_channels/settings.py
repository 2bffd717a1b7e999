"""Settings of the channels service (`RELAIS_*` environment variables)."""

from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from relais_contracts.envelope import TENANT_PATTERN
from relais_platform.settings import ServiceSettings

_CHANNEL = r"^[a-z][a-z0-9_-]*$"


class IntegratorConfig(BaseModel):
    """One integrator as configured (docs: services/channels/docs/channels.md, "Integrators")."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    tenant: str = Field(min_length=1, max_length=64, pattern=TENANT_PATTERN)
    channels: tuple[Annotated[str, Field(pattern=_CHANNEL, max_length=32)], ...] = Field(min_length=1)
    # The secret itself, or a file holding it (a mounted Kubernetes Secret, `.local/channels/<id>.secret`).
    secret: SecretStr | None = None
    secret_file: Path | None = None
    # Secrets still accepted while the integrator moves to a new one (rotation); never used to sign.
    previous_secrets: tuple[SecretStr, ...] = ()
    # Where the integrator's outbound messages are POSTed; without it, it reads relais.outbound.v1 itself.
    callback_url: str | None = Field(default=None, pattern=r"^https?://")
    rate_per_s: float | None = Field(default=None, gt=0)
    burst: int | None = Field(default=None, ge=1)
    # The tenant's mailboxes this integrator receives mail for on the SMTP listener (needs "email").
    email_addresses: tuple[Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+$", max_length=320)], ...] = ()
    # The web chat widget speaks for this integrator (needs "webchat"): visitors connect to /chat/ws.
    widget: bool = False
    # Sites that may embed the widget (`https://shop.example`), besides this service's own /chat/ page.
    widget_origins: tuple[Annotated[str, Field(pattern=r"^https?://[^/\s]+$", max_length=300)], ...] = ()

    @model_validator(mode="after")
    def _one_secret(self) -> "IntegratorConfig":
        if (self.secret is None) == (self.secret_file is None):
            raise ValueError(f"integrator {self.id}: give exactly one of secret and secret_file")
        if self.email_addresses and "email" not in self.channels:
            raise ValueError(f"integrator {self.id}: email_addresses need the email channel")
        if (self.widget or self.widget_origins) and "webchat" not in self.channels:
            raise ValueError(f"integrator {self.id}: the widget needs the webchat channel")
        return self


class ChannelsSettings(ServiceSettings):
    http_port: int = 8084
    # The integrators, as a JSON list of IntegratorConfig; and/or a JSON file of the same list (merged).
    integrators: tuple[IntegratorConfig, ...] = ()
    integrators_file: Path | None = None
    # A signature's timestamp may be this far from the service's clock, either way.
    signature_tolerance_s: float = Field(default=300.0, gt=0)
    # The largest request body accepted (413 above it); keep it under the broker's max message size.
    ingress_max_body_bytes: int = Field(default=1_000_000, ge=1024)
    # The most events in one batch-mode request.
    ingress_max_batch: int = Field(default=100, ge=1)
    # An integrator's default rate limit (requests per second, and the burst above it), per replica.
    integrator_rate_per_s: float = Field(default=100.0, gt=0)
    integrator_burst: int = Field(default=200, ge=1)
    # The SMTP listener for the integrators' email_addresses: 0 runs none (`make up` listens on 2525).
    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(default=0, ge=0, le=65535)
    # The largest message accepted (552 above it); only its text and attachments' metadata are kept.
    smtp_max_message_bytes: int = Field(default=10_485_760, ge=1024)
    # Where replies on the email channel are sent (the tenant's relay); port 0: no mail out, an email
    # integrator then reads relais.outbound.v1 itself. `make up` relays to a sink writing .local/mail/.
    smtp_relay_host: str = "127.0.0.1"
    smtp_relay_port: int = Field(default=0, ge=0, le=65535)
    smtp_relay_timeout_s: float = Field(default=30.0, gt=0)
    # Shortest secret accepted outside dev and test, in bytes.
    integrator_secret_min_bytes: int = Field(default=32, ge=16)

    # Webhooks: how long one POST may take, the backoff between attempts (exponential from the base,
    # capped, with full jitter) and how long after the first attempt a message is given up (reported
    # `failed` and dead-lettered). A callback that is down delays only its own integrator's messages.
    webhook_timeout_s: float = Field(default=10.0, gt=0)
    webhook_backoff_base_s: float = Field(default=1.0, gt=0)
    webhook_backoff_max_s: float = Field(default=300.0, gt=0)
    webhook_give_up_after_s: float = Field(default=3600.0, gt=0)
    # Attempts in flight at once per integrator (each to a different customer address), per replica.
    webhook_concurrency: int = Field(default=16, ge=1)
    # How often each integrator's due queues are looked up: the delay before a new message goes out.
    webhook_poll_s: float = Field(default=0.1, gt=0)

    # The web chat (widget integrators, docs/channels.md "Web chat"): the longest visitor text in
    # characters, the largest frame in bytes, a visitor's messages per minute (per replica), the sockets
    # one IP address may hold open (per replica), and what a visitor's history keeps and how long.
    webchat_max_text_chars: int = Field(default=4000, ge=1, le=20_000)
    webchat_max_frame_bytes: int = Field(default=32_768, ge=1024)
    webchat_messages_per_minute: int = Field(default=30, ge=1)
    webchat_sockets_per_ip: int = Field(default=20, ge=1)
    webchat_history_max: int = Field(default=200, ge=10)
    webchat_history_ttl_s: int = Field(default=7 * 24 * 3600, ge=60)
