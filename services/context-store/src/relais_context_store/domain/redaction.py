"""Secrets removed from a customer's text before anything stores it.

- Card numbers: 13 to 19 digits that pass the Luhn check, whatever separates them (spaces, dashes,
  dots, slashes), are masked down to their last four digits. Digit runs that fail the Luhn check (order
  numbers, tracking numbers) are kept.
- CVV-like codes: a lone 3 or 4 digit number right after a card number or a security-code word.
- IBANs: validated with python-stdnum (country format and mod-97 checksum), redacted whole.
"""

import re
from dataclasses import dataclass

from stdnum import iban, luhn

MASK = "•"
IBAN_REDACTED = "[IBAN redacted]"
CVV_REDACTED = "[code redacted]"

# A run of digit groups with up to three separator characters between groups. Card numbers are
# looked for inside a run on group boundaries, so "4111 1111 1111 1111 123" still finds the card.
_DIGIT_RUN = re.compile(r"(?<![0-9A-Za-z])\d+(?:[ \t\u00a0\-./]{1,3}\d+)*")
_GROUP = re.compile(r"\d+")
# Words that announce a card security code, in English and French.
_CVV_WORDS = re.compile(
    r"\b(?:cvv2?|cvc2?|cid|csc|security\s+code|card\s+code|code\s+de\s+s[ée]curit[ée]|cryptogramme|crypto)\b",
    re.IGNORECASE,
)
_CODE = re.compile(r"(?<![\d\w])\d{3,4}(?![\d\w])")
# How far after a card number or a security-code word a 3-4 digit code is taken for a CVV.
_CVV_REACH = 32
_IBAN_START = re.compile(r"(?<![0-9A-Za-z])[A-Za-z]{2}\d{2}")
_IBAN_PART = re.compile(r"[ \u00a0]?[0-9A-Za-z]{1,4}")


@dataclass(frozen=True)
class Redacted:
    text: str
    kinds: tuple[str, ...]  # "card", "cvv", "iban" — what was removed, for the timeline


def _card_spans(text: str) -> list[tuple[int, int, list[tuple[int, int]]]]:
    """(start, end, digit group spans) of each Luhn-valid card number in the text."""
    found = []
    for run in _DIGIT_RUN.finditer(text):
        groups = [(g.start() + run.start(), g.end() + run.start()) for g in _GROUP.finditer(run.group())]
        i = 0
        while i < len(groups):
            # The longest window of whole groups starting here that is a valid card number.
            match = None
            digits = ""
            for j in range(i, len(groups)):
                digits += text[groups[j][0] : groups[j][1]]
                if len(digits) > 19:
                    break
                if len(digits) >= 13 and luhn.is_valid(digits):
                    match = j
            if match is None:
                i += 1
                continue
            found.append((groups[i][0], groups[match][1], groups[i : match + 1]))
            i = match + 1
    return found


def _mask_cards(text: str) -> tuple[str, list[int]]:
    """Text with every card masked to its last four digits, and where each masked card ends."""
    chars = list(text)
    ends = []
    for _, end, groups in _card_spans(text):
        positions = [p for a, b in groups for p in range(a, b)]
        for p in positions[:-4]:
            chars[p] = MASK
        ends.append(end)
    return "".join(chars), ends


def _redact_ibans(text: str) -> tuple[str, bool]:
    out = []
    last = 0
    found = False
    for start in _IBAN_START.finditer(text):
        if start.start() < last:
            continue
        # Extend over the following alphanumeric groups; keep the longest prefix that is a valid IBAN.
        parts = [start.end()]
        pos = start.end()
        while (part := _IBAN_PART.match(text, pos)) and len(parts) <= 30:
            pos = part.end()
            parts.append(pos)
        for end in reversed(parts):
            if (end == len(text) or not text[end].isalnum()) and iban.is_valid(text[start.start() : end]):
                out += [text[last : start.start()], IBAN_REDACTED]
                last = end
                found = True
                break
    out.append(text[last:])
    return "".join(out), found


def _redact_cvvs(text: str, card_ends: list[int]) -> tuple[str, bool]:
    anchors = [m.end() for m in _CVV_WORDS.finditer(text)] + card_ends
    out = []
    last = 0
    for code in _CODE.finditer(text):
        if any(0 <= code.start() - a <= _CVV_REACH for a in anchors):
            out += [text[last : code.start()], CVV_REDACTED]
            last = code.end()
    out.append(text[last:])
    return "".join(out), last > 0


def redact(text: str) -> Redacted:
    """The text with card numbers masked and CVVs and IBANs redacted; pure and deterministic."""
    kinds = []
    # IBANs first: their digits must not be mistaken for a card number or a code.
    text, has_iban = _redact_ibans(text)
    masked, card_ends = _mask_cards(text)
    if card_ends:
        kinds.append("card")
    masked, has_cvv = _redact_cvvs(masked, card_ends)
    if has_cvv:
        kinds.append("cvv")
    if has_iban:
        kinds.append("iban")
    return Redacted(masked, tuple(kinds))
