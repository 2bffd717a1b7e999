"""Email in: MIME parsed with the standard library, the reply without its quoted history and signature,
attachments as metadata, the thread's ids, and a malformed message refused with its reason."""

from datetime import UTC, datetime
from email.message import EmailMessage

import pytest

from relais_channels.domain.email import (
    MalformedMail,
    Thread,
    html_text,
    parse_mail,
    reply_mail,
    strip_reply,
    to_event,
)
from relais_contracts import derive_key
from relais_contracts.channel import MessageSend

pytestmark = pytest.mark.unit


def mail(body: str = "Bonjour, où est ma commande ?", **headers: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = headers.pop("From", "Camille Martin <Camille@Example.com>")
    message["To"] = "support@demo.example"
    message["Subject"] = headers.pop("Subject", "Commande 4471")
    message["Message-ID"] = headers.pop("Message_ID", "<m1@example.com>")
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(body)
    return message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Merci !\n\nLe 3 mars 2026 à 10:00, Relais <support@demo.example> a écrit :\n> Bonjour", "Merci !"),
        ("Thanks\n\nOn Tue, Mar 3, 2026 at 10:00 AM Relais <s@d.example> wrote:\n> Hello", "Thanks"),
        ("Danke\nAm 3. März 2026 schrieb Relais:\n> Hallo", "Danke"),
        ("Yes please\n> quoted\nmore of mine", "Yes please\nmore of mine"),
        ("Oui\n-- \nCamille Martin\nAcme SA", "Oui"),
        ("Oui\n\nEnvoyé de mon iPhone", "Oui"),
        ("Ok\n\nFrom: Relais <s@d.example>\nSent: Tuesday\nTo: me\n\nHello", "Ok"),
        ("> only a quote", "> only a quote"),  # nothing new: kept as written rather than emptied
    ],
)
def test_replies_keep_only_the_new_part(text: str, expected: str) -> None:
    assert strip_reply(text) == expected


def test_a_reply_with_attachments_and_its_thread() -> None:
    message = mail(
        "Voici la photo.\n\nLe lun. 2 mars, Relais a écrit :\n> Pouvez-vous envoyer une photo ?",
        In_Reply_To="<reply-1@relais>",
        References="<m0@example.com> <reply-1@relais>",
    )
    message.add_attachment(b"\x89PNG...", maintype="image", subtype="png", filename="colis.png")
    parsed = parse_mail(message.as_bytes())
    assert parsed.text == "Voici la photo."
    assert (parsed.sender, parsed.sender_name) == ("camille@example.com", "Camille Martin")
    assert (parsed.message_id, parsed.in_reply_to) == ("<m1@example.com>", "<reply-1@relais>")
    assert parsed.references == ("<m0@example.com>", "<reply-1@relais>")
    (attachment,) = parsed.attachments
    assert (attachment.name, attachment.content_type, attachment.size) == ("colis.png", "image/png", 7)

    event = to_event(parsed, "demo", "demo/email", datetime(2026, 3, 3, tzinfo=UTC))
    assert (event.data.channel, event.data.from_.address, event.data.external_id) == (
        "email",
        "camille@example.com",
        "<m1@example.com>",
    )
    assert event.data.attachments[0].url == "mid:m1@example.com/1"
    # The same mail delivered twice is the same event: applied once.
    assert to_event(parse_mail(message.as_bytes()), "demo", "demo/email", datetime.now(UTC)).id == event.id


def test_html_only_mail_reads_as_text_without_its_quoted_blockquote() -> None:
    message = mail()
    message.set_content("<p>Bonjour,<br>ma <b>commande</b> ?</p><blockquote>old</blockquote>", subtype="html")
    assert parse_mail(message.as_bytes()).text == "Bonjour,\nma commande ?"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"Subject: hi\r\n\r\nno sender", "no single sender"),
        (b"From: a@x.example, b@x.example\r\n\r\ntwo senders", "no single sender"),
        (b"From: not an address\r\n\r\nbody", "no single sender"),
        (b"From: a@x.example\r\n\r\n   ", "no text, subject or attachment"),
    ],
)
def test_malformed_mail_is_refused_with_its_reason(raw: bytes, reason: str) -> None:
    with pytest.raises(MalformedMail, match=reason):
        parse_mail(raw)


def test_a_mail_without_message_id_gets_a_stable_one() -> None:
    raw = b"From: a@x.example\r\nSubject: hello\r\n\r\nhi"
    assert parse_mail(raw).message_id == parse_mail(raw).message_id
    assert parse_mail(raw).message_id.endswith("@relais>")


def test_a_reply_follows_the_customers_thread() -> None:
    from relais_channels.domain.email import Thread, reply_mail
    from relais_contracts.channel import MessageSend

    send = MessageSend.model_validate(
        {
            "id": "o1", "source": "relais/context-store", "time": datetime(2026, 3, 3, tzinfo=UTC),
            "tenant": "demo", "subject": "conv-1",
            "data": {"channel": "email", "to": {"address": "camille@example.com"},
                     "text": "Votre colis arrive.", "message_id": "msg-9",
                     "author": {"kind": "agent", "name": "Sam"}},
        }
    )  # fmt: skip
    reply = reply_mail(send, "support@demo.example", Thread("<m2@ex>", ("<m1@ex>",), "Commande 4471"))
    assert (reply["In-Reply-To"], reply["References"]) == ("<m2@ex>", "<m1@ex> <m2@ex>")
    assert (reply["Subject"], reply["Message-ID"], reply["To"]) == (
        "Re: Commande 4471",
        "<msg-9@demo.example>",
        "camille@example.com",
    )
    assert str(reply["From"]) == "Sam <support@demo.example>"
    assert reply.get_content().strip() == "Votre colis arrive."
    # Without a known thread: a mail of its own, not a reply to anything.
    alone = reply_mail(send, "support@demo.example", None)
    assert alone["In-Reply-To"] is None
    assert alone["Subject"] == "Re: your message"


@pytest.mark.parametrize(
    ("html", "text"),
    [
        # Script, style and quoted history are left out, even nested; each block starts a line.
        (
            "<style>p {}</style>Bonjour<script>x()</script><p>ligne</p><li>un</li><tr>deux</tr>"
            "<blockquote>old<blockquote>older</blockquote>still old</blockquote>fin",
            "Bonjour\nligne\nun\ndeuxfin",
        ),
        ("un<div>deux</div>trois<br>quatre", "un\ndeuxtrois\nquatre"),
        ("<blockquote>old <b>bold</b> still old</blockquote>mine", "mine"),  # other end tags inside
        ("a</blockquote>b</script>c", "abc"),  # an end tag without its start skips nothing
        ("un<p></p><p></p><p>deux", "un\n\ndeux"),  # blank lines are at most one
    ],
)
def test_html_reads_as_its_text(html: str, text: str) -> None:
    assert html_text(html) == text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Oui\r\n> old\r\nmerci", "Oui\nmerci"),
        ("Oui\n   > indented quote\nmerci", "Oui\nmerci"),
        ("Oui\nFrom: a shop I like", "Oui\nFrom: a shop I like"),  # no header without its Sent line
        ("Oui\nSent: from my phone", "Oui\nSent: from my phone"),
        ("Ok\nFrom: Relais <s@d.example>", "Ok\nFrom: Relais <s@d.example>"),  # the last line
        ("Ok\nFrom: Relais <s@d.example>\nSent: Tuesday", "Ok"),  # the Sent line is the last
        ("Hello\nthere\nSent: from home", "Hello\nthere\nSent: from home"),
    ],
)
def test_a_reply_header_is_a_from_line_followed_by_a_sent_line(text: str, expected: str) -> None:
    assert strip_reply(text) == expected


def test_a_mail_event_carries_the_sender_and_attachments_within_the_contracts_limits() -> None:
    long_id = "<" + "m" * 2100 + "@example.com>"
    message = mail(From=f"{'N' * 250} <a@x.example>", Message_ID=long_id)
    message.add_attachment(b"x", maintype="application", subtype="pdf", filename="f" * 400 + ".pdf")
    message.add_attachment(b"y", maintype="application", subtype="octet-stream")
    parsed = parse_mail(message.as_bytes())
    event = to_event(parsed, "demo", "demo/email", datetime(2026, 3, 3, tzinfo=UTC))
    assert event.id == derive_key("email", "demo", parsed.message_id)
    assert to_event(parsed, "other", "other/email", datetime(2026, 3, 3, tzinfo=UTC)).id != event.id
    assert event.data.from_.name == "N" * 200
    assert event.data.external_id == parsed.message_id[:200]
    named, unnamed = event.data.attachments
    assert (named.name, unnamed.name) == ("f" * 300, None)
    assert named.url == f"mid:{parsed.message_id.strip('<>')}/1"[:2000]
    assert unnamed.url == f"mid:{parsed.message_id.strip('<>')}/2"[:2000]
    assert len(named.url) == 2000
    ex = to_event(parse_mail(mail(Message_ID="<X1@example.X>").as_bytes()), "demo", "s", datetime.now(UTC))
    assert [a.url for a in ex.data.attachments] == []
    with_part = mail(Message_ID="<X1@example.X>")
    with_part.add_attachment(b"x", maintype="application", subtype="pdf", filename="a.pdf")
    ex = to_event(parse_mail(with_part.as_bytes()), "demo", "s", datetime.now(UTC))
    assert [a.url for a in ex.data.attachments] == ["mid:X1@example.X/1"]
    nameless = to_event(parse_mail(mail(From="a@x.example").as_bytes()), "demo", "s", datetime.now(UTC))
    assert nameless.data.from_.name is None


def test_another_mail_is_another_event() -> None:
    first = to_event(parse_mail(mail().as_bytes()), "demo", "s", datetime.now(UTC))
    second = to_event(
        parse_mail(mail(Message_ID="<m2@example.com>").as_bytes()), "demo", "s", datetime.now(UTC)
    )
    assert first.id != second.id


def test_a_reply_keeps_a_subject_already_marked_and_a_bounded_clean_thread() -> None:
    send = MessageSend.model_validate(
        {
            "id": "o1", "source": "relais/context-store", "time": datetime(2026, 3, 3, tzinfo=UTC),
            "tenant": "demo", "subject": "conv-1",
            "data": {"channel": "email", "to": {"address": "camille@example.com"},
                     "text": "Oui.", "message_id": "Msg 9/é:x",
                     "author": {"kind": "agent", "name": "Sam"}},
        }
    )  # fmt: skip
    references = tuple(f"<r{n}@ex>" for n in range(25))
    reply = reply_mail(send, "support@demo.example", Thread("<m2@ex>", references, "RE: Commande"))
    assert reply["Subject"] == "RE: Commande"
    assert reply["Message-ID"] == "<Msg9x@demo.example>"
    assert reply["References"] == " ".join((*references[-19:], "<m2@ex>"))


def test_a_mail_with_only_a_subject_and_an_attachment_reads_as_its_subject() -> None:
    message = EmailMessage()
    message["From"] = "a@x.example"
    message["Subject"] = "Facture"
    message.add_attachment(b"%PDF", maintype="application", subtype="pdf", filename="f.pdf")
    parsed = parse_mail(message.as_bytes())
    assert (parsed.subject, parsed.text) == ("Facture", "Facture")
    assert [a.name for a in parsed.attachments] == ["f.pdf"]


def test_a_mail_with_a_subject_and_no_body_reads_as_its_subject() -> None:
    parsed = parse_mail(b"From: a@x.example\r\nSubject: Commande 12\r\n\r\n")
    assert (parsed.subject, parsed.text) == ("Commande 12", "Commande 12")


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"Subject: hi\r\n\r\nno sender", "no single sender address in From"),
        (b"From: a@x.example\r\n\r\n   ", "no text, subject or attachment"),
    ],
)
def test_malformed_mail_says_exactly_why(raw: bytes, reason: str) -> None:
    with pytest.raises(MalformedMail) as refused:
        parse_mail(raw)
    assert str(refused.value) == reason


def test_a_body_in_an_unknown_charset_is_refused_as_unreadable() -> None:
    raw = b"From: a@x.example\r\nContent-Type: text/plain; charset=x-no-such-charset\r\n\r\nhello"
    with pytest.raises(MalformedMail) as refused:
        parse_mail(raw)
    assert str(refused.value).startswith("unreadable body: ")
