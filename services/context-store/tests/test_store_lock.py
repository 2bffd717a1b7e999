"""The store's lock: live batches side by side, a rebuild or an erasure alone."""

import asyncio

import pytest

from relais_context_store.service_layer.store_lock import StoreLock

pytestmark = pytest.mark.unit


async def test_shared_holders_run_side_by_side() -> None:
    lock = StoreLock()
    inside = asyncio.Event()

    async def inbound() -> None:
        async with lock.shared():
            inside.set()
            await asyncio.sleep(0.05)

    async def log() -> int:
        await inside.wait()
        async with lock.shared():  # not blocked by the inbound batch in flight
            return lock.shared_holders

    _, holders = await asyncio.gather(inbound(), log())
    assert holders == 2


async def test_exclusive_waits_for_the_batches_in_flight_and_new_ones_wait_behind_it() -> None:
    lock = StoreLock()
    order: list[str] = []
    in_batch = asyncio.Event()

    async def batch() -> None:
        async with lock.shared():
            in_batch.set()
            await asyncio.sleep(0.02)
            order.append("batch done")

    async def rebuild() -> None:
        await in_batch.wait()
        async with lock.exclusive():
            order.append("rebuild")
            assert lock.shared_holders == 0
            await asyncio.sleep(0.01)
            order.append("rebuild done")

    async def next_batch() -> None:
        await in_batch.wait()
        await asyncio.sleep(0)  # the rebuild asks first
        async with lock.shared():
            order.append("next batch")

    await asyncio.gather(batch(), rebuild(), next_batch())
    assert order == ["batch done", "rebuild", "rebuild done", "next batch"]


async def test_released_from_another_task() -> None:
    """FastAPI may run a dependency's exit in another task than its entry."""
    lock = StoreLock()
    held = lock.exclusive()
    await asyncio.create_task(held.__aenter__())
    await asyncio.create_task(held.__aexit__(None, None, None))
    async with lock.shared():
        assert lock.shared_holders == 1
