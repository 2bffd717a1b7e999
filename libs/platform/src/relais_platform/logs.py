"""Structured JSON logging: one line per event, bound to tenant / conversation / event ids.

Libraries that log through the standard `logging` module (aiokafka, uvicorn) are rendered the same way.
"""

import logging
import re
import sys
from contextlib import AbstractContextManager

import structlog
from structlog.typing import EventDict, Processor

from relais_contracts import CloudEvent

# Credentials that travel in URLs or headers and would otherwise reach the logs: the agent desk's
# WebSocket carries its token in the query string (browsers cannot set headers there), and uvicorn
# logs URLs.
_SECRETS = re.compile(r"((?:token|access_token|password|secret)=|Bearer\s+)[^&\s\"']+", re.IGNORECASE)


def redact_secrets(_: object, __: str, event_dict: EventDict) -> EventDict:
    """Mask credentials in every string of a log line."""
    for key, value in event_dict.items():
        if isinstance(value, str) and _SECRETS.search(value):
            event_dict[key] = _SECRETS.sub(r"\1[redacted]", value)
    return event_dict


_SHARED: list[Processor] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]


def configure_logging(service: str, level: str = "INFO") -> None:
    structlog.configure(
        processors=[
            *_SHARED,
            structlog.processors.StackInfoRenderer(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=_SHARED,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            redact_secrets,
            structlog.processors.JSONRenderer(),
        ],
    )
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # aiokafka reports every coordinator hiccup at INFO/ERROR while a group forms; keep what matters.
    logging.getLogger("aiokafka").setLevel(max(logging.WARNING, logging.getLevelName(level)))
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(service=service)


def bound_to(event: CloudEvent) -> AbstractContextManager[None]:
    """Log lines inside this block carry the event's tenant, conversation (subject) and ids."""
    return structlog.contextvars.bound_contextvars(
        tenant=event.tenant,
        conversation_id=event.subject,
        event_id=event.id,
        event_type=event.type,
        correlation_id=event.correlationid,
    )
