"""Settings of the router (`RELAIS_*` environment variables)."""

from pydantic import Field

from relais_platform.settings import ServiceSettings


class RouterSettings(ServiceSettings):
    http_port: int = 8083
    # How long "event already applied" markers live: far longer than any redelivery after a crash or
    # a rebalance, short enough that Redis does not keep one key per routing event forever.
    applied_marker_ttl_s: int = Field(default=7 * 24 * 3600, ge=60)
