"""The tenant allow-list: events of a tenant the deployment does not serve create no state.

`RELAIS_TENANTS` (comma-separated) names the tenants a deployment serves. An event of any other tenant
is dead-lettered with the reason `unknown-tenant` before a handler sees it, so it creates no Redis key,
no in-memory structure and no metric series labelled with its tenant (a typo or a hostile integrator
cannot grow them without bound), and it is never silently dropped. An empty list accepts every tenant:
convenient in development, where tenants come and go; set it in production.
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import structlog

from relais_contracts import topics
from relais_platform.consumer import BatchHandler, Delivery
from relais_platform.kafka import Publisher
from relais_platform.metrics import DEAD_LETTERS
from relais_platform.settings import ServiceSettings

log = structlog.get_logger(__name__)

UNKNOWN_TENANT = "unknown-tenant"


class TenantGate:
    def __init__(self, settings: ServiceSettings, publisher: Publisher, service: str) -> None:
        self._tenants = settings.tenants
        self._settings = settings
        self._publisher = publisher
        self._service = service

    def accepts(self, tenant: str) -> bool:
        return not self._tenants or tenant in self._tenants

    def guard(self, consumer: str, handler: BatchHandler) -> BatchHandler:
        """`handler` fed only the events of served tenants; the others dead-lettered."""
        if not self._tenants:
            return handler
        group = self._settings.group(f"{self._service}-{consumer}")

        async def gated(batch: Sequence[Delivery]) -> None:
            served = [d for d in batch if self.accepts(d.event.tenant)]
            for d in batch:
                if not self.accepts(d.event.tenant):
                    await self._dead_letter(d, group)
            if served:
                await handler(served)

        return gated

    async def _dead_letter(self, d: Delivery, group: str) -> None:
        # The headers of the consumer loop's dead letters, so ops read both the same way.
        record = d.record
        error = "this deployment does not serve the tenant (RELAIS_TENANTS)"
        headers = [
            *(record.headers or ()),
            ("relais.dlq.reason", UNKNOWN_TENANT.encode()),
            ("relais.dlq.error", error.encode()),
            ("relais.dlq.consumer", group.encode()),
            ("relais.dlq.topic", d.topic.encode()),
            ("relais.dlq.partition", str(record.partition).encode()),
            ("relais.dlq.offset", str(record.offset).encode()),
            ("relais.dlq.time", datetime.now(UTC).isoformat().encode()),
        ]
        await self._publisher.send_raw(topics.DEADLETTER, record.value or b"", record.key, headers)
        DEAD_LETTERS.labels(self._service, d.topic, UNKNOWN_TENANT).inc()
        # The tenant is not logged as a bound field either: it is the sender's word, of any length.
        log.warning(
            "event of an unknown tenant dead-lettered",
            topic=d.topic,
            partition=record.partition,
            offset=record.offset,
            tenant=d.event.tenant[:64],
        )
