"""Which language a customer writes in, and text normalised for matching (no accents, no case)."""

import re
import unicodedata

_WORD = re.compile(r"[a-z0-9']+")
# Frequent function words; enough to tell French from English in a short message. A later issue
# brings a real detector for more languages.
_FRENCH = frozenset(
    [
        "je",
        "tu",
        "il",
        "nous",
        "vous",
        "le",
        "la",
        "les",
        "un",
        "une",
        "des",
        "du",
        "de",
        "et",
        "est",
        "suis",
        "veux",
        "voudrais",
        "pas",
        "bonjour",
        "merci",
        "avec",
        "pour",
        "mon",
        "ma",
        "mes",
        "votre",
        "vos",
        "parler",
        "conseiller",
        "quelqu'un",
        "commande",
        "ou",
        "quand",
        "comment",
        "salut",
    ]
)
_ENGLISH = frozenset(
    [
        "i",
        "you",
        "he",
        "we",
        "the",
        "a",
        "an",
        "and",
        "is",
        "am",
        "want",
        "would",
        "not",
        "hello",
        "hi",
        "thanks",
        "with",
        "for",
        "my",
        "your",
        "talk",
        "speak",
        "someone",
        "order",
        "where",
        "when",
        "how",
        "please",
        "can",
    ]
)


def normalise(text: str) -> str:
    """Lowercase, accents removed, whitespace collapsed: "Parler à  quelqu'un" -> "parler a quelqu'un"."""
    decomposed = unicodedata.normalize("NFKD", text.replace("\u2019", "'"))
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(stripped.lower().split())


def words(text: str) -> list[str]:
    return _WORD.findall(normalise(text))


def detect_language(text: str, hint: str | None = None, previous: str | None = None) -> str:
    """'fr' or 'en': the channel's hint first, else word evidence, else what the conversation used."""
    if hint and hint[:2].lower() in ("fr", "en"):
        return hint[:2].lower()
    tokens = words(text)
    french = sum(t in _FRENCH for t in tokens)
    english = sum(t in _ENGLISH for t in tokens)
    if french > english:
        return "fr"
    if english > french:
        return "en"
    return previous or "en"
