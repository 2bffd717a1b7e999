"""The context store's Redis keys, shared by its three views (customer directory, conversation log, read
queries). Every key is derived from the conversation log and rebuilt by replaying it.

Keys, under `relais:cs:` (with the deployment namespace in front):
  {tenant}:conversation:{id}            hash: state, channels, customer, handoff…, the fact's fold (fold:fact)
  {tenant}:conversation:{id}:timeline   list of timeline entries (JSON), in log order
  {tenant}:conversation:{id}:applied    set of applied event ids
  {tenant}:conversation:{id}:delivery   hash "{message id}|{status}" -> time of the report
  {tenant}:message:{message id}         conversation of a bot or agent message (delivery reports)
  {tenant}:customer:{id}                hash: the open conversation, where and when the customer last wrote
  {tenant}:customer:{id}:identities     set of identities (JSON)
  {tenant}:customer:{id}:conflicts      list of conflicting verified hints (JSON)
  {tenant}:customer:{id}:claims         hash: claim id -> unproven identity claimed, pending (JSON)
  {tenant}:customer:{id}:conversations  sorted set of conversation ids by opening time
  {tenant}:customer:{id}:applied        set of applied customer event ids
  {tenant}:identity:{identity key}      the customer an identity belongs to
  {tenant}:erased:{conversation id}     tombstone: a late event of an erased conversation is dropped
  open                                  sorted set "{tenant} {conversation}" by last customer activity
  awaiting                              sorted set "{tenant} {conversation}" of those with the bot whose
                                        last customer message it has not answered, by that message's time
  offset:{topic}:{partition}            last applied offset of the conversation log partition
"""

from datetime import UTC, datetime

from relais_platform.settings import ServiceSettings


class ViewKeys:
    def __init__(self, settings: ServiceSettings) -> None:
        self._key = settings.key

    @property
    def root(self) -> str:
        return self._key("cs")

    def conversation(self, tenant: str, conversation_id: str) -> str:
        return self._key("cs", tenant, "conversation", conversation_id)

    def customer(self, tenant: str, customer_id: str) -> str:
        return self._key("cs", tenant, "customer", customer_id)

    def identity(self, tenant: str, key: str) -> str:
        return self._key("cs", tenant, "identity", key)

    def message(self, tenant: str, message_id: str) -> str:
        return self._key("cs", tenant, "message", message_id)

    def tombstone(self, tenant: str, conversation_id: str) -> str:
        return self._key("cs", tenant, "erased", conversation_id)

    @property
    def open(self) -> str:
        return self._key("cs", "open")

    @property
    def awaiting(self) -> str:
        return self._key("cs", "awaiting")

    def offset(self, topic: str, partition: int) -> str:
        return self._key("cs", "offset", topic, str(partition))


def decoded(value: bytes | str | None) -> str | None:
    return value.decode() if isinstance(value, bytes) else value


def iso(at: datetime) -> str:
    # One fixed format, so the Lua script can compare times as strings.
    return at.astimezone(UTC).isoformat(timespec="microseconds")
