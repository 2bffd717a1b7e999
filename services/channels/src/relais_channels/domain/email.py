"""Email in, the decisions: a raw message (RFC 5322, MIME) into the customer's words and a channel event.

Parsed with the standard library; the reply is kept without the quoted history and the signature
(the conversation already holds the history), attachments as metadata only, and the thread's ids
(`Message-ID`, `In-Reply-To`, `References`) so that replies can follow it.
"""

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.parser import BytesParser
from html.parser import HTMLParser

from relais_contracts import derive_key
from relais_contracts.channel import Attachment, MessageReceived, MessageReceivedData, MessageSend, Party

CHANNEL = "email"
# The customer's words are at most this long on the event (the context store keeps 20,000 characters):
# a mail of any size still makes a record the broker takes.
TEXT_MAX = 100_000

# The line that introduces quoted history, in the languages the bot speaks, and Outlook's separator.
_QUOTE_HEADER = re.compile(
    r"^\s*(on\b.+\bwrote:|le\b.+\ba écrit\s*:|am\b.+\bschrieb\b.*:|el\b.+\bescribió:|il\b.+\bha scritto:"
    r"|em\b.+\bescreveu:|-{2,}\s*original message\s*-{2,}|-{2,}\s*message d'origine\s*-{2,}"
    r"|_{10,})\s*$",
    re.IGNORECASE,
)
_OUTLOOK_HEADER = re.compile(r"^\s*(from|de|von)\s*:\s*.+$", re.IGNORECASE)
_SENT_LINE = re.compile(r"^\s*(sent|envoyé|gesendet|date)\s*:", re.IGNORECASE)
_MOBILE_SIGNATURE = re.compile(
    r"^\s*(sent from my \w+|envoyé de mon \w+|von meinem \w+ gesendet|enviado desde mi \w+)", re.IGNORECASE
)


class MalformedMail(ValueError):
    """A message that cannot become a customer message; the reason goes with its dead letter."""


@dataclass(frozen=True, slots=True)
class AttachmentMeta:
    name: str | None
    content_type: str
    size: int


@dataclass(frozen=True, slots=True)
class InboundMail:
    message_id: str
    in_reply_to: str | None
    references: tuple[str, ...]
    sender: str
    sender_name: str | None
    subject: str
    text: str
    attachments: tuple[AttachmentMeta, ...]


class _TextOfHtml(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: object) -> None:
        if tag in ("script", "style", "blockquote"):  # a blockquote is the quoted history
            self._skip += 1
        elif tag in ("br", "p", "div", "li", "tr"):
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "blockquote") and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def html_text(html: str) -> str:
    parser = _TextOfHtml()
    parser.feed(html)
    return re.sub(r"\n\s*\n+", "\n\n", "".join(parser.parts)).strip()


def strip_reply(text: str) -> str:
    """The new part of a reply: without quoted lines, the history after its header, the signature."""
    kept: list[str] = []
    lines = text.replace("\r\n", "\n").split("\n")
    for i, line in enumerate(lines):
        # "-- " alone on its line starts a signature (RFC 3676); many clients drop its space.
        if _QUOTE_HEADER.match(line) or line.rstrip() == "--" or _MOBILE_SIGNATURE.match(line):
            break
        following = lines[i + 1] if i + 1 < len(lines) else ""
        if _OUTLOOK_HEADER.match(line) and _SENT_LINE.match(following):
            break
        if line.lstrip().startswith(">"):
            continue
        kept.append(line)
    stripped = "\n".join(kept).strip()
    return stripped or text.strip()


def _ids(value: object) -> tuple[str, ...]:
    return tuple(re.findall(r"<[^<>\s]+>", str(value or "")))


def parse_mail(raw: bytes) -> InboundMail:
    """The message's customer part and thread, or MalformedMail saying why."""
    try:
        message = BytesParser(policy=policy.default).parsebytes(raw)
    except Exception as exc:  # the parser is lenient; this is a bug-level input
        raise MalformedMail(f"unparseable message: {exc}") from None
    assert isinstance(message, EmailMessage)
    try:
        senders: tuple[Address, ...] = tuple(message["from"].addresses) if message["from"] is not None else ()
    except Exception:  # a From the header parser could not make sense of
        senders = ()
    if len(senders) != 1 or "@" not in senders[0].addr_spec:
        raise MalformedMail("no single sender address in From")
    sender = senders[0]
    body = message.get_body(preferencelist=("plain", "html"))
    try:
        content = body.get_content() if body is not None else ""
    except (LookupError, ValueError) as exc:  # an unknown charset, a broken transfer encoding
        raise MalformedMail(f"unreadable body: {exc}") from None
    if body is not None and body.get_content_type() == "text/html":
        content = html_text(content)
    attachments = tuple(
        AttachmentMeta(
            part.get_filename(), part.get_content_type(), len(part.get_payload(decode=True) or b"")
        )
        for part in message.iter_attachments()
    )
    subject = str(message["subject"] or "").strip()
    text = strip_reply(str(content))[:TEXT_MAX]
    if not text and not subject and not attachments:
        raise MalformedMail("no text, subject or attachment")
    # A message without an id still gets a stable one (its bytes): a redelivery is the same message.
    message_id = (_ids(message["message-id"]) or (f"<{hashlib.sha256(raw).hexdigest()}@relais>",))[0]
    in_reply_to = (_ids(message["in-reply-to"]) or (None,))[0]
    return InboundMail(
        message_id=message_id,
        in_reply_to=in_reply_to,
        references=_ids(message["references"]),
        sender=sender.addr_spec.lower(),
        sender_name=sender.display_name or None,
        subject=subject,
        text=text or subject,
        attachments=attachments,
    )


def to_event(mail: InboundMail, tenant: str, source: str, at: datetime) -> MessageReceived:
    """The customer message of a mail; its id derives from the Message-ID, so a mail delivered twice
    (an SMTP retry) is applied once."""
    return MessageReceived(
        id=derive_key("email", tenant, mail.message_id),
        source=source,
        time=at,
        tenant=tenant,
        data=MessageReceivedData(
            channel=CHANNEL,
            from_=Party(address=mail.sender, name=(mail.sender_name or None) and mail.sender_name[:200]),
            text=mail.text,
            external_id=mail.message_id[:200],
            attachments=tuple(
                Attachment(
                    # RFC 2392: the part of this message; the content itself is not kept.
                    url=f"mid:{mail.message_id.strip('<>')}/{i + 1}"[:2000],
                    content_type=a.content_type,
                    name=a.name[:300] if a.name else None,
                )
                for i, a in enumerate(mail.attachments)
            ),
        ),
    )


@dataclass(frozen=True, slots=True)
class Thread:
    """What a reply needs of the customer's last mail: its id, its references, its subject."""

    message_id: str
    references: tuple[str, ...]
    subject: str


def thread_of(mail: InboundMail) -> Thread:
    return Thread(mail.message_id, mail.references, mail.subject)


def reply_mail(event: MessageSend, mailbox: str, thread: Thread | None) -> EmailMessage:
    """The mail of an outbound message: from the tenant's mailbox, in the customer's thread when Relais
    knows it (`In-Reply-To` their last mail, `References` its chain), with a Message-ID of its own."""
    message = EmailMessage()
    message["From"] = Address(display_name=event.data.author.name, addr_spec=mailbox)
    message["To"] = event.data.to.address
    subject = thread.subject if thread and thread.subject else "your message"
    message["Subject"] = subject if subject.lower().startswith("re:") else f"Re: {subject}"
    domain = mailbox.rsplit("@", 1)[1]
    # The message id of the contract, so a message sent twice (at least once delivery) has one id.
    message["Message-ID"] = f"<{re.sub(r'[^A-Za-z0-9._-]', '', event.data.message_id)}@{domain}>"
    if thread is not None:
        message["In-Reply-To"] = thread.message_id
        message["References"] = " ".join((*thread.references, thread.message_id)[-20:])
    message.set_content(event.data.text)
    return message
