"""Prometheus metrics of the channels service, beside the shared runtime's."""

from prometheus_client import Counter, Gauge, Histogram

INGRESS_REQUESTS = Counter(
    "relais_channels_ingress_requests_total",
    "Requests to POST /v1/events by integrator (unknown for an unknown one) and HTTP status",
    ["integrator", "status"],
)
INGRESS_EVENTS = Counter(
    "relais_channels_ingress_events_total", "Events accepted by the HTTP ingress", ["integrator", "type"]
)
INGRESS_SECONDS = Histogram(
    "relais_channels_ingress_seconds",
    "Time from a request's arrival to its answer (202 only once Kafka acknowledged)",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)
WEBHOOK_ATTEMPTS = Counter(
    "relais_channels_webhook_attempts_total",
    "Webhook attempts by integrator and outcome: sent (2xx), retry, gave-up (reported failed, dead-lettered)",
    ["integrator", "outcome"],
)
WEBHOOK_SECONDS = Histogram(
    "relais_channels_webhook_seconds",
    "Time of one webhook POST, to its answer or its error",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
EMAILS = Counter(
    "relais_channels_emails_total",
    "Mails taken by the SMTP listener: received (published), malformed (dead-lettered), deferred (451)",
    ["outcome"],
)
WEBCHAT_SOCKETS = Gauge("relais_channels_webchat_sockets", "Web chat visitors' sockets open on this replica")
WEBCHAT_MESSAGES = Counter(
    "relais_channels_webchat_messages_total",
    "Web chat messages: in (a visitor's, acknowledged by Kafka), out (a bot's or agent's, into a history)",
    ["direction"],
)
WEBCHAT_REFUSED = Counter(
    "relais_channels_webchat_refused_total",
    "Web chat frames and sockets refused, by the error code the widget received",
    ["code"],
)
