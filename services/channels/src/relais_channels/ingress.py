"""The ingress use case: authenticate an integrator, limit its rate, check its events, publish them.

Every edge calls `Ingress.publish` to put a channel event on `relais.inbound.v1` (the HTTP API here;
a web chat socket or an SMTP listener alike), so all of them apply the same tenant and channel rules
and answer only once Kafka has acknowledged.
"""

import time
from collections.abc import Callable, Sequence

from relais_channels.domain import signing
from relais_channels.domain.cloudevents_http import IngressError, Request, authorize, events_of, outgoing
from relais_channels.domain.integrators import Integrator
from relais_channels.domain.ratelimit import TokenBucket
from relais_channels.metrics import INGRESS_EVENTS
from relais_channels.settings import ChannelsSettings
from relais_contracts import CloudEvent
from relais_platform.kafka import Publishes


class Ingress:
    def __init__(
        self,
        integrators: dict[str, Integrator],
        settings: ChannelsSettings,
        publisher: Publishes,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.integrators = integrators
        self.settings = settings
        self._publisher = publisher
        self._clock = clock
        self._buckets = {
            i.id: TokenBucket.full(i.rate_per_s, i.burst, time.monotonic()) for i in integrators.values()
        }

    def authenticate(self, integrator_id: str | None, signature: str | None, body: bytes) -> Integrator:
        """The integrator whose secret signed `body`; IngressError 401 otherwise."""
        integrator = self.integrators.get(integrator_id or "")
        if integrator is None:
            detail = (
                f"the {signing.INTEGRATOR_HEADER} header is missing"
                if not integrator_id
                else f"unknown integrator {integrator_id[:64]!r}"
            )
            raise IngressError(401, "unauthenticated", detail)
        try:
            signing.verify(
                signature, integrator.secrets, body, self._clock(), self.settings.signature_tolerance_s
            )
        except signing.SignatureError as exc:
            raise IngressError(401, "unauthenticated", str(exc)) from None
        return integrator

    def admit(self, integrator: Integrator) -> None:
        """Take one request from the integrator's rate; IngressError 429 (with the wait) when it is spent."""
        wait = self._buckets[integrator.id].take(time.monotonic())
        if wait > 0:
            raise RateLimited(integrator, wait)

    async def receive(self, integrator_id: str | None, signature: str | None, request: Request) -> int:
        """The whole HTTP ingress: authenticated, admitted, decoded, authorized, published; the count."""
        integrator = self.authenticate(integrator_id, signature, request.body)
        self.admit(integrator)
        events = events_of(request, self.settings.ingress_max_batch)
        await self.publish(integrator, events)
        return len(events)

    async def publish(self, integrator: Integrator, events: Sequence[CloudEvent]) -> None:
        """Publish the events the integrator may send, all or none (403); returns once Kafka acknowledged."""
        authorize(integrator, events)
        await self._publisher.publish([outgoing(e) for e in events])
        for event in events:
            INGRESS_EVENTS.labels(integrator.id, event.type).inc()


class RateLimited(IngressError):
    def __init__(self, integrator: Integrator, retry_after_s: float) -> None:
        super().__init__(
            429,
            "too many requests",
            f"integrator {integrator.id} is limited to {integrator.rate_per_s:g} requests/s",
        )
        self.retry_after_s = retry_after_s
