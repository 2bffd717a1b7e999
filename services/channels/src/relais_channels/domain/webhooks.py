"""Webhooks out, the decisions: who receives a message, when to try again, when to give up.

Each integrator with a callback URL receives the `relais.channel.message.send` events of its tenant and
channels, one customer address at a time and in order: only the oldest undelivered message of an
address is tried, and the next waits for it to be sent or given up. A failed attempt is tried again
after an exponential backoff with full jitter (base * 2^n, capped, times a random fraction) until
`give_up_after_s` has passed since the first attempt; then the message is reported `failed` and
dead-lettered, and the address's next message goes.
"""

import random
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from relais_channels.domain.cloudevents_http import outgoing
from relais_channels.domain.integrators import Integrator
from relais_contracts import Outgoing, derive_key
from relais_contracts.channel import DeliveryUpdated, DeliveryUpdatedData, MessageSend

SOURCE = "relais/channels"


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    base_s: float
    max_s: float
    give_up_after_s: float


@dataclass(frozen=True, slots=True)
class Retry:
    at: float


@dataclass(frozen=True, slots=True)
class GiveUp:
    reason: str


Transport = Literal["webhook", "smtp"]


def transport_of(integrator: Integrator, event: MessageSend, mail_out: bool) -> Transport | None:
    """How this integrator's message leaves: by mail through the SMTP relay (an email message of an
    integrator with mailboxes, when a relay is configured), by its webhook, or not by this service."""
    if not integrator.may_speak_for(event.tenant, event.data.channel):
        return None
    if mail_out and event.data.channel == "email" and integrator.email_addresses:
        return "smtp"
    return "webhook" if integrator.callback_url else None


def recipients(
    integrators: Iterable[Integrator], event: MessageSend, mail_out: bool = False
) -> list[Integrator]:
    """The integrators this service delivers the message for (by webhook or mail)."""
    return [i for i in integrators if transport_of(i, event, mail_out)]


def queue_of(integrator: Integrator, event: MessageSend) -> str:
    """The ordered queue of one customer address at one integrator."""
    return f"{integrator.id}:{event.tenant}:{event.data.channel}:{event.data.to.address}"


def after_failure(
    attempts: int, first_at: float, now: float, policy: RetryPolicy, error: str, rng: random.Random
) -> Retry | GiveUp:
    """What to do after the `attempts`-th failed attempt (1 for the first) of a message first tried at
    `first_at`: try again at a jittered time within the give-up window, or give up."""
    if now - first_at >= policy.give_up_after_s:
        return GiveUp(f"webhook failed {attempts} times over {int(now - first_at)} s; last: {error}")
    ceiling = min(policy.max_s, policy.base_s * 2 ** (attempts - 1))
    at = now + ceiling * rng.random()
    # The last attempt lands at the end of the window rather than after it.
    return Retry(min(at, first_at + policy.give_up_after_s))


def failed_report(integrator: Integrator, event: MessageSend, reason: str) -> Outgoing:
    """`relais.channel.delivery.updated` `failed` for a message the integrator's webhook never took,
    with an id derived from the message and the integrator: a repeated give-up is applied once."""
    report = DeliveryUpdated(
        **event.follow(0, source=SOURCE, subject=event.subject),
        data=DeliveryUpdatedData(message_id=event.data.message_id, status="failed", reason=reason[:1000]),
    ).model_copy(update={"id": derive_key("webhook-failed", integrator.id, event.uid)})
    return outgoing(report)
