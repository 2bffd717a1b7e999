"""Settings common to every service, read from `RELAIS_*` environment variables."""

import socket
from typing import Annotated, Literal, TypeVar

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from relais_platform.callers import ADMIN, ApiCaller, token_sha256


class ServiceSettings(BaseSettings):
    """Base of each service's settings; a service adds its own fields and its default port."""

    model_config = SettingsConfigDict(env_prefix="RELAIS_", extra="ignore", frozen=True)

    # Production unless told otherwise: development conveniences (the gateway's dev login, its dev key)
    # exist only where `make up`, compose or the tests say "dev" or "test" explicitly.
    env: Literal["dev", "test", "prod"] = "prod"
    instance_id: str = Field(default_factory=socket.gethostname, min_length=1)
    http_host: str = "127.0.0.1"
    http_port: int = 8080
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    # Prefix of every topic, consumer group and Redis key, so several deployments (or test runs) can
    # share one Kafka cluster and one Redis without seeing each other. Empty in a normal deployment.
    namespace: str = Field(default="", pattern=r"^([a-z0-9][a-z0-9-]*\.)?$")

    kafka_bootstrap_servers: str = Field(
        default="127.0.0.1:19092",
        validation_alias=AliasChoices("RELAIS_KAFKA_BOOTSTRAP_SERVERS", "KAFKA_BOOTSTRAP_SERVERS"),
    )
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = None
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None
    kafka_ssl_cafile: str | None = None
    # Partitions of topics this service creates when they are missing (topic contract name -> count).
    kafka_topic_partitions: dict[str, int] = Field(default_factory=dict)
    kafka_default_partitions: int = Field(default=6, ge=1)
    # Create missing contract topics at start-up. Off where the topics are declared (Strimzi KafkaTopics)
    # and the service's Kafka user may only use its own topics: it could neither see the others nor create.
    kafka_create_topics: bool = True
    kafka_replication_factor: int = Field(default=1, ge=1)

    # The largest record a producer sends (aiokafka's max_request_size); keep it at or below the
    # broker's and topics' max.message.bytes. A dead letter that would exceed it is cut to fit.
    kafka_max_message_bytes: int = Field(default=1_000_000, ge=16_384)
    # How long the producer holds a partition's batch for more records before sending it: a longer
    # linger puts more concurrent publishes in one produce request (less CPU here and on the broker a
    # record) and adds at most that much to each publish's latency.
    kafka_linger_ms: int = Field(default=2, ge=0, le=1000)

    # An event's `time` is the sender's claim. One more than this ahead of, or behind, the broker's log
    # append time of its record is replaced by the log time (and counted), so that no sender's clock
    # can move a service's timers.
    event_time_max_ahead_s: float = Field(default=300.0, ge=0)
    event_time_max_behind_s: float = Field(default=86_400.0, ge=0)

    # Worker processes of this instance (relais_platform.runtime.serve): each is a whole instance of
    # the service whose consumers join the same groups, like another replica in the same pod. For a
    # service that is CPU-bound on one core (Python runs one thread at a time): give the pod that many
    # cores. Workers x replicas beyond a topic's partitions stay idle.
    workers: int = Field(default=1, ge=1, le=64)

    consumer_batch_max: int = Field(default=500, ge=1)
    # How long handled offsets may wait for their commit. Commits go out in the background, at most one
    # per interval (and at once when the consumer stops or gives partitions up): each commit is a write
    # to the broker's offsets topic, and one per batch of every hop cost the broker a quarter of its CPU
    # under load (bench-pipeline). A crash replays at most this much to the idempotent handlers.
    consumer_commit_interval_s: float = Field(default=1.0, ge=0, le=60)
    # How long a consumer waits after a small batch before it fetches again, so that the next batch
    # gathers more records: every fetch, publish and Redis round trip is a socket write that wakes
    # another process, and at half the pipeline's maximum rate the batches were a dozen records. At low
    # rates it costs nothing (the wait follows a batch, the next message is far); 0 turns it off.
    consumer_linger_ms: float = Field(default=4.0, ge=0, le=100)
    # Attempts at a failing batch before its records are tried one by one and the failing one is
    # dead-lettered. Infrastructure faults (relais_platform.faults: Kafka and Redis connections,
    # timeouts, leader moves, READONLY, LOADING, OOM...) are retried without limit instead: they are not
    # the record's fault, and dead-lettering good records during an outage would lose them.
    consumer_attempts: int = Field(default=3, ge=1)
    shutdown_timeout_s: float = Field(default=15.0, gt=0)

    redis_url: str = Field(
        default="redis://127.0.0.1:16379/0", validation_alias=AliasChoices("RELAIS_REDIS_URL", "REDIS_URL")
    )
    # Connections per process, and how long a command waits for one when all are busy.
    redis_max_connections: int = Field(default=64, ge=1)
    redis_pool_timeout_s: float = Field(default=10.0, gt=0)
    # Redis of the customers' encryption keys (relais_platform.sealing); defaults to `redis_url`. Not a
    # view that a replay rebuilds: keep it persistent.
    keystore_redis_url: str | None = None
    # Who may call this service's HTTP API (the context store's, the router's): JSON, a list of
    # {name, tokens_sha256, scopes, tenant?} (relais_platform.callers). Empty: every call is refused.
    api_callers: tuple[ApiCaller, ...] = ()
    # Shorthand kept from before the callers list: one caller "admin" with the `admin` scope only.
    admin_token: SecretStr | None = None

    # Tenants this deployment serves, comma-separated (RELAIS_TENANTS=acme,globex): events of any other
    # tenant are dead-lettered with the reason `unknown-tenant` and create no state (relais_platform.
    # tenants). Empty accepts every tenant: for development; set it in production.
    tenants: Annotated[frozenset[str], NoDecode] = frozenset()

    # Chaos testing: SIGKILL the process after this many handled batches, after their effects are
    # written but before the offsets are committed. 0 disables it; refused outside dev and test.
    fault_kill_before_commit: int = Field(default=0, ge=0)

    @field_validator("tenants", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return frozenset(t.strip() for t in value.split(",") if t.strip())
        return value

    @model_validator(mode="after")
    def _safe_for_production(self) -> "ServiceSettings":
        if self.env == "prod" and self.fault_kill_before_commit:
            raise ValueError("RELAIS_FAULT_KILL_BEFORE_COMMIT is for tests and cannot be set in prod")
        if self.admin_token is not None and len(self.admin_token.get_secret_value()) < 16:
            raise ValueError("RELAIS_ADMIN_TOKEN must be at least 16 characters")
        names = [c.name for c in self.api_callers]
        if len(set(names)) != len(names):
            raise ValueError("RELAIS_API_CALLERS names a caller twice")
        if self.kafka_sasl_mechanism and not (self.kafka_sasl_username and self.kafka_sasl_password):
            raise ValueError(
                "RELAIS_KAFKA_SASL_USERNAME and RELAIS_KAFKA_SASL_PASSWORD are required with SASL"
            )
        return self

    def callers(self) -> tuple[ApiCaller, ...]:
        """The API's callers: `api_callers`, and "admin" when `admin_token` is set."""
        if self.admin_token is None:
            return self.api_callers
        admin = ApiCaller(
            name="admin", tokens_sha256=(token_sha256(self.admin_token.get_secret_value()),), scopes={ADMIN}
        )
        return (*self.api_callers, admin)

    def topic(self, name: str) -> str:
        """The physical name of a contract topic in this deployment."""
        return f"{self.namespace}{name}"

    def group(self, name: str) -> str:
        return f"{self.namespace}relais-{name}"

    def key(self, *parts: str) -> str:
        """A Redis key in this deployment's namespace."""
        return ":".join((f"{self.namespace}relais", *parts))


S = TypeVar("S", bound=ServiceSettings)


def load_settings(settings_type: type[S], service: str) -> S:
    """Read the settings from the environment, or stop the process with the reasons on one line.

    Only the reasons: pydantic's own message would echo the values, secrets included.
    """
    try:
        return settings_type()
    except ValidationError as exc:
        reasons = "; ".join(
            f"{'.'.join(map(str, err['loc'])) or 'settings'}: {err['msg']}"
            for err in exc.errors(include_input=False, include_url=False)
        )
        raise SystemExit(f"{service}: invalid settings: {reasons}") from None
