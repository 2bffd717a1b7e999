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

from relais_bot.domain.language import plain_apostrophes, without_marks

with warnings.catch_warnings():
    # The French package's source has regex escapes Python warns about when it compiles them; harmless.
    warnings.simplefilter("ignore", DeprecationWarning)
    from vaderSentiment_fr.vaderSentiment import (  # type: ignore[import-untyped]
        SentimentIntensityAnalyzer as VaderFr,
    )

# vaderSentiment-fr logs every fuzzy lexicon match at INFO; nothing an operator needs.
logging.getLogger("vaderSentiment_fr.vaderSentiment").setLevel(logging.WARNING)


def strip_accents(text: str) -> str:
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
