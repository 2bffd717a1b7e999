"""Which failures are the infrastructure's and which are the record's: the one place that decides.

A fault of Kafka or Redis says nothing about the record being handled: the consumer retries it with
backoff for as long as it lasts and never dead-letters the record (that would lose a good record
during an outage). Any other error is taken as caused by the record and, after a few attempts,
dead-letters it.
"""

import asyncio
import re
from collections.abc import Awaitable, Callable
from typing import TypeVar

import structlog
from aiokafka import errors as kafka_errors
from redis import exceptions as redis_errors

from relais_platform.metrics import INFRASTRUCTURE_RETRIES

log = structlog.get_logger(__name__)

T = TypeVar("T")

# An idempotent producer that a broker restart left fenced or out of sequence fails every send until
# it is recreated (a new producer id): the publisher does that, then the caller retries.
PRODUCER_RESET_ERRORS: tuple[type[BaseException], ...] = (
    kafka_errors.OutOfOrderSequenceNumber,
    kafka_errors.ProducerFenced,
    kafka_errors.InvalidProducerEpoch,
    kafka_errors.InvalidProducerIdMapping,
    kafka_errors.UnknownProducerId,
    kafka_errors.ProducerClosed,
)

_TYPES: tuple[tuple[type[BaseException] | tuple[type[BaseException], ...], str], ...] = (
    (redis_errors.BusyLoadingError, "redis-loading"),  # before ConnectionError, its base
    (redis_errors.ReadOnlyError, "redis-readonly"),
    (redis_errors.OutOfMemoryError, "redis-oom"),
    (redis_errors.MasterDownError, "redis-masterdown"),
    (redis_errors.AskError, "redis-redirect"),  # MOVED is a subclass
    (redis_errors.TryAgainError, "redis-tryagain"),
    (redis_errors.ClusterDownError, "redis-clusterdown"),
    (redis_errors.ClusterError, "redis-cluster"),
    (redis_errors.ConnectionError, "redis-connection"),
    (redis_errors.TimeoutError, "redis-timeout"),
    # A missing ACL or password is a deployment's fault, not the record's: retried (and alerted on)
    # until fixed, rather than dead-lettering every record meanwhile.
    (redis_errors.AuthenticationError, "redis-auth"),
    (redis_errors.NoPermissionError, "redis-auth"),
    (kafka_errors.TopicAuthorizationFailedError, "kafka-authorization"),
    (kafka_errors.GroupAuthorizationFailedError, "kafka-authorization"),
    (kafka_errors.ClusterAuthorizationFailedError, "kafka-authorization"),
    (kafka_errors.KafkaTimeoutError, "kafka-timeout"),
    (kafka_errors.KafkaConnectionError, "kafka-connection"),
    (PRODUCER_RESET_ERRORS, "kafka-producer-reset"),
    (ConnectionError, "connection"),
    (TimeoutError, "timeout"),
)
# A reply error of Redis is typed only when redis-py knows its code; inside a pipeline or a
# transaction (EXECABORT) it may come as a plain ResponseError whose text starts with the code.
_REDIS_CODES = re.compile(
    r"(?:^|caused error: |: )(READONLY|LOADING|OOM|MASTERDOWN|MOVED|ASK|TRYAGAIN|CLUSTERDOWN)\b"
)


def infrastructure_fault(exc: BaseException) -> str | None:
    """The kind of infrastructure fault `exc` is (a metric label), or None if the record caused it.

    Follows `raise ... from` chains: an adapter that wraps a Redis error is still a Redis fault.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        for types, label in _TYPES:
            if isinstance(current, types):
                return label
        if isinstance(current, kafka_errors.KafkaError) and current.retriable:
            return f"kafka-{type(current).__name__}"
        if isinstance(current, redis_errors.ResponseError) and (found := _REDIS_CODES.search(str(current))):
            return f"redis-{found.group(1).lower()}"
        current = current.__cause__
    return None


async def retry_infrastructure(
    operation: Callable[[], Awaitable[T]],
    *,
    service: str,
    consumer: str,
    what: str,
    stopping: Callable[[], bool] = lambda: False,
    max_wait_s: float = 5.0,
) -> T:
    """Run `operation` until it succeeds, retrying infrastructure faults with capped exponential backoff.

    Other errors are raised at once; so is an infrastructure fault once `stopping()` is true.
    """
    wait = 0.05
    while True:
        try:
            return await operation()
        except Exception as exc:
            fault = infrastructure_fault(exc)
            if fault is None or stopping():
                raise
            INFRASTRUCTURE_RETRIES.labels(service, consumer, fault).inc()
            log.warning(
                "infrastructure fault, retrying", consumer=consumer, what=what, fault=fault, error=repr(exc)
            )
            await asyncio.sleep(wait)
            wait = min(wait * 2, max_wait_s)
