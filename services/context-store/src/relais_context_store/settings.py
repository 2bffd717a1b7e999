"""Settings of the context store (`RELAIS_*` environment variables)."""

from pathlib import Path

from pydantic import Field, SecretStr

from relais_platform.settings import ServiceSettings


class ContextStoreSettings(ServiceSettings):
    http_port: int = 8081
    # A customer silent for this long has their conversation closed; their next message opens a new one.
    inactivity_timeout_s: float = Field(default=86_400.0, gt=0)
    # How often the inactivity sweep closes the conversations that timed out without a next message.
    sweep_interval_s: float = Field(default=60.0, gt=0)
    # A customer message the bot has not answered within this many seconds (the bot down, stuck or
    # silent) hands the conversation to a person, reason "bot-silent"; 0 turns the watchdog off.
    bot_silence_timeout_s: float = Field(default=30.0, ge=0)
    # How often the watchdog looks, and how far back (older silences are left alone: e.g. on a first
    # deployment over an old log).
    bot_watchdog_interval_s: float = Field(default=5.0, gt=0)
    bot_watchdog_horizon_s: float = Field(default=3_600.0, gt=0)
    # Region for phone numbers written without a country code (ISO 3166 alpha-2, e.g. "FR"); None
    # accepts international numbers only.
    default_phone_region: str | None = Field(default=None, pattern=r"^[A-Z]{2}$")
    # Tenants whose customer text is sealed with per-customer keys on the log ("*" for every tenant).
    # Every reader of the log must then unseal it (relais_platform.sealing).
    seal_tenants: frozenset[str] = frozenset()
    # Self-healing views (docs/operations.md, "Recovery"): how long one replica may hold the rebuild
    # lock before another may take over, and how long inbound resolution waits after a rebuild for the
    # log consumer to materialize what the log held (then it goes on, with a warning).
    # A closed conversation's views (state, timeline, delivery reports) are deleted this long after it
    # closed (default 30 days); the conversation log keeps it, and a customer's next message opens a new
    # conversation anyway. 0 keeps them until the customer is erased.
    closed_view_retention_s: float = Field(default=2_592_000.0, ge=0)
    views_rebuild_lease_s: float = Field(default=600.0, gt=0)
    views_catch_up_timeout_s: float = Field(default=30.0, gt=0)
    # Per-tenant secrets that sign customers' identity hints (docs/channel-contract.md, "Identity"):
    # a JSON object {"tenant": "secret"} in the variable, and/or in a file (a mounted Kubernetes
    # Secret), the file winning for a tenant in both. A tenant without one has no signed hints: they
    # count as claimed. Never logged.
    identity_secrets: dict[str, SecretStr] = Field(default_factory=dict)
    identity_secrets_file: Path | None = None
    # A signature made longer ago than this (or as far in the future) is stale: the hints are claimed.
    identity_signature_max_age_s: float = Field(default=600.0, gt=0)

    def seals(self, tenant: str) -> bool:
        return "*" in self.seal_tenants or tenant in self.seal_tenants
