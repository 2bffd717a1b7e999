"""Secrets removed from what a customer writes (text, name, attachment names) before anything stores it.

Every rule looks at a canonical view of the text and maps what it finds back to the original characters,
so only the secret is replaced and the rest (other scripts, emoji, line breaks) is kept as written:

- each character is NFKC-normalized (full-width digits and letters become ASCII) and every decimal
  digit of any script (Arabic-Indic, Devanagari, Thai, …) becomes its ASCII digit;
- every separator a number can be written with becomes one space: spaces of every kind, line breaks,
  zero-width and other format characters, dashes of every kind and the minus sign, dots, commas,
  underscores, slashes and apostrophes.

- Card numbers: 13 to 19 digits in groups separated by at most three separators, that pass the Luhn
  check, also glued to letters ("card4111…exp12/29"), are masked down to their last four digits (never
  more than four digits left when digits read as a card in two ways, see `_mask_cards`). Digit runs
  that fail the Luhn check (order numbers, tracking numbers) are kept. Cards are typed in one piece or
  in groups of at most six digits, and never after a "+": digits that join a number written in one
  piece of seven or more digits (an order or account number) to a phone number written as one (see
  `_is_phone`: international, or national to the store's phone region), or that are such a phone
  number after a "+" ("+49 1512 0000000"), are not a card ("commande 1234569 06 12 34 56 78" keeps
  both numbers). Still read as a card when the digits pass the Luhn check: an order number of six
  digits or fewer next to a phone number (a card's groups), a national number in one piece without a
  national prefix or shorter than ten digits, and any national number when no region is set.
- Security codes: a lone 3 or 4 digit number shortly after a card number or a security-code word
  (CVV, CVC, cryptogramme, código de seguridad, Prüfziffer, …).
- IBANs: validated with python-stdnum (country format and mod-97 checksum), redacted whole.
"""

import bisect
import functools
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import phonenumbers
from stdnum import iban, luhn, numdb

from relais_contracts.channel import (
    ATTACHMENT_NAME_MAX,
    CUSTOMER_NAME_MAX,
    CUSTOMER_TEXT_MAX,
    Attachment,
    MessageReceivedData,
)

MASK = "•"
IBAN_REDACTED = "[IBAN redacted]"
CVV_REDACTED = "[code redacted]"
CUT_MARKER = " […]"

# Besides spaces (\s, Unicode Z categories), format characters (Cf: zero-width spaces and joiners, word
# joiner, BOM, soft hyphen, bidi marks) and dashes (Pd), what separates the digits of a number as people
# type them: dots, commas, underscores, slashes, apostrophes, the middle dot, the minus sign, and the
# Arabic decimal and thousands separators.
_OTHER_SEPARATORS = frozenset(".,_/\\'\u2019\u00b7\u2212\u066b\u066c")
# A run of digit groups with up to three separators between groups. Card numbers are looked for inside
# a run on group boundaries, so "4111 1111 1111 1111 123" still finds the card.
_DIGIT_RUN = re.compile(r"[0-9]+(?: {1,3}[0-9]+)*")
_GROUP = re.compile(r"[0-9]+")
# Words that announce a card security code, in the languages the bot speaks and a few more.
# Whole words (no letter on either side: "accident" holds no "cid"), but a code may be glued after them
# ("cvv123"); Japanese and Chinese words are written without spaces around them.
_CVV_WORDS = re.compile(
    r"(?<![^\W\d])(?:"
    r"cvv ?2?|cvc ?2?|cvn|cid|csc|"
    r"security +code|card +code|verification +(?:code|number)|"  # en
    r"code +de +s[ée]curit[ée]|cryptogramme|crypto|"  # fr
    r"c[óo]digo +de +seguridad|c[óo]digo +de +seguran[çc]a|c[óo]digo +cvv|"  # es, pt
    r"pr[üu]fziffer|pr[üu]fnummer|kartenpr[üu]fnummer|sicherheitscode|"  # de
    r"codice +di +sicurezza|beveiligingscode|kod +zabezpieczaj[ąa]cy|"  # it, nl, pl
    r"код +безопасности"  # ru
    r")(?![^\W\d])|セキュリティコード|安全码|安全碼",  # ja, zh
    re.IGNORECASE,
)
_CODE = re.compile(r"(?<![0-9])[0-9]{3,4}(?![0-9])")
# How far (in characters of the canonical view) after a card number or a security-code word a 3-4 digit
# code is taken for a security code.
_CVV_REACH = 32
# Cards are printed in groups of 4 to 6 digits (4-4-4-4, 4-6-5, 4-6-4); customers type them so, in
# smaller groups, or in one piece. A longer group among others is a number of its own.
_LONGEST_CARD_GROUP = 6
# The longest phone number written, separators included. The fewest digits of a national number written
# in one piece that is taken for a phone number: with fewer, a German "0" and eight digits is too often
# the second half of a card typed 8-8 or 7-9 (measured on random cards: 7 % of those typed 7-9).
_PHONE_CHARS = 24
_ONE_PIECE = 10
_IBAN_START = re.compile(r"[A-Za-z]{2}[0-9]{2}")
_IBAN_REGISTRY = numdb.get("iban")


@dataclass(frozen=True)
class Redacted:
    text: str
    kinds: tuple[str, ...]  # "card", "cvv", "iban" — what was removed, for the timeline


@dataclass(frozen=True)
class CleanMessage:
    """A customer message as the log may keep it: secrets out, within the log's size."""

    text: str
    name: str | None
    attachments: tuple[Attachment, ...]
    kinds: tuple[str, ...]
    truncated_from: int | None  # characters of the text as written, when it was cut


@dataclass(frozen=True)
class _View:
    """The canonical view of a text, and for each of its characters the index of the original one."""

    canon: str
    origin: Sequence[int]

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The original characters behind canonical characters [start, end)."""
        return self.origin[start], self.origin[end - 1] + 1


def _is_separator(c: str) -> bool:
    return c.isspace() or c in _OTHER_SEPARATORS or unicodedata.category(c) in {"Zs", "Zl", "Zp", "Cf", "Pd"}


@functools.cache
def _canonical(original: str) -> str:
    """One character of the text as the rules read it (one or more characters, NFKC can expand)."""
    out = []
    for c in unicodedata.normalize("NFKC", original) or original:
        if c.isdecimal():
            out.append(str(unicodedata.decimal(c)))
        else:
            out.append(" " if _is_separator(c) else c)
    return "".join(out)


class _Canonical(dict[int, str]):
    """A translation table for str.translate that fills itself: each character is worked out once."""

    def __missing__(self, code: int) -> str:
        self[code] = canon = _canonical(chr(code))
        return canon


_TABLE = _Canonical()


def _view(text: str) -> _View:
    canon = text.translate(_TABLE)
    if len(canon) == len(text):
        return _View(canon, range(len(text)))
    # Some character expanded under NFKC ("⑽" is "(10)"): map each canonical character to its origin.
    origin: list[int] = []
    for i, original in enumerate(text):
        origin.extend([i] * len(_TABLE[ord(original)]))
    return _View(canon, origin)


def _replace(text: str, spans: list[tuple[int, int]], by: str) -> str:
    out, last = [], 0
    for start, end in sorted(spans):
        if start < last:
            continue
        out += [text[last:start], by]
        last = end
    out.append(text[last:])
    return "".join(out)


@functools.cache
def _iban_length(country: str) -> int | None:
    """Alphanumerics of the country's IBANs, from python-stdnum's registry; None for no such country."""
    bban = _IBAN_REGISTRY.info(country)[0][1].get("bban")
    return 4 + sum(int(n) for n in re.findall(r"[0-9]+", bban)) if bban else None


@functools.cache
def _iban_rest(alphanumerics: int) -> re.Pattern[str]:
    return re.compile(rf"(?: ?[0-9A-Za-z]){{{alphanumerics}}}")


def _iban_spans(view: _View) -> list[tuple[int, int]]:
    """Canonical spans of the valid IBANs, glued to other letters or not, with or without spaces."""
    canon, found, last = view.canon, [], 0
    for start in _IBAN_START.finditer(canon):
        length = _iban_length(start.group()[:2].upper())
        if start.start() < last or length is None:
            continue
        # As many more alphanumerics as the country's IBANs have, a single space between them allowed.
        rest = _iban_rest(length - 4).match(canon, start.end())
        if rest and iban.is_valid(canon[start.start() : rest.end()]):
            found.append((start.start(), rest.end()))
            last = rest.end()
    return found


@functools.lru_cache(maxsize=4096)
def _is_phone(candidate: str, region: str | None) -> bool:
    """Whether `candidate` (canonical digits and spaces) is a phone number written as phone numbers are
    and no card is: phonenumbers finds it whole written alone, and it is international (after a "+"),
    or a national number of `region` (with its national prefix, where the region has one) grouped as
    the region writes them ("06 12 34 56 78", "07400 123456", "612 34 56 78"), or in one piece of ten
    digits or more after the national prefix ("0612345678")."""
    for match in phonenumbers.PhoneNumberMatcher(candidate, region or "ZZ"):
        if (match.start, match.end) != (0, len(candidate)):
            continue
        if candidate.startswith("+"):
            return True
        # With the region's national prefix, where it has one: a local number without its area code
        # ("330824" in Germany) is too like a card's digits.
        trunk = (phonenumbers.ndd_prefix_for_region(region, True) if region else None) or ""
        if not candidate.startswith(trunk):
            return False
        national = phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.NATIONAL)
        groups = candidate.split()
        if len(groups) > 1:
            return groups == national.split()
        return len(candidate) >= _ONE_PIECE and trunk != ""
    return False


def _phones(canon: str, groups: list[tuple[int, int]], region: str | None) -> list[tuple[int, int, bool]]:
    """The windows (first group, last group, written after a "+") of a run of digit groups that are a
    phone number alone. Only a run's first group may follow a "+" (an international number)."""
    found = []
    for a in range(len(groups)):
        plus = a == 0 and groups[0][0] > 0 and canon[groups[0][0] - 1] == "+"
        start = groups[a][0] - plus
        for b in range(a, len(groups)):
            if groups[b][1] - start > _PHONE_CHARS:
                break
            if _is_phone(canon[start : groups[b][1]], region):
                found.append((a, b, plus))
    return found


def _two_numbers(
    groups: list[tuple[int, int]], first: int, last: int, phones: Callable[[], list[tuple[int, int, bool]]]
) -> bool:
    """Whether groups first..last hold (part of) a phone number found on its own where no card can be:
    written after a "+", or next to a number written in one piece longer than a card's groups (an order
    or account number): two numbers, not a card."""
    long = [k for k in range(first, last + 1) if groups[k][1] - groups[k][0] > _LONGEST_CARD_GROUP]
    if not long or (first == last and first > 0):
        # One group is one number, unless it is the run's first (it may follow a "+"); and without a
        # long group the digits are grouped as cards are typed. Phone numbers are not looked for.
        return False
    return any(
        a <= last and first <= b and (plus or any(not a <= k <= b for k in long)) for a, b, plus in phones()
    )


def _card_groups(view: _View, phone_region: str | None) -> list[tuple[list[tuple[int, int]], int]]:
    """The canonical digit groups of each Luhn-valid card number, and how many of them make its
    shortest reading."""
    found = []
    for run in _DIGIT_RUN.finditer(view.canon):
        groups = [(g.start() + run.start(), g.end() + run.start()) for g in _GROUP.finditer(run.group())]
        # Looked for once per run, and only for a Luhn-valid window with a long group (rare): it costs.
        phones = functools.cache(functools.partial(_phones, view.canon, groups, phone_region))
        i = 0
        while i < len(groups):
            # The windows of whole groups starting here that are valid card numbers.
            valid, digits = [], ""
            for j in range(i, len(groups)):
                digits += view.canon[groups[j][0] : groups[j][1]]
                if len(digits) > 19:
                    break
                if len(digits) >= 13 and luhn.is_valid(digits) and not _two_numbers(groups, i, j, phones):
                    valid.append(j)
            if not valid:
                i += 1
                continue
            found.append((groups[i : valid[-1] + 1], valid[0] - i + 1))
            i = valid[-1] + 1
    return found


def _mask_cards(text: str, phone_region: str | None) -> tuple[str, list[int]]:
    """Text with every card masked to its last four digits, and where (canonically) each card ends.

    Digits can read as a card in two ways: a 16-digit card followed by its security code, or a 19-digit
    card whose first 16 digits pass the Luhn check too. Every digit of the longer reading is masked and
    only the last four of the shorter one stay readable, so never more than four digits are left.
    """
    view = _view(text)
    chars = list(text)
    ends = []
    for groups, shortest in _card_groups(view, phone_region):
        digits = [view.origin[p] for a, b in groups for p in range(a, b)]
        short = [view.origin[p] for a, b in groups[:shortest] for p in range(a, b)]
        kept = set(short[-4:]) - set(short[:-4])  # a character written for two digits is masked
        for original in digits:
            if original not in kept:
                chars[original] = MASK
        ends.append(groups[-1][1])
    return "".join(chars), ends


def _cvv_spans(view: _View, card_ends: list[int]) -> list[tuple[int, int]]:
    anchors = sorted([m.end() for m in _CVV_WORDS.finditer(view.canon)] + card_ends)
    spans = []
    for code in _CODE.finditer(view.canon):
        # The nearest anchor at or before the code.
        before = bisect.bisect_right(anchors, code.start()) - 1
        if before >= 0 and code.start() - anchors[before] <= _CVV_REACH:
            spans.append(view.span(code.start(), code.end()))
    return spans


def redact(text: str, phone_region: str | None = None) -> Redacted:
    """The text with card numbers masked and security codes and IBANs redacted; pure and deterministic.

    `phone_region`: where phone numbers written without a country code are from (none: only
    international numbers are recognised), to tell an order number next to a phone number from a card."""
    kinds = []
    # IBANs first: their digits must not be mistaken for a card number or a code.
    view = _view(text)
    ibans = [view.span(a, b) for a, b in _iban_spans(view)]
    text = _replace(text, ibans, IBAN_REDACTED)
    # Masking replaces one character by one, so the card ends found here still hold in `masked`.
    masked, card_ends = _mask_cards(text, phone_region)
    if card_ends:
        kinds.append("card")
    codes = _cvv_spans(_view(masked), card_ends)
    if codes:
        masked = _replace(masked, codes, CVV_REDACTED)
        kinds.append("cvv")
    if ibans:
        kinds.append("iban")
    return Redacted(masked, tuple(kinds))


def fit(text: str, limit: int) -> str:
    """The text cut to `limit` characters with a visible marker, rather than rejected or lost."""
    return text if len(text) <= limit else text[: limit - len(CUT_MARKER)] + CUT_MARKER


def redact_message(data: MessageReceivedData, phone_region: str | None = None) -> CleanMessage:
    """Everything the log keeps of what the customer wrote, redacted, the text cut to the log's maximum.

    Redaction runs on the whole text before the cut, so a cut never leaves half a card number readable.
    """
    text = redact(data.text, phone_region)
    name = redact(data.from_.name, phone_region) if data.from_.name is not None else None
    kinds = set(text.kinds) | set(name.kinds if name else ())
    attachments = []
    for attachment in data.attachments:
        if attachment.name is None:
            attachments.append(attachment)
            continue
        clean = redact(attachment.name, phone_region)
        kinds |= set(clean.kinds)
        attachments.append(attachment.model_copy(update={"name": fit(clean.text, ATTACHMENT_NAME_MAX)}))
    cut = fit(text.text, CUSTOMER_TEXT_MAX)
    return CleanMessage(
        text=cut,
        name=fit(name.text, CUSTOMER_NAME_MAX) if name else None,
        attachments=tuple(attachments),
        kinds=tuple(k for k in ("card", "cvv", "iban") if k in kinds),
        truncated_from=len(data.text) if cut != text.text else None,
    )
