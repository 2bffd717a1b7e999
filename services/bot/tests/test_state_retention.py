"""Bot states expire after the retention (RELAIS_BOT_STATE_RETENTION_S), on real Redis."""

import pytest
from redis.asyncio import Redis

from relais_bot.adapters.state import BotStates
from relais_bot.domain.policy import BotState
from relais_platform.settings import ServiceSettings
from relais_platform.testing import Infra

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(("retention_s", "expires"), [(3600.0, True), (0.0, False)])
async def test_a_saved_state_and_its_applied_ids_expire_after_the_retention(
    infra: Infra, namespace: str, retention_s: float, expires: bool
) -> None:
    redis = Redis.from_url(infra.redis_url)
    try:
        states = BotStates(redis, ServiceSettings(namespace=namespace), retention_s)
        c = ("acme", "conv-1")
        await states.save({c: BotState(tenant="acme", conversation_id="conv-1", turns=2)}, [(c, "ev-1")])
        key = f"{namespace}relais:bot:acme:conversation:conv-1"
        for k in (key, f"{key}:applied"):
            ttl = await redis.pttl(k)
            if expires:
                assert 3_590_000 < ttl <= 3_600_000, (k, ttl)
            else:
                assert ttl == -1, (k, ttl)
        done, loaded = await states.load_batch([(c, "ev-1"), (c, "ev-2")])
        assert done == {"ev-1"}
        assert loaded[c].turns == 2
        assert await states.wipe() == 2
        done, loaded = await states.load_batch([(c, "ev-1")])
        assert done == set()
        assert loaded[c].turns == 0
    finally:
        await redis.aclose()
