"""The escalation detectors at their edges, from the surviving mutants of `make mutate` (escalation.py).

The detectors are built here, from the shipped cues, with no model or with a model whose probabilities
come from a table (so a threshold can be met exactly): the bot fixture builds its detectors once, before
any test, and the construction of the cue patterns must be checked where it runs.
"""

import numpy as np
import pytest

from relais_bot.adapters.content_files import read_cues
from relais_bot.domain.content import Cues
from relais_bot.domain.escalation import (
    _SPREAD_FLOOR,
    CUE_FLOOR,
    SENTENCE_HIGH,
    SURFACE_FLOOR,
    WITNESS_FLOOR,
    Detectors,
    Signals,
)
from relais_bot.domain.escalation_model import CATEGORIES, CLASSES, HEADS, EscalationModel
from relais_bot.domain.normalizer import normalize

pytestmark = pytest.mark.unit

HIGH = 0.75  # the table model's threshold for every head ("clearly"); LOW its "clearly not"
LOW = 0.5


class _TableModel(EscalationModel):
    """The request and frustration probabilities per normalized text, from tables with defaults;
    every other head nothing, so routine takes the rest."""

    def __init__(
        self,
        request: dict[str, float] | None = None,
        frustration: dict[str, float] | None = None,
        default_frustration: float = 0.0,
        others: dict[str, float] | None = None,
        default_request: float = 0.0,
    ) -> None:
        high, low = dict.fromkeys(HEADS, HIGH), dict.fromkeys(HEADS, LOW)
        super().__init__([], np.zeros(0), np.zeros((len(CLASSES), 0)), np.zeros(len(CLASSES)), high, low, {})
        self._request, self._frustration = request or {}, frustration or {}
        self._default_frustration, self._default_request = default_frustration, default_request
        self._others = others or {}  # any other head, the same for every text

    def probabilities(self, normalized: str) -> np.ndarray:
        values = np.zeros(len(HEADS))
        for head, value in self._others.items():
            values[HEADS.index(head)] = value
        values[HEADS.index("customer-request")] = self._request.get(normalized, self._default_request)
        values[HEADS.index("frustration")] = self._frustration.get(normalized, self._default_frustration)
        return values


def _signals(text: str, model: EscalationModel | None, cues: Cues | None = None) -> Signals:
    return Detectors(cues or read_cues(), (), model=model).signals(text, "en", (), 0.0)


# -- a lexicon cue and the model ----------------------------------------------------------------------


def test_a_cue_counts_from_the_floor_of_the_models_probability_on() -> None:
    """ "i am angry" is a strong cue; with nothing else, routine takes 1 - p, and the cue counts from
    p >= CUE_FLOOR * (p + routine) = CUE_FLOOR on."""
    assert _signals("i am angry", _TableModel(default_frustration=CUE_FLOOR)).frustrated
    assert not _signals("i am angry", _TableModel(default_frustration=CUE_FLOOR - 0.001)).frustrated


def test_a_request_the_lexicon_reads_needs_the_model_not_to_rule_it_out() -> None:
    assert _signals("agent please", None).human_request  # no model: the lexicon decides alone
    assert not _signals("agent please", _TableModel()).human_request  # the model: no request at all
    assert _signals("agent please", _TableModel({normalize("agent please"): 0.3})).human_request


def test_a_corrected_spelling_is_read_by_the_model_again_and_only_then() -> None:
    # "agnet pls" is "agent pls" to the cues; the model read the message as written ("agnet please").
    corrected = _TableModel({normalize("agent pls"): 0.3})
    assert _signals("agnet pls", corrected).human_request
    assert not _signals("agnet pls", _TableModel()).human_request
    # Nothing corrected ("AGENT PLEASE NOW" reads as written): the model's reading of the message
    # ("... tok_caps") is the only one, even where another spelling would have passed.
    assert not _signals("AGENT PLEASE NOW", _TableModel({normalize("agent please now"): 0.9})).human_request


# -- frustration ---------------------------------------------------------------------------------------


def test_the_models_frustration_counts_without_any_cue() -> None:
    assert _signals("where is my parcel", _TableModel(default_frustration=0.9)).frustrated
    assert not _signals("where is my parcel", _TableModel(default_frustration=0.0)).frustrated


def test_marks_are_frustration_only_if_the_words_are_without_them() -> None:
    text = "where is my parcel??"
    # The model fires on the message with its marks, and on anything but the words with one "?".
    marks_only = _TableModel({}, {normalize("where is my parcel?"): 0.0}, default_frustration=0.9)
    assert not _signals(text, marks_only).frustrated
    words_too = _TableModel({}, {}, default_frustration=0.9)
    assert _signals(text, words_too).frustrated


def test_an_insult_to_the_bot_is_frustration_whatever_the_model_reads() -> None:
    assert _signals("your bot is useless", _TableModel(default_frustration=0.0)).frustrated
    assert _signals("your bot is useless", None).frustrated


def test_no_unambiguous_frustration_cues_is_no_such_detector() -> None:
    """An empty pattern would match every message: a tenant without these cues has no detector."""
    cues = read_cues().model_copy(update={"frustration_unambiguous": ""})
    assert not _signals("where is my parcel", _TableModel(), cues).frustrated
    assert not _signals("where is my parcel", None, cues).frustrated


# -- a request in one sentence ---------------------------------------------------------------------


STORY = "Das Paket kam beschädigt an und die Rechnung stimmt auch nicht.\n\n"


def _sentence_request(text: str, sentence: str, probability: float, whole: float = WITNESS_FLOOR) -> Signals:
    """The signals of `text`, whose `sentence` read alone is a request at `probability` and the whole
    message (any other text) at `whole`."""
    model = _TableModel({normalize(sentence): probability}, default_request=whole)
    return Detectors(read_cues(), (), model=model).signals(text, "de", (), 0.0)


def test_a_sentence_of_three_words_is_read_alone() -> None:
    assert _sentence_request(STORY + "Ruf mich an.", "Ruf mich an.", 0.9).human_request
    assert not _sentence_request(STORY + "Ruf mich.", "Ruf mich.", 0.9).human_request  # two words


@pytest.mark.parametrize("closing", ["Sehr geehrtes Kundenservice-Team, ", "Guten Tag zusammen:"])
def test_a_salutation_or_an_opening_with_a_colon_is_not_read_alone(closing: str) -> None:
    signals = _sentence_request(STORY + closing, closing, 0.99)
    assert not signals.human_request
    assert not signals.unsure_request


SEVEN = [f"Satz Nummer {w} ist hier." for w in ("eins", "zwei", "drei", "vier", "fünf", "sechs", "sieben")]


@pytest.mark.parametrize(("index", "read"), [(0, True), (1, True), (2, False), (3, True), (6, True)])
def test_of_a_long_message_the_first_two_and_the_last_four_sentences_are_read(index: int, read: bool) -> None:
    assert _sentence_request("\n".join(SEVEN), SEVEN[index], 0.9).human_request is read


@pytest.mark.parametrize("index", range(6))
def test_every_sentence_of_six_is_read(index: int) -> None:
    assert _sentence_request("\n".join(SEVEN[:6]), SEVEN[index], 0.9).human_request


def test_a_sentence_at_the_models_threshold_makes_the_bot_ask() -> None:
    """From the model's threshold up to SENTENCE_HIGH a sentence read alone asks, never hands over."""
    line = "Können wir das zusammen klären?"
    at_threshold = _sentence_request(STORY + line, line, HIGH)
    assert not at_threshold.human_request
    assert at_threshold.unsure_request
    assert _sentence_request(STORY + line, line, SENTENCE_HIGH).human_request


@pytest.mark.parametrize(
    ("sentence", "outcome"), [(SENTENCE_HIGH, "human_request"), (HIGH, "unsure_request")]
)
def test_a_sentence_speaks_only_where_the_whole_message_finds_a_request_conceivable(
    sentence: float, outcome: str
) -> None:
    """Below WITNESS_FLOOR for the whole message, a sentence read alone neither hands over nor asks:
    an ordinary line of a letter ("Tem algum custo?") may look like a request without its letter."""
    line = "Können wir das zusammen klären?"
    below = _sentence_request(STORY + line, line, sentence, whole=WITNESS_FLOOR - 0.001)
    assert not below.human_request
    assert not below.unsure_request
    at = _sentence_request(STORY + line, line, sentence, whole=WITNESS_FLOOR)
    assert getattr(at, outcome)


# -- the cue patterns built from the cues -------------------------------------------------------------


def test_a_verb_near_a_person_is_a_request() -> None:
    """Only the verb-near-a-person pattern reads this one (no frame, too long for a short request)."""
    detectors = Detectors(read_cues(), ())
    assert detectors.human_request(detectors.canonical("vous pouvez me mettre en lien avec un humain"))


def test_someone_else_calling_is_no_request_for_a_person() -> None:
    detectors = Detectors(read_cues(), ())
    for text in (
        "i was told that somebody else could call me about the parcel",
        "the courier said someone else would phone me about the parcel today",
    ):
        assert not detectors.human_request(detectors.canonical(text)), text


def test_without_callback_verbs_only_a_person_can_be_declined() -> None:
    detectors = Detectors(read_cues().model_copy(update={"callback_verbs": ""}), ())
    for text in ("no need, thanks", "no need to transfer me, thanks", "i do not know where my parcel is"):
        assert not detectors.negated(detectors.canonical(text)), text
    assert detectors.negated(detectors.canonical("no need for an agent"))


def test_a_joke_is_frustration_when_the_service_is_called_one_not_when_one_was_told() -> None:
    detectors = Detectors(read_cues(), ())
    for text in ("this is a joke", "what a joke", "your service is an absolute joke", "that's a joke"):
        assert detectors.frustration(text, "en")[0], text
    for text in ("das ist doch ein witz", "was fur ein witz", "der service ist echt ein schlechter witz"):
        assert detectors.frustration(text, "de")[0], text
    # Told with a joke thrown in, or a joke about a joke: nobody is angry.
    assert not detectors.frustration("she had it done in four minutes, with a joke thrown in", "en")[0]
    assert not detectors.frustration("er hat mir einen witz erzahlt, sehr nett", "de")[0]


def test_a_strong_cue_is_turned_down_by_a_negation_within_thirty_characters_before_it() -> None:
    detectors = Detectors(read_cues(), ())
    assert detectors.frustration("furious", "en")[0]
    assert not detectors.frustration("not furious", "en")[0]  # the negation opens the message
    # "not" 30 characters before the cue, the end of "cannot": a word of its own in the window.
    assert not detectors.frustration("cannot extraordinarily seriously furious", "en")[0]


def test_failure_hints_are_read_in_the_messages_language_and_in_english() -> None:
    detectors = Detectors(read_cues(), ())
    assert detectors.frustration("toujours pas arrivé", "fr") == (False, 1)
    assert detectors.frustration("still not arrived", "fr") == (False, 1)
    assert detectors.signals("toujours pas arrivé", "fr", (), 0.0).failure_hints == 1


# -- a short request -------------------------------------------------------------------------------


def test_a_short_request_is_five_words_at_most() -> None:
    detectors = Detectors(read_cues(), ())
    assert detectors.human_request(detectors.canonical("agent please right now thanks"))
    assert not detectors.human_request(detectors.canonical("agent please right now thanks ok"))


def test_personne_ne_is_nobody_and_only_personne() -> None:
    detectors = Detectors(read_cues(), ())
    assert not detectors.human_request(detectors.canonical("personne ne répond"))
    # Nobody answers, then a person asked for: the next person word is read.
    assert detectors.human_request(detectors.canonical("personne ne répond, agent svp"))
    # Another person word before "n'" is a person.
    assert detectors.human_request(detectors.canonical("un humain n'importe lequel"))


def test_a_person_after_a_negation_is_not_asked_for() -> None:
    detectors = Detectors(read_cues(), ())
    for text in ("no need for an agent", "pas besoin d'agent"):
        assert not detectors.human_request(detectors.canonical(text)), text


# -- surface detectors -----------------------------------------------------------------------------


def test_capitals_are_ten_letters_at_least_seven_in_ten_of_them_upper_case() -> None:
    assert Detectors.capitals("HELLO WORLD")
    assert not Detectors.capitals("HELLO WORL")
    assert Detectors.capitals("HELLO WOrld")  # 7 of 10
    assert not Detectors.capitals("HELLO World")  # 6 of 10


def test_three_marks_in_a_row_are_shouting_without_capitals() -> None:
    assert Detectors.shouting("where is it???")
    assert Detectors.shouting("where is it!?!")
    assert not Detectors.shouting("where is it??")
    assert Detectors.shouting("WHERE IS MY PARCEL")


@pytest.mark.parametrize("marks", ["???", "!!!"])
def test_capitals_with_a_run_of_marks_need_four_tokens(marks: str) -> None:
    """Four tokens of the model's reading, the marks and capitals counted: "kontosperre jetzt punct_qqq
    tok_caps"."""
    plausible = _TableModel(default_frustration=0.2)
    assert _signals("KONTOSPERRE JETZT" + marks, plausible).frustrated
    assert not _signals("KONTOSPERRE" + marks, plausible).frustrated  # three tokens
    assert not _signals("KONTOSPERRE JETZT" + marks, _TableModel()).frustrated


def test_capitals_without_marks_are_not_frustration_by_themselves() -> None:
    assert not _signals("WARUM IST MEIN KONTO GESPERRT", _TableModel(default_frustration=0.2)).frustrated


def test_an_angry_face_is_frustration_where_it_is_plausible() -> None:
    assert _signals("where is my parcel 😡", None).frustrated
    assert _signals("where is my parcel 😡", _TableModel(default_frustration=0.4)).frustrated
    assert not _signals("where is my parcel 😡", _TableModel(default_frustration=0.0)).frustrated
    # What a lexicon cue needs of the model is enough, as for quoted praise.
    assert _signals("where is my parcel 😡", _TableModel(default_frustration=CUE_FLOOR)).frustrated
    assert not _signals(
        "where is my parcel 😡", _TableModel(default_frustration=CUE_FLOOR - 0.001)
    ).frustrated


def test_a_turn_shouts_with_capitals_or_with_a_run_of_three_marks() -> None:
    for text in ("where is it???", "where is it!?!", "WHERE IS MY PARCEL"):
        assert _signals(text, None).shouting, text
    assert not _signals("where is it??", None).shouting


def test_praise_with_an_eye_roll_is_irony_whatever_the_model_reads() -> None:
    assert _signals("bravo 🙄", _TableModel()).frustrated
    assert not _signals("bravo", _TableModel()).frustrated


# -- sensitive situations ----------------------------------------------------------------------------


HEALTH = "I'm in hospital, can you delay the delivery?"  # a health cue, not an unambiguous one


def _sensitive(text: str, **heads: float) -> tuple[str, ...]:
    model = _TableModel(others={h.replace("_", "-"): v for h, v in heads.items()})
    return Detectors(read_cues(), (), model=model).signals(text, "fr", CATEGORIES, 0.0).sensitive


def test_a_sensitive_cue_counts_where_the_model_finds_any_situation_plausible() -> None:
    # The model reads the message as bereavement more than health: still a delicate message, and the
    # cue names it.
    assert _sensitive(HEALTH, sensitive=0.35, bereavement=0.33, health=0.02) == ("health",)
    assert _sensitive(HEALTH, sensitive=0.2, bereavement=0.18, health=0.02) == ()
    # A category the model gives under 1 % is named by its cue only where the model finds the message
    # more likely delicate than not (SENSITIVE_CATEGORY_MIN, SENSITIVE_SUM_MIN).
    assert _sensitive(HEALTH, sensitive=0.35, bereavement=0.35) == ()
    assert _sensitive(HEALTH, sensitive=0.49, bereavement=0.49) == ()
    assert _sensitive(HEALTH, sensitive=0.5, bereavement=0.5) == ("health",)
    assert _sensitive(HEALTH, sensitive=0.35, bereavement=0.34, health=0.01) == ("health",)


def test_a_stroke_counts_whatever_the_model_reads_only_as_someones() -> None:
    # "un AVC", "su ictus": unambiguous; a clinic treating patients "em recuperação de AVC" is a trade
    # (blind z29), left to the model, which reads it as routine here.
    assert _sensitive("mon père a fait un AVC, pouvez-vous suspendre son abonnement ?") == ("health",)
    clinic = "tratamos doentes em recuperação de cirurgias e AVC: quais as comissões do terminal?"
    assert _sensitive(clinic) == ()


def test_a_death_long_past_is_no_bereavement_cue() -> None:
    # The cue counts for a recent loss; "há dez anos", "twenty years ago" next to it make it background
    # (blind z29). The model, which reads the whole message, may still find a bereavement.
    plausible = {"sensitive": 0.4, "bereavement": 0.35}
    assert _sensitive("o meu avô faleceu e deixou-me a casa", **plausible) == ("bereavement",)
    assert _sensitive("o meu avô faleceu há dez anos e deixou-me a casa", **plausible) == ()
    assert _sensitive("my grandmother passed away twenty years ago, new gas meter please", **plausible) == ()
    assert _sensitive("my husband passed away two weeks ago", **plausible) == ("bereavement",)
    # An age is no time ago: "19 ans" beside the death is the son's age.
    assert _sensitive("notre fils Hugo, 19 ans, est mort dans un accident", **plausible) == ("bereavement",)


def test_a_delicate_message_without_a_sure_category_is_named_by_the_likeliest() -> None:
    assert _sensitive("where is my parcel please", sensitive=0.8, health=0.5, bereavement=0.3) == ("health",)
    # In fewer than five words the model's head alone must be sure.
    assert _sensitive("where is my parcel", sensitive=0.8, health=0.5, bereavement=0.3) == ()
    assert _sensitive("where is my parcel", sensitive=0.9, health=0.5, bereavement=0.3) == ("health",)
    # ... whether a category fires on its own or not.
    assert _sensitive("where is my parcel", sensitive=0.8, health=0.8) == ()
    assert _sensitive("where is my parcel please", sensitive=0.8, health=0.8) == ("health",)
    # A cue already names it: the likeliest category is not added.
    assert _sensitive(HEALTH, sensitive=0.8, bereavement=0.5, health=0.3) == ("health",)


def test_an_angry_message_is_not_made_delicate_by_the_models_word_alone() -> None:
    angry = _TableModel(default_frustration=0.15, others={"sensitive": 0.8, "health": 0.8})
    signals = Detectors(read_cues(), (), model=angry).signals("i am furious", "en", CATEGORIES, 0.0)
    assert signals.frustrated
    assert signals.sensitive == ()


# -- spelling and the verb near a person -------------------------------------------------------------


def test_misspelt_person_words_are_corrected_within_their_budget() -> None:
    detectors = Detectors(read_cues(), ())
    assert detectors.canonical("agnt pls") == "agnt pls"  # four letters: never corrected
    assert detectors.canonical("je veux mon argent") == "je veux mon argent"  # a word of its own
    assert detectors.canonical("opreatuer") == "operateur"  # nine letters: two typos
    assert detectors.canonical("opreatueo") == "opreatueo"  # three are too many


def test_a_verb_near_someone_elses_person_is_no_request() -> None:
    detectors = Detectors(read_cues(), ())
    assert not detectors.human_request(detectors.canonical("i need to call my agent"))
    # A possessive after the person word is about something else.
    assert detectors.human_request(detectors.canonical("connect me with an agent about my order"))


def test_content_with_the_bot_is_turned_down_by_a_negation_within_thirty_characters() -> None:
    detectors = Detectors(read_cues(), ())
    assert detectors.negated(detectors.canonical("happy to keep chatting with the bot"))
    assert not detectors.negated(
        detectors.canonical("cannot extraordinarily seriously happy to keep chatting with the bot")
    )


# -- the negation window ---------------------------------------------------------------------------


NEGATIONS = ("not", "no", "non", "nao", "pas", "nicht", "nem", "ni", "kein", "keine", "without", "sans",
             "sin", "senza", "sem", "ohne")  # fmt: skip


@pytest.mark.parametrize("negation", NEGATIONS)
def test_each_negation_turns_a_strong_cue_down(negation: str) -> None:
    """Strong cues apply in every language, so each language's negation turns down the same cue."""
    assert not Detectors(read_cues(), ()).frustration(f"{negation} furious", "en")[0]


def test_a_negation_turns_down_a_cue_up_to_two_words_after_it_and_no_further() -> None:
    detectors = Detectors(read_cues(), ())
    assert not detectors.frustration("not really furious", "en")[0]
    assert not detectors.frustration("not really very furious", "en")[0]
    assert detectors.frustration("not one two three furious", "en")[0]  # three words between
    # Words joined by an apostrophe count as words of their own: "sans m'énerver" is not angry.
    assert detectors.frustration("m'enerver", "fr")[0]
    assert not detectors.frustration("sans m'enerver", "fr")[0]
    assert not detectors.frustration("pas l'air furieux", "fr")[0]  # two words: "l", "air"


def test_never_and_words_that_only_end_or_start_like_a_negation_turn_nothing_down() -> None:
    detectors = Detectors(read_cues(), ())
    for text in ("never been so furious", "knot furious", "nothing furious"):
        assert detectors.frustration(text, "en")[0], text


# -- sentences ---------------------------------------------------------------------------------------


SENTENCE = "Satz Nummer eins ist hier."


@pytest.mark.parametrize("end", [".", "!", "?", "…"])
def test_a_sentence_ends_at_its_mark(end: str) -> None:
    text = f"{STORY}Bestellt am Montag{end} {SENTENCE}"
    assert _sentence_request(text, SENTENCE, 0.9).human_request
    # Without the mark it is one sentence, which the model does not read as a request.
    assert not _sentence_request(f"{STORY}Bestellt am Montag {SENTENCE}", SENTENCE, 0.9).human_request


def test_a_numbers_point_ends_no_sentence() -> None:
    """ "vor dem 20. Dezember", "Nr. 5": German dates and ordinals put a point after the number."""
    assert not _sentence_request(f"{STORY}Bestellt am 20. {SENTENCE}", SENTENCE, 0.9).human_request


# -- scare quotes ------------------------------------------------------------------------------------

PRAISE_QUOTED = "Bravo pour la nouvelle « amélioration »"


def test_praise_with_the_companys_word_in_scare_quotes_is_irony_from_the_cue_floor_on() -> None:
    """Praise with a word in scare quotes needs what a lexicon cue needs of the model (CUE_FLOOR);
    the same praise without the quotes needs SURFACE_FLOOR, as any praise does."""
    assert _signals(PRAISE_QUOTED, None).frustrated
    assert _signals(PRAISE_QUOTED, _TableModel(default_frustration=CUE_FLOOR)).frustrated
    assert not _signals(PRAISE_QUOTED, _TableModel(default_frustration=CUE_FLOOR - 0.001)).frustrated
    plain = PRAISE_QUOTED.replace("« ", "").replace(" »", "")
    assert not _signals(plain, _TableModel(default_frustration=CUE_FLOOR)).frustrated
    assert _signals(plain, _TableModel(default_frustration=SURFACE_FLOOR)).frustrated


def test_scare_quotes_without_praise_need_the_surface_floor() -> None:
    text = "la nouvelle « amélioration »"
    assert _signals(text, None).frustrated
    assert not _signals(text, _TableModel(default_frustration=CUE_FLOOR)).frustrated
    assert not _signals(text, _TableModel(default_frustration=SURFACE_FLOOR - 0.001)).frustrated
    assert _signals(text, _TableModel(default_frustration=SURFACE_FLOOR)).frustrated


@pytest.mark.parametrize(
    "text",
    [
        "great „fast“ service",
        "great “fast” service",
        'great "fast" service',
        "great ‘fast’ service",
        "great 'fast' service",
        "great « fast » service",
        "the « super fast delivery » again",  # three words
        "great 'self-service' portal",
    ],
)
def test_a_few_lower_case_words_in_quotes_are_scare_quotes(text: str) -> None:
    detectors = Detectors(read_cues(), ())
    assert detectors.praise_quoted(normalize(text), text), text


@pytest.mark.parametrize(
    "text",
    [
        "great « Fast » service",  # a title or a name starts with a capital
        "great thanks for the 'Continue watching' row",
        "great « fast 2 » service",  # a number is no word of a scare quote
        "great « one two three four » service",  # four words: a quotation, not a scare quote
        "great, don't say it's fast",  # apostrophes inside words
        "great, don't touch kids' toys",  # an elision, then a plural possessive
        "great 'fast service",  # not closed
        "great fast service",
    ],
)
def test_titles_numbers_quotations_and_apostrophes_are_no_scare_quotes(text: str) -> None:
    detectors = Detectors(read_cues(), ())
    assert not detectors.praise_quoted(normalize(text), text), text


def test_scare_quotes_without_praise_words_are_not_quoted_praise() -> None:
    detectors = Detectors(read_cues(), ())
    text = "the « fast » service"
    assert not detectors.praise_quoted(normalize(text), text)
    cues = read_cues().model_copy(update={"sarcasm_praise": ""})
    assert not Detectors(cues, ()).praise_quoted(normalize(PRAISE_QUOTED), PRAISE_QUOTED)


# -- round 11: the story gate, the aside about someone else ------------------------------------------

FOUR = [
    "Nous marions notre fille en juin au bord du lac.",
    "Toute la famille vient de loin pour l'occasion.",
    "Il faudra une trentaine de chambres pour deux nuits.",
    "Pouvez-vous m'envoyer vos tarifs de groupe ?",
]


@pytest.mark.parametrize(("spread", "frustrated"), [(_SPREAD_FLOOR, True), (_SPREAD_FLOOR - 0.001, False)])
def test_in_a_story_two_sentences_at_the_spread_floor_are_spread(spread: float, frustrated: bool) -> None:
    """The whole story reads angry; two of its four sentences read alone at _SPREAD_FLOOR are enough."""
    text = " ".join(FOUR)
    table = {normalize(text): 0.9, normalize(FOUR[0]): spread, normalize(FOUR[1]): spread}
    assert _signals(text, _TableModel(frustration=table)).frustrated is frustrated


def test_without_a_model_no_message_is_a_story() -> None:
    """The story gate needs sentences read alone: without a model, praise with its let-down counts
    in four sentences as in one."""
    sarcasm = "Great service, still no parcel."
    assert _signals(sarcasm, None).frustrated
    assert _signals(" ".join([*FOUR[:3], sarcasm]), None).frustrated


VENT = "I cried at the finale, terrible writing, "


def _vented(after_aside: str, angry: tuple[str, ...] = ("cried",)) -> bool:
    """A model that reads any text with one of `angry` as frustrated at 0.95, everything else at 0."""
    text = VENT + "not your fault" + after_aside
    words = {w for w in normalize(text).split() if w in angry}
    table = {normalize(t): 0.95 for t in (text, after_aside) if words & set(normalize(t).split())}
    return _signals(text, _TableModel(frustration=table)).frustrated


def test_after_the_aside_a_strong_cue_counts_whatever_the_model_reads_of_it() -> None:
    assert not _vented(", can I watch on two TVs?")
    assert _vented(", but I am angry")  # the model reads nothing angry after the aside


def test_after_the_aside_the_model_reads_three_words_or_more() -> None:
    assert _vented(", two tvs please", angry=("cried", "tvs"))
    assert not _vented(", two tvs", angry=("cried", "tvs"))  # two words: too few to read alone


def test_an_aside_alone_does_not_make_a_strong_cue_the_model_rules_out_count() -> None:
    """The aside only takes back frustration found before it; a message the model reads as calm
    stays calm, whatever cue follows the aside."""
    assert not _signals("not your fault, but I am angry", _TableModel()).frustrated
    assert not _signals(
        "not your fault, but I am angry", _TableModel(default_frustration=CUE_FLOOR - 0.001)
    ).frustrated


def test_after_the_aside_an_insult_anywhere_and_repeated_contact_still_count() -> None:
    """Only the vented feeling is taken back: an insult to the bot, before or after the aside, and
    writing again (where the model finds frustration plausible) are about us."""
    calm = ", not your fault, can I watch on two TVs?"
    assert _signals("your bot is useless" + calm, _TableModel()).frustrated
    again = "third time I write about this" + calm
    assert _signals(again, _TableModel(default_frustration=SURFACE_FLOOR)).frustrated
    assert not _signals(again, _TableModel(default_frustration=SURFACE_FLOOR - 0.001)).frustrated


def test_no_aside_cue_is_no_aside() -> None:
    """An empty pattern would match every message: a tenant without the cue takes nothing back."""
    cues = read_cues().model_copy(update={"not_at_us": ""})
    text = VENT + "not your fault, can I watch on two TVs?"
    angry = _TableModel(frustration={normalize(text): 0.95})
    assert _signals(text, angry, cues).frustrated
    assert not _signals(text, angry).frustrated
    # Nor does it read the whole message again as what follows an aside (scare quotes are no cue).
    assert _signals("la nouvelle « amélioration »", None, cues).frustrated


def test_scare_quotes_count_in_messages_shorter_than_a_story() -> None:
    quoted = "Merci pour la nouvelle « amélioration » du site."
    assert _signals(" ".join([*FOUR[:2], quoted]), None).frustrated
    assert not _signals(" ".join([*FOUR[:3], quoted]), None).frustrated
