"""Export the contracts as documents: a JSON Schema per event type and one AsyncAPI 3 document.

`make schemas` runs `python -m relais_contracts.schema_export docs/`; a test fails when the checked-in
files differ from what this module generates.
"""

import json
import sys
from pathlib import Path
from typing import Any

import yaml
from pydantic.json_schema import models_json_schema

from relais_contracts import topics
from relais_contracts.events import EVENT_TYPES

_TOPIC_DOCS = {
    topics.INBOUND: (
        "{tenant}:{channel}:{address}",
        "Customer messages and channel notices, from channel integrators: over Kafka, or signed over "
        "HTTP to the channels service, which publishes them here (docs/integrators.md).",
    ),
    topics.CONVERSATIONS: (
        "conversation id (customer events: tenant)",
        "The conversation log: the system of record, in order per conversation; customer identity "
        "events (`relais.customer.*`) are keyed by tenant.",
    ),
    topics.ROUTING: ("tenant", "Routing requests and answers; one router instance owns a tenant."),
    topics.AGENTS: ("agent id", "Offers and rescinds for the agent gateways."),
    topics.OUTBOUND: (
        "{tenant}:{channel}:{address}",
        "Messages for channel integrators to deliver: read here, or POSTed to an integrator's webhook "
        "by the channels service (docs/integrators.md).",
    ),
    topics.DEADLETTER: ("source key", "Records a consumer could not decode or handle, with the reason."),
    topics.FACTS: (
        "conversation id",
        "One fact a conversation, for reporting, from the context store when it is wrapped up or closed; "
        "a later revision of a conversation supersedes an earlier one (docs/facts.md).",
    ),
}
# What Relais itself does with each topic, for the AsyncAPI operations. The channels service reads the
# outbound topic for webhooks and writes the inbound one for its HTTP ingress.
_RELAIS_RECEIVES = (topics.INBOUND, topics.CONVERSATIONS, topics.ROUTING, topics.AGENTS, topics.OUTBOUND)
_RELAIS_SENDS = (
    topics.INBOUND, topics.CONVERSATIONS, topics.ROUTING, topics.AGENTS, topics.OUTBOUND, topics.DEADLETTER,
    topics.FACTS,
)  # fmt: skip

# A dead letter is the source record unchanged (value, key, headers) plus these headers.
DEADLETTER_HEADERS: dict[str, Any] = {
    "type": "object",
    "required": [
        "relais.dlq.reason", "relais.dlq.error", "relais.dlq.topic", "relais.dlq.partition",
        "relais.dlq.offset", "relais.dlq.consumer", "relais.dlq.time",
    ],
    "properties": {
        "relais.dlq.reason": {
            "type": "string",
            "enum": ["invalid-json", "not-cloudevent", "unknown-type", "schema", "handler", "webhook"],
        },
        "relais.dlq.integrator": {
            "type": "string",
            "description": "reason webhook: the integrator whose callback never took the message",
        },
        "relais.dlq.error": {"type": "string", "description": "the precise error, for a person to read"},
        "relais.dlq.topic": {"type": "string", "description": "contract name of the source topic"},
        "relais.dlq.partition": {"type": "string", "description": "source partition, as decimal text"},
        "relais.dlq.offset": {"type": "string", "description": "source offset, as decimal text"},
        "relais.dlq.consumer": {"type": "string", "description": "consumer group that set the record aside"},
        "relais.dlq.time": {"type": "string", "format": "date-time"},
    },
}  # fmt: skip


def _name(event_type: str) -> str:
    return "".join(
        part.capitalize() for part in event_type.removeprefix("relais.").replace("_", ".").split(".")
    )


def event_schemas() -> dict[str, dict[str, Any]]:
    """One self-contained JSON Schema per event type, by type name."""
    out = {}
    for event_type, model in sorted(EVENT_TYPES.items()):
        schema = model.model_json_schema(by_alias=True)
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        schema["$id"] = f"https://relais.dev/schemas/{event_type}.json"
        out[event_type] = schema
    return out


def asyncapi() -> dict[str, Any]:
    models = sorted(EVENT_TYPES.items())
    _, defs = models_json_schema(
        [(model, "validation") for _, model in models],
        by_alias=True,
        ref_template="#/components/schemas/{model}",
    )
    schemas: dict[str, Any] = dict(defs.get("$defs", {}))
    messages: dict[str, Any] = {}
    for event_type, model in models:
        messages[_name(event_type)] = {
            "name": event_type,
            "title": event_type,
            "summary": (model.__doc__ or "").strip().splitlines()[0] if model.__doc__ else event_type,
            "contentType": "application/cloudevents+json",
            "payload": {"$ref": f"#/components/schemas/{model.__name__}"},
        }
    messages["DeadLetter"] = {
        "name": "relais.deadletter",
        "title": "dead letter",
        "summary": "A record a consumer could not decode or handle: the original bytes, as they were.",
        "contentType": "application/octet-stream",
        "headers": DEADLETTER_HEADERS,
        "payload": {"description": "the source record's value, unchanged (it may not be JSON)"},
    }
    channels: dict[str, Any] = {}
    for topic in topics.ALL:
        key, description = _TOPIC_DOCS[topic]
        on_topic = [_name(t) for t, m in models if topic in m.topics] or ["DeadLetter"]
        channels[_channel_id(topic)] = {
            "address": topic,
            "description": f"{description} Record key: {key}.",
            "messages": {name: {"$ref": f"#/components/messages/{name}"} for name in on_topic},
        }
    operations: dict[str, Any] = {}
    for action, topic_list in (("receive", _RELAIS_RECEIVES), ("send", _RELAIS_SENDS)):
        for topic in topic_list:
            cid = _channel_id(topic)
            operations[f"{action}{cid[0].upper()}{cid[1:]}"] = {
                "action": action,
                "channel": {"$ref": f"#/channels/{cid}"},
                "messages": [
                    {"$ref": f"#/channels/{cid}/messages/{name}"} for name in channels[cid]["messages"]
                ],
            }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Relais events",
            "version": "1.0.0",
            "description": "Every Kafka topic of Relais and the CloudEvents (structured JSON mode) on it. "
            "Each event carries the extensions tenant, correlationid and causationid.",
        },
        "defaultContentType": "application/cloudevents+json",
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": schemas},
    }


def _channel_id(topic: str) -> str:
    return topic.removeprefix("relais.").removesuffix(".v1")


def render(docs_dir: Path) -> dict[Path, str]:
    """Every generated file under `docs_dir` with its exact text."""
    files = {
        docs_dir / "schemas" / f"{event_type}.json": json.dumps(schema, indent=2, sort_keys=True) + "\n"
        for event_type, schema in event_schemas().items()
    }
    files[docs_dir / "asyncapi.yaml"] = yaml.safe_dump(
        asyncapi(), sort_keys=False, allow_unicode=True, width=100
    )
    return files


def main(argv: list[str] | None = None) -> None:
    docs_dir = Path((argv or sys.argv[1:] or ["docs"])[0])
    (docs_dir / "schemas").mkdir(parents=True, exist_ok=True)
    for stale in (docs_dir / "schemas").glob("*.json"):
        stale.unlink()
    for path, text in render(docs_dir).items():
        path.write_text(text)
    print(f"wrote {len(EVENT_TYPES)} event schemas and asyncapi.yaml under {docs_dir}/")


if __name__ == "__main__":
    main()
