"""An inbox entry on its way to the desk: its position added, sealed text opened.

Inbox entries of tenants that seal customer text keep it sealed in Redis (the customer's messages, the
bot's and agents' replies, agents' notes, supervisors' whispers, offers' packets); it is opened here,
per send, with the customer's key. Once the customer is erased the key is gone and the text reads as erased,
in every inbox and every replay, without the gateway having to find and delete anything.
"""

import json
from typing import Any

from cryptography.fernet import Fernet

from relais_contracts.conversation import HandoffPacket
from relais_platform.sealing import CustomerKeys, open_packet, open_sealed


async def reveal(entry: bytes, seq: str, tenant: str, keys: CustomerKeys) -> str:
    message: dict[str, Any] = json.loads(entry)
    message["seq"] = seq
    if message["type"] == "message" and "sealed" in message:
        key = await _key(keys, message.pop("key_id", None), tenant)
        text, name = open_sealed(key, message.pop("sealed"))
        opened = {**message["message"], "text": text}
        if opened.get("author_kind") == "customer":  # a reply keeps its author's name (not sealed)
            opened["author_name"] = name
        message["message"] = opened
    elif message["type"] == "note" and "sealed" in message:
        key = await _key(keys, message.pop("key_id", None), tenant)
        message["note"] = {**message["note"], "text": open_sealed(key, message.pop("sealed"))[0]}
    elif message["type"] == "whisper" and "sealed" in message:
        key = await _key(keys, message.pop("key_id", None), tenant)
        message["whisper"] = {**message["whisper"], "text": open_sealed(key, message.pop("sealed"))[0]}
    elif message["type"] == "offer" and message["packet"].get("sealed"):
        packet = HandoffPacket.model_validate(message["packet"])
        key = await _key(keys, packet.key_id, tenant)
        message["packet"] = open_packet(key, packet).model_dump(mode="json", exclude_none=True)
    return json.dumps(message, separators=(",", ":"))


async def _key(keys: CustomerKeys, kid: str | None, tenant: str) -> Fernet | None:
    """Key ids are "<tenant>/<customer>": a desk never opens text with another tenant's key."""
    if kid is None or not kid.startswith(f"{tenant}/"):
        return None
    return (await keys.lookup([kid])).get(kid)
