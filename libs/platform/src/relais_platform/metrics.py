"""Prometheus metrics of the shared runtime; services add their own beside these."""

from prometheus_client import Counter, Gauge, Histogram

EVENTS_CONSUMED = Counter(
    "relais_events_consumed_total", "Records handled by a consumer", ["service", "topic", "type"]
)
DEAD_LETTERS = Counter(
    "relais_deadletters_total", "Records sent to the dead-letter topic", ["service", "topic", "reason"]
)
EVENTS_PUBLISHED = Counter("relais_events_published_total", "Events published", ["service", "topic", "type"])
BATCH_SECONDS = Histogram(
    "relais_consumer_batch_seconds",
    "Time to handle one batch, from its fetch until its offsets are queued for commit",
    ["service", "consumer"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
CONSUMER_LAG = Gauge(
    "relais_consumer_lag",
    "Records behind the end of the partition",
    ["service", "consumer", "topic", "partition"],
)
HANDLER_RETRIES = Counter("relais_handler_retries_total", "Retried batches", ["service", "consumer"])
INFRASTRUCTURE_RETRIES = Counter(
    "relais_infrastructure_retries_total",
    "Retries after a fault of Kafka or Redis (never dead-lettered), by kind of fault",
    ["service", "consumer", "error"],
)
EVENT_TIME_CLAMPED = Counter(
    "relais_event_time_clamped_total",
    "Events whose `time` was too far ahead of or behind the broker's log time, and was replaced by it",
    ["service", "topic", "direction"],
)
DEADLETTERS_TRUNCATED = Counter(
    "relais_deadletters_truncated_total",
    "Dead letters whose value was cut to fit the broker's maximum message size",
    ["service", "topic"],
)
