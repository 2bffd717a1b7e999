"""The bot rebuilds its per-conversation state when Redis loses it (relais_platform.views_marker).

Without it, a customer in the middle of a conversation (greeted, waiting for a person) would be taken
for a new one: greeted again, handed over again. The rebuild wipes what is left of the states, then
replays the conversation log up to what the bot's consumer group committed through the same decisions,
with every output dropped (they went out when the events were live); the live consumer carries on
from there (views_marker.handled_offsets).
"""

from collections.abc import Iterable

import structlog

from relais_bot.adapters.state import BotStates
from relais_contracts import Outgoing, topics
from relais_platform.consumer import BatchHandler
from relais_platform.settings import ServiceSettings
from relais_platform.views_marker import handled_offsets, replay

log = structlog.get_logger(__name__)


class Dropped:
    """A publisher that sends nothing: the replay's outputs were published when the events were live."""

    async def publish(self, outgoing: Iterable[Outgoing]) -> None:
        return None


async def rebuild_states(
    settings: ServiceSettings, states: BotStates, replayer: BatchHandler, group: str
) -> None:
    deleted = await states.wipe()
    _, committed = await handled_offsets(settings, topics.CONVERSATIONS, group)
    replayed, _ = await replay(settings, topics.CONVERSATIONS, committed, replayer)
    log.info(
        "bot states rebuilt from the log", keys_deleted=deleted, events_replayed=replayed, until=committed
    )
