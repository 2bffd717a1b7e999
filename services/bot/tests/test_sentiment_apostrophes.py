"""Every apostrophe a customer's keyboard types reads as the ASCII one VADER's rules know: a negation
written with a curly quote (U+2019) still negates."""

import pytest

from relais_bot.adapters.content_files import BUNDLED
from relais_bot.domain.language import plain_apostrophes
from relais_bot.domain.sentiment import VaderSentiment

pytestmark = pytest.mark.unit

# Right and left single quotes, the reversed one, modifier letters, the full-width one, grave and acute
# accents, primes, the Latin saltillo, the Armenian and Hebrew apostrophes, the Greek koronis and psili.
VARIANTS = [
    "\u2019",
    "\u2018",
    "\u201b",
    "\u02bc",
    "\u02bb",
    "\u02bd",
    "\u02b9",
    "\uff07",
    "`",
    "\u00b4",
    "\u2032",
    "\u2035",
    "\ua78c",
    "\u055a",
    "\u05f3",
    "\u1fbd",
    "\u1fbf",
]
# English negations VADER knows only with the ASCII apostrophe, around words it scores as positive.
NEGATED = [
    "I don{a}t like it",
    "It doesn{a}t work well and I{a}m not happy",
    "I didn{a}t enjoy the service",
    "The app isn{a}t good",
    "It wasn{a}t helpful at all",
    "I won{a}t recommend you",
    "Your agent couldn{a}t help",
    "This shouldn{a}t be acceptable",
]


@pytest.fixture(scope="module")
def sentiment() -> VaderSentiment:
    return VaderSentiment(BUNDLED / "sentiment")


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_apostrophe_variant_becomes_the_ascii_one(variant: str) -> None:
    assert plain_apostrophes(f"don{variant}t") == "don't"


def test_text_without_apostrophes_is_left_as_written() -> None:
    text = 'Pésimo servicio, très déçu 😡 «vraiment» "nul"'
    assert plain_apostrophes(text) == text


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("sentence", NEGATED)
def test_an_english_negation_scores_the_same_whatever_the_apostrophe(
    sentiment: VaderSentiment, sentence: str, variant: str
) -> None:
    ascii_score = sentiment.score(sentence.format(a="'"), "en")
    assert sentiment.score(sentence.format(a=variant), "en") == ascii_score


@pytest.mark.parametrize("variant", ["\u2019", "\u02bc", "\uff07", "`", "\u00b4"])
def test_i_dont_like_it_is_negative_with_a_curly_apostrophe(sentiment: VaderSentiment, variant: str) -> None:
    assert sentiment.score(f"I don{variant}t like it", "en") < 0


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize(
    ("sentence", "language"),
    [
        ("je n{a}aime pas du tout, c{a}est nul", "fr"),
        ("l{a}ordine non è buono, un{a}esperienza pessima", "it"),
        ("d{a}accordo, non mi piace", "it"),
        ("no me gusta, qu{a}horror", "es"),
        ("das ist nicht gut, geht{a}s noch?", "de"),
        ("não gostei, d{a}água", "pt"),
    ],
)
def test_other_languages_score_the_same_whatever_the_apostrophe(
    sentiment: VaderSentiment, sentence: str, language: str, variant: str
) -> None:
    ascii_score = sentiment.score(sentence.format(a="'"), language)
    assert sentiment.score(sentence.format(a=variant), language) == ascii_score
