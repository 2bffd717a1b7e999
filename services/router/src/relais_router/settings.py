"""Settings of the router (`RELAIS_*` environment variables)."""

from pathlib import Path

from pydantic import Field

from relais_platform.settings import ServiceSettings


class RouterSettings(ServiceSettings):
    http_port: int = 8083
    # Directory of routing configuration files, one `<tenant>.yaml` per tenant (see docs/routing.md).
    # Without it, every tenant routes with the defaults: one implicit queue per name, any agent.
    routing_config_dir: Path | None = None
    # How often the files are checked for changes; a changed file is applied without a restart.
    routing_config_poll_s: float = Field(default=10.0, gt=0)
    # A partition's state is saved to Redis after this many events or this many seconds, whichever
    # comes first, and when the partition leaves this instance. A new owner replays only what follows.
    snapshot_every_events: int = Field(default=5_000, ge=1)
    snapshot_every_s: float = Field(default=10.0, gt=0)
    # How often the router looks for due timers (offer timeouts, overflow, wait updates) and writes
    # a tick to the routing topic for them: the resolution of every routing timer.
    tick_interval_s: float = Field(default=0.5, gt=0)
    # How often the per-queue gauges and the read API's views are refreshed.
    view_interval_s: float = Field(default=2.0, gt=0)
    # Waiting conversations listed per queue in the read API's view (the counts cover all of them).
    view_waiting_limit: int = Field(default=100, ge=0)
