"""Who may speak for which tenant and channels, with which secret, and where their webhooks go."""

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Integrator:
    """A channel integrator as the ingress and the webhooks know it (secrets already resolved)."""

    id: str
    tenant: str
    channels: frozenset[str]
    # Secrets whose signatures are accepted: the current one first, then any being rotated out.
    secrets: tuple[bytes, ...]
    callback_url: str | None = None
    rate_per_s: float = 100.0
    burst: int = 200
    # Mailboxes whose mail the SMTP listener takes in as this integrator's (lower case).
    email_addresses: frozenset[str] = frozenset()
    # The web chat widget speaks for it, from its own page and these origins.
    widget: bool = False
    widget_origins: frozenset[str] = frozenset()

    @property
    def signing_secret(self) -> bytes:
        """The secret webhooks are signed with: the current one."""
        return self.secrets[0]

    def may_speak_for(self, tenant: str, channel: str | None) -> bool:
        """Whether an event of this tenant (and channel, when the event names one) is this integrator's."""
        return tenant == self.tenant and (channel is None or channel in self.channels)
