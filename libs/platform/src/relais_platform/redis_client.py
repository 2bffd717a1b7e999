"""The Redis client every service uses (redis-py asyncio)."""

from redis.asyncio import Redis

from relais_platform.settings import ServiceSettings


def connect_redis(settings: ServiceSettings) -> "Redis":
    """A client pool; nothing connects until the first command."""
    return Redis.from_url(
        settings.redis_url,
        decode_responses=False,
        # Adapters parse replies in RESP2's shapes; pinned so a client upgrade cannot change them.
        protocol=2,
        health_check_interval=30,
        socket_connect_timeout=5,
    )
