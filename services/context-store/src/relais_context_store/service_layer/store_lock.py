"""Who may work on the views at once, within one process.

The live work (the inbound resolution, the log's materialization, the inactivity sweep, the bot
watchdog) shares the views: each batch writes what it owns atomically (one script per batch), and two
worker processes or replicas run the same handlers side by side anyway. Holding one lock for all of
them made the inbound resolution wait behind the log consumer's batch in the same process: a customer
message waited for the materialization of the previous replies (bench-pipeline's hops: the context
store's two hops took 70-80 % of a batch's time in waiting at 20 msg/s).

What must not meet a batch in flight takes the views alone: a rebuild (views being wiped and replayed),
an erasure (a batch must not re-create the erased customer's key), an identity change. It waits for the
live work in hand to finish, and live work that comes meanwhile waits behind it, so a steady stream of
batches never starves it.

Not a task-owned lock: FastAPI may release a request's dependency in another task than the one that
took it.
"""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class StoreLock:
    def __init__(self) -> None:
        # Held by the exclusive holder, and by whoever waits to be: new shared work queues behind it.
        self._gate = asyncio.Lock()
        self._shared = 0
        self._idle = asyncio.Event()
        self._idle.set()

    @property
    def shared_holders(self) -> int:
        return self._shared

    @asynccontextmanager
    async def shared(self) -> AsyncIterator[None]:
        async with self._gate:
            # Counted before the gate is let go: an exclusive holder that takes it next sees us.
            self._shared += 1
            self._idle.clear()
        try:
            yield
        finally:
            self._shared -= 1
            if not self._shared:
                self._idle.set()

    @asynccontextmanager
    async def exclusive(self) -> AsyncIterator[None]:
        async with self._gate:
            await self._idle.wait()
            yield
