"""Sentiment of a customer's turn in [-1, 1] (VADER's compound score), per language.

English uses VADER's own lexicon, French the French adaptation of VADER (vaderSentiment-fr); Spanish,
German, Italian and Portuguese run VADER's rules over small lexicons shipped in content/sentiment/.
Everything is bundled in packages: nothing is downloaded at run time.
"""

import logging
import unicodedata
import warnings
from pathlib import Path
from typing import Protocol

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer as Vader  # type: ignore[import-untyped]

from relais_bot.domain.language import without_marks

with warnings.catch_warnings():
    # The French package's source has regex escapes Python warns about when it compiles them; harmless.
    warnings.simplefilter("ignore", DeprecationWarning)
    from vaderSentiment_fr.vaderSentiment import (  # type: ignore[import-untyped]
        SentimentIntensityAnalyzer as VaderFr,
    )

# vaderSentiment-fr logs every fuzzy lexicon match at INFO; nothing an operator needs.
logging.getLogger("vaderSentiment_fr.vaderSentiment").setLevel(logging.WARNING)


# Characters people (and their keyboards' smart quotes) type for an apostrophe. VADER's rules match the
# ASCII one only: "don" U+2019 "t" is no negation to it, so "I don" U+2019 "t like it" scored as liking it.
_APOSTROPHES = str.maketrans(
    dict.fromkeys(
        "\u2019\u2018\u201b\u02bc\u02bb\u02bd\u02b9\uff07\u0060\u00b4\u2032\u2035\ua78c\u055a\u05f3\u1fbd\u1fbf",
        "'",
    )
)


def plain_apostrophes(text: str) -> str:
    return text.translate(_APOSTROPHES)


def strip_accents(text: str) -> str:
    # Apostrophes first: NFKD would turn the acute accent U+00B4 into a space and a mark.
    return without_marks(unicodedata.normalize("NFKD", plain_apostrophes(text)))


class ScoresSentiment(Protocol):
    def score(self, text: str, language: str) -> float: ...


class VaderSentiment:
    def __init__(self, lexicons: Path) -> None:
        self._by_language: dict[str, Vader | VaderFr] = {"en": Vader(), "fr": VaderFr()}
        for path in sorted(lexicons.glob("*.txt")):
            self._by_language[path.stem] = Vader(lexicon_file=str(path.resolve()))

    def score(self, text: str, language: str) -> float:
        analyser = self._by_language.get(language, self._by_language["en"])
        value = analyser.polarity_scores(
            plain_apostrophes(text) if language in ("en", "fr") else strip_accents(text)
        )
        return float(value["compound"])
