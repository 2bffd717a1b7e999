"""Per-queue statistics of one tenant: the service level and the departure rate behind expected waits.

Primary state (it is in the snapshots), changed only by `TenantRouter.apply`; bounded windows, so a
tenant's statistics take the same room after a day as after a year.
"""

import math
from collections import deque

# Outcomes kept per queue for the service level and departures for the expected wait.
SERVICE_LEVEL_WINDOW = 200
DEPARTURES_WINDOW = 50


class QueueStatistics:
    def __init__(
        self,
        departures: dict[str, list[float]] | None = None,
        outcomes: dict[str, list[bool]] | None = None,
    ) -> None:
        # Per queue: when work last left waiting for its first offer.
        self.departures: dict[str, deque[float]] = {
            q: deque(d, maxlen=DEPARTURES_WINDOW) for q, d in (departures or {}).items()
        }
        # Per queue: was the work answered within the queue's target?
        self.outcomes: dict[str, deque[bool]] = {
            q: deque(d, maxlen=SERVICE_LEVEL_WINDOW) for q, d in (outcomes or {}).items()
        }

    def departed(self, queue: str, at: float) -> None:
        self.departures.setdefault(queue, deque(maxlen=DEPARTURES_WINDOW)).append(at)

    def outcome(self, queue: str, target_s: int, answered_in: float | None) -> None:
        """Answered (assigned) after `answered_in` seconds, or never (None: left or dequeued)."""
        window = self.outcomes.setdefault(queue, deque(maxlen=SERVICE_LEVEL_WINDOW))
        window.append(answered_in is not None and answered_in <= target_s)

    def service_level(self, queue: str) -> float:
        window = self.outcomes.get(queue) or ()
        return sum(window) / len(window) if window else 1.0

    def expected_wait(self, queue: str, position: int, clock: float) -> int | None:
        """Seconds until the work at `position` is offered, from the queue's recent departure rate."""
        departures = self.departures.get(queue)
        if not departures or len(departures) < 2:
            return None
        span = clock - departures[0]
        if span <= 0:
            return None
        rate = len(departures) / span
        return math.ceil(position / rate)
