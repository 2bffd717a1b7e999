"""Which language a customer writes in, and text normalised for matching (no accents, no case)."""

import functools
import re
import sys
import unicodedata
from typing import Protocol

from lingua import IsoCode639_1, Language, LanguageDetector, LanguageDetectorBuilder

_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)?")
_LINGUA = {
    "fr": Language.FRENCH, "en": Language.ENGLISH, "es": Language.SPANISH,
    "de": Language.GERMAN, "it": Language.ITALIAN, "pt": Language.PORTUGUESE,
}  # fmt: skip


# Every combining mark (unicodedata.combining(c) != 0), for str.translate to drop them in C: the same
# result as filtering the characters one by one in Python, which took a tenth of a decision's time.
_MARKS = dict.fromkeys(cp for cp in range(sys.maxunicode + 1) if unicodedata.combining(chr(cp)))


def without_marks(decomposed: str) -> str:
    """The text less its combining marks (of an NFKD-decomposed text: its accents)."""
    return decomposed if decomposed.isascii() else decomposed.translate(_MARKS)


# Characters people (and their keyboards' smart quotes) type for an apostrophe. The cues, VADER's rules
# and the model's corpus use the ASCII one: "don" U+2019 "t" is no negation to VADER, so "I don" U+2019
# "t like it" scored as liking it.
_APOSTROPHES = str.maketrans(
    dict.fromkeys(
        "\u2019\u2018\u201b\u02bc\u02bb\u02bd\u02b9\uff07\u0060\u00b4\u2032\u2035\ua78c\u055a\u05f3\u1fbd\u1fbf",
        "'",
    )
)


def plain_apostrophes(text: str) -> str:
    """Every apostrophe look-alike made the ASCII one; before NFKD, which would turn the acute accent
    U+00B4 into a space and a combining mark."""
    return text.translate(_APOSTROPHES)


def normalise(text: str) -> str:
    """Lowercase, accents removed, whitespace collapsed: "Parler À  Quelqu'un" -> "parler a quelqu'un"."""
    decomposed = unicodedata.normalize("NFKD", plain_apostrophes(text))
    return " ".join(without_marks(decomposed).lower().split())


def words(text: str) -> list[str]:
    return _WORD.findall(normalise(text))


@functools.cache
def _detector(languages: tuple[str, ...]) -> LanguageDetector:
    """One set of models per set of languages: tenants share them (they take memory and a second to load)."""
    builder = LanguageDetectorBuilder.from_languages(*(_LINGUA[code] for code in languages))
    return builder.with_preloaded_language_models().build()


class DetectsLanguage(Protocol):
    def detect(self, text: str, hint: str | None, previous: str | None) -> str: ...


class LanguageIdentifier:
    """lingua's statistical models over the supported languages, made steady for chat messages.

    A message of one or two words ("ok", "merci") says little: when the models are unsure, the
    conversation's language so far wins, then a known phrase of the tenant's content, then the default.
    """

    def __init__(
        self, languages: tuple[str, ...], known_phrases: dict[str, str], default: str, min_confidence: float
    ) -> None:
        self._detector = _detector(tuple(sorted(languages)))
        self._languages = languages
        self._known = known_phrases
        self._default = default
        self._min_confidence = min_confidence

    def detect(self, text: str, hint: str | None, previous: str | None) -> str:
        if hint and hint[:2].lower() in self._languages:
            return hint[:2].lower()
        key = " ".join(words(text))
        if key in self._known:
            return self._known[key]
        values = self._detector.compute_language_confidence_values(text) if key else []
        if values and values[0].value >= self._min_confidence and len(key) >= 4:
            code: IsoCode639_1 = values[0].language.iso_code_639_1
            return str(code.name).lower()
        return previous or self._default
