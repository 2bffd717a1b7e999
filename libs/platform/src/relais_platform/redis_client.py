"""The Redis client every service uses (redis-py asyncio)."""

from redis.asyncio import BlockingConnectionPool, Redis

from relais_platform.settings import ServiceSettings


def connect_redis(settings: ServiceSettings) -> "Redis":
    """A client pool; nothing connects until the first command.

    The pool is bounded and blocking: in a burst a command waits (up to `redis_pool_timeout_s`) for a
    free connection instead of failing, as redis-py's default pool does once it has 100 in use.
    """
    pool = BlockingConnectionPool.from_url(
        settings.redis_url,
        max_connections=settings.redis_max_connections,
        timeout=settings.redis_pool_timeout_s,
        decode_responses=False,
        # Adapters parse replies in RESP2's shapes; pinned so a client upgrade cannot change them.
        protocol=2,
        health_check_interval=30,
        socket_connect_timeout=5,
    )
    return Redis.from_pool(pool)  # the client owns the pool: closing it closes the connections
