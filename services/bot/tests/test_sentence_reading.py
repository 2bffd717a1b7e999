"""Round 12 of issue 12: which sentence carries the ask, and whether it asks us for a person; anger at
someone else before a change of subject; declining to be called back."""

import numpy as np
import pytest

from relais_bot.adapters.content_files import read_cues
from relais_bot.domain.escalation import (
    SURFACE_FLOOR,
    WITNESS_FLOOR,
    Detectors,
    Signals,
    sentences_read_alone,
)
from relais_bot.domain.escalation_model import CLASSES, HEADS, EscalationModel
from relais_bot.domain.language import normalise
from relais_bot.domain.normalizer import fixed_phrases, normalize

pytestmark = pytest.mark.unit

DETECTORS = Detectors(read_cues())


class _Table(EscalationModel):
    """Request and frustration probabilities per normalized text; nothing else."""

    def __init__(self, request: dict[str, float], frustration: dict[str, float]) -> None:
        high, low = dict.fromkeys(HEADS, 0.75), dict.fromkeys(HEADS, 0.5)
        super().__init__([], np.zeros(0), np.zeros((len(CLASSES), 0)), np.zeros(len(CLASSES)), high, low, {})
        self._request = {normalize(k): v for k, v in request.items()}
        self._frustration = {normalize(k): v for k, v in frustration.items()}

    def probabilities(self, normalized: str) -> np.ndarray:
        values = np.zeros(len(HEADS))
        # The whole message (any text not in the table) finds a request just conceivable, so that its
        # sentences are read alone.
        values[HEADS.index("customer-request")] = self._request.get(normalized, WITNESS_FLOOR)
        values[HEADS.index("frustration")] = self._frustration.get(normalized, 0.0)
        return values


def _signals(text: str, model: EscalationModel, language: str = "en") -> Signals:
    return Detectors(read_cues(), (), model=model).signals(text, language, (), 0.0)


@pytest.mark.parametrize(
    "sentence",
    [
        # turned down in its own clause
        "When I wrote 'operator' I meant your company, not a person.",
        "quand je parlais de « l'opérateur » j'entendais votre entreprise, pas une personne !",
        "Es ist ein Tarif für Familien, keine Person am Telefon.",
        "¿Es un plan de datos y no un asesor personal?",
        "Mi confermate che è un piano con minuti illimitati, e non un servizio con operatore dedicato?",
        "É um serviço automático e não uma pessoa que atende?",
        # counted
        "What is the discount per person for a group of ten?",
        "Le tarif est de 12 euros par personne ?",
        "Was kostet das Ticket pro Person?",
        "¿Cuánto cuesta por persona?",
        "Mi confermate che è il piano per una persona sola?",
        "O preço é por pessoa ou por família?",
        # someone else's, or a job
        "Is there a form I can fill in so her manager sees it?",
        "¿Puedo dejar una valoración para que le llegue a su responsable?",
        "vorrei candidarmi per la posizione di operatore call center a Torino.",
        # a word quoted
        "Quand je parlais de « l'opérateur » j'entendais votre entreprise.",
    ],
)
def test_a_sentence_that_names_people_and_asks_none_of_them(sentence: str) -> None:
    assert DETECTORS.nobody_asked(sentence)


@pytest.mark.parametrize(
    "sentence",
    [
        "Would it be possible for somebody to telephone me?",
        "Je voudrais parler à une personne.",
        "Ich möchte bitte mit einem Mitarbeiter sprechen.",
        "¿Me puede llamar una persona de su equipo?",
        "Posso parlare con un operatore per favore?",
        "Gostaria de agendar um horário com o meu gerente na agência.",
        "Could you check my bill for me?",  # no person at all: the model decides
    ],
)
def test_a_sentence_that_asks_for_a_person_or_names_none_stays_a_witness(sentence: str) -> None:
    assert not DETECTORS.nobody_asked(sentence)


def test_a_sentence_read_alone_counts_as_a_request_only_if_it_asks_someone() -> None:
    counted = "Is that priced per person, and not with an agent?"
    asking = "Could one of your agents call me about it?"
    story = "Hello, I saw your new unlimited plan in the shop window."
    model = _Table({counted: 0.95, asking: 0.95}, {})
    assert not _signals(f"{story} {counted}", model).human_request
    assert _signals(f"{story} {asking}", model).human_request


def test_a_storys_sentences_are_read_by_the_line_model_a_short_messages_by_the_message_model() -> None:
    line = "Quick one, but it is a bit of a story so bear with me."
    story = [
        "My daughter graduated last week and we are all very proud.",
        "She starts a job in Leeds in January.",
        "Does her data allowance carry over if she takes over the number?",
    ]
    message = _Table({line: 0.95}, {})  # the message model took the line for a request
    message.lines = _Table({}, {})  # the line model learned it is calm
    assert not _signals(" ".join([line, *story]), message).human_request  # four sentences: a story
    assert _signals(" ".join([line, story[-1]]), message).human_request  # two: a short message
    message.lines = None  # without a line model, a story's sentences are the message model's
    assert _signals(" ".join([line, *story]), message).human_request


@pytest.mark.parametrize(
    "text",
    [
        "Ma question concerne l'un d'eux, M. et Mme Giraud, qui partent en janvier.",
        "I spoke to Mr. Patel and Dr. Jones about the new meter last week.",
        "Ich habe mit Hr. Weber über die Rechnung Nr. 4471 gesprochen.",
        "Hablé con la Sra. Pérez y con el Sr. Gómez sobre la factura.",
        "Ho parlato con il Dott. Bianchi e con la Sig. Rossi della bolletta.",
        "Falei com a Dra. Sousa sobre a fatura do mês passado.",
    ],
)
def test_a_titles_full_stop_ends_no_sentence(text: str) -> None:
    assert sentences_read_alone(text) == [text]


def test_a_full_stop_after_a_capital_that_is_no_title_still_ends_a_sentence() -> None:
    assert len(sentences_read_alone("The engineer came at 5 PM. Nobody rang the bell at all.")) == 2


CALM_STORY = [
    "Our daughter graduated last week and we are all very proud.",
    "She starts her first job in Leeds in January.",
    "My phone died on the train again, the charger was still at my sister's 🙃",
    "The guard was super nice about it, I am still not sure why I panicked.",
    "Does her data allowance carry over if she takes over the number?",
]


def test_a_storys_failure_words_and_irony_emoji_count_only_where_the_model_finds_frustration() -> None:
    story = " ".join(CALM_STORY)
    calm, cross = _Table({}, {}), _Table({}, {story: SURFACE_FLOOR})
    # "again", "still not" and praise with 🙃, each in a different sentence of a calm story: nothing.
    read = _signals(story, calm)
    assert read.failure_hints == 0
    assert not read.frustrated
    # Where the whole story may be angry, they count as before.
    read = _signals(story, cross)
    assert read.failure_hints == 2
    assert read.frustrated
    # In a short message they count whatever the model reads.
    read = _signals("super nice, my order is still not here, again 🙃", calm)
    assert read.failure_hints == 2
    assert read.frustrated


VENTS = {
    "en": (
        "The football was a disaster last night, I'm still furious. ",
        "you lot lost my parcel, I'm furious. ",
    ),
    "fr": (
        "Je suis tellement énervée contre mon voisin... ",
        "vous avez encore perdu mon colis, je suis énervée. ",
    ),
    "de": ("Ich ärgere mich so über meinen Chef. ", "ihr habt mein Paket verloren, ich ärgere mich. "),
    "es": (
        "Estoy furiosa con el fontanero. ",
        "habéis perdido mi paquete otra vez, vuestro servicio me tiene furiosa. ",
    ),
    "it": (
        "Sono furiosa con l'idraulico. ",
        "avete perso il mio pacco, il vostro servizio mi fa infuriare. ",
    ),
    "pt": (
        "o cachorro do vizinho late desde as 5 da manhã e eu não dormi nada. ",
        "vocês perderam meu pacote. ",
    ),
}
SHIFTS = {
    "en": "Anyway",
    "fr": "Bref",
    "de": "Aber egal",
    "es": "En fin",
    "it": "Comunque sia",
    "pt": "Mas enfim",
}


@pytest.mark.parametrize("language", sorted(VENTS))
def test_a_change_of_subject_after_venting_at_nobody_of_the_company(language: str) -> None:
    at_someone_else, at_us = VENTS[language]
    shift = SHIFTS[language]

    def changed(text: str) -> bool:
        return DETECTORS._changed_subject(fixed_phrases(normalise(text))) is not None

    assert changed(f"{at_someone_else}{shift}, where is my order 4552?")
    assert not changed(f"{at_us}{shift}, where is my order 4552?")  # "you" before it: anger at us
    assert not changed(f"{at_someone_else}Where is my order 4552?")  # no change of subject


def test_after_a_change_of_subject_only_what_follows_counts() -> None:
    vent, question = (
        "my neighbour has been drilling since 7am, I am so angry. ",
        "can you tell me where my order is?",
    )
    model = _Table(
        {}, {f"{vent}anyway, {question}": 0.95, f"{vent}your app crashed, anyway, {question}": 0.95}
    )
    assert not _signals(f"{vent}anyway, {question}", model).frustrated
    # Anger at the company before the change of subject still counts.
    assert _signals(f"{vent}your app crashed, anyway, {question}", model).frustrated


@pytest.mark.parametrize(
    "declined",
    [
        "i don't want to be called back",
        "je ne cherche pas à être rappelée",
        "ich möchte nicht zurückgerufen werden",
        "no quiero que me llamen",
        "non voglio essere richiamata",
        "não quero que me liguem",
    ],
)
def test_declining_to_be_called_back_is_a_negation_in_every_language(declined: str) -> None:
    assert DETECTORS._negation.search(DETECTORS.canonical(declined))


@pytest.mark.parametrize(
    "recall",
    [
        "I read there is a product recall of the kettle I bought, how does the recall work?",
        "J'ai lu qu'il y a un rappel de produit sur ma bouilloire : comment se passe le rappel ?",
        "Es gibt einen Rückruf für den Wasserkocher. Wie läuft der Rückruf ab?",
        "He visto la retirada del producto de mi hervidor, ¿cómo funciona?",
        "Ho letto del richiamo del seggiolino che ho comprato: come funziona il richiamo?",
        "Vi a campanha de chamamento do meu carro, como funciona o chamamento?",
    ],
)
def test_a_product_recall_named_is_no_call_back(recall: str) -> None:
    canonical = DETECTORS.canonical(recall)
    assert not DETECTORS.human_request(canonical)
    if any(w in recall.lower() for w in ("rückruf", "rappel", "richiamo", "chamamento")):
        assert "productrecall" in canonical  # every mention, the second one ("der Rückruf") too


@pytest.mark.parametrize(
    "callback",
    ["Ich hätte gern einen Rückruf für morgen.", "Bitte um Rückruf, danke.", "rappel svp"],
)
def test_a_call_back_asked_for_is_still_one(callback: str) -> None:
    assert DETECTORS.human_request(DETECTORS.canonical(callback))


def test_after_a_change_of_subject_the_venting_sentiment_does_not_count() -> None:
    """The policy lets a very negative sentiment count only where frustration is plausible: after an
    aside, that is what follows it."""
    vent = "the football was a disaster last night, I'm still furious. "
    calm = "anyway, can I upgrade to the full sports pack mid-month?"
    whole = f"{vent}{calm}"
    signals = _signals(whole, _Table({}, {whole: 0.6}))
    assert not signals.frustrated
    assert not signals.frustration_plausible
    # What follows may be angry: plausible again.
    assert _signals(whole, _Table({}, {whole: 0.6, calm.removeprefix("anyway,"): 0.5})).frustration_plausible


@pytest.mark.parametrize(
    ("own", "threat"),
    [
        ("I'm a solicitor and my office has moved", "I will see a solicitor about this"),
        ("je suis avocate et mon cabinet a déménagé", "je vais prendre un avocat"),
        ("ich bin Rechtsanwalt und meine Kanzlei ist umgezogen", "ich schalte meinen Anwalt ein"),
        ("soy abogada y mi despacho se ha mudado", "voy a llamar a mi abogado"),
        ("sono avvocato e il mio studio ha cambiato sede", "mi rivolgo a un avvocato"),
        ("sou advogada e o meu escritório mudou", "vou falar com um advogado"),
    ],
)
def test_the_customers_own_profession_is_no_complaint_cue(own: str, threat: str) -> None:
    def complaint(text: str) -> bool:
        return "complaint" in DETECTORS.sensitive(fixed_phrases(normalise(text)), ("complaint",))

    assert not complaint(own)
    assert complaint(threat)


# Round 13 (read on blind z18): a person thanked or praised is named, not asked for; a strong word that
# qualifies letters or calls is no anger of the customer's now.


@pytest.mark.parametrize(
    "text",
    [
        "I just want to say a huge thank you to one of your agents, Priya, who I spoke to on Tuesday.",
        "Je voulais adresser un grand merci à la conseillère qui m'a répondu hier.",
        "Ich möchte ein Lob an die Mitarbeiterin aussprechen, die mich gestern angerufen hat.",
        "Quiero felicitar a la agente Laura, que me atendió ayer por teléfono.",
        "Vorrei ringraziare l'operatrice che mi ha aiutato ieri.",
        "Quero deixar um elogio ao atendente Marcos, que me atendeu ontem por telefone.",
    ],
)
def test_a_person_thanked_is_named_not_asked_for(text: str) -> None:
    assert not DETECTORS.human_request(DETECTORS.canonical(text))
    assert DETECTORS.nobody_asked(text)


@pytest.mark.parametrize(
    "text",
    [
        "thanks, can I talk to an agent?",
        "merci, je veux parler à un conseiller",
        "danke, ich möchte mit einem Mitarbeiter sprechen",
        "gracias, quiero hablar con un agente",
        "grazie, voglio parlare con un operatore",
        "obrigada, quero falar com um atendente",
    ],
)
def test_thanks_before_a_request_still_asks(text: str) -> None:
    assert DETECTORS.human_request(DETECTORS.canonical(text))


@pytest.mark.parametrize(
    ("text", "language", "angry"),
    [
        ("I've spent enough of my life writing angry emails to companies", "en", False),
        ("j'ai écrit assez de mails énervés dans ma vie", "fr", False),
        ("ich habe genug wütende Briefe geschrieben", "de", False),
        ("he escrito demasiados correos enfadados", "es", False),
        ("ho scritto troppe email arrabbiate", "it", False),
        ("já escrevi muitas mensagens furiosas", "pt", False),
        ("I am angry", "en", True),
        ("je suis furieux", "fr", True),
        ("ich bin wütend", "de", True),
        ("estoy enfadada con ustedes", "es", True),
        ("sono arrabbiata", "it", True),
        ("estou furiosa", "pt", True),
    ],
)
def test_a_strong_word_counts_when_it_is_the_customers_anger_not_a_letters(
    text: str, language: str, angry: bool
) -> None:
    strong, _ = DETECTORS.frustration(fixed_phrases(normalise(text)), language)
    assert strong is angry


# -- no person wanted, then a call asked for ---------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "I'd like to switch to the fibre plan, but could someone call me tomorrow about the router?",
        "Je voudrais passer à la fibre, mais quelqu'un peut me rappeler demain pour le modem ?",
        "Ich komme gut mit dem Chatbot zurecht, aber kann mich jemand morgen wegen des Routers zurückrufen?",
        "Quiero cambiar a la fibra, pero ¿me puede llamar alguien mañana por el router?",
        "Vorrei passare alla fibra ma ho dubbi sul modem, può chiamarmi qualcuno domani mattina?",
        "Quero mudar para a fibra mas tenho dúvidas, alguém me pode ligar amanhã de manhã?",
    ],
)
def test_a_call_asked_for_after_no_person_wanted_is_not_turned_down(text: str) -> None:
    """Switching a plan ("passare alla fibra") or getting on with the bot is no wish for a person, but
    asking to be called after it is one: it must not veto the request that follows."""
    assert not DETECTORS.negated(DETECTORS.canonical(text))


@pytest.mark.parametrize(
    "text",
    [
        "Honestly happy to keep going with the bot, quicker than any agent on the phone. My upgrade date?",
        "Je suis bien avec le bot, je me rappelle que le conseiller au téléphone était plus lent.",
        "Ich komme gut mit dem Chatbot zurecht, vielen Dank für Ihren Anruf letzte Woche.",
        "Quiero cambiar a la fibra, me llamo Ana y mi contrato es el 4471.",
        "Vorrei passare alla fibra, mi chiamo Paolo e ho già parlato con un operatore al telefono.",
        "Quero mudar para a fibra, já falei com a atendente por telefone ontem.",
    ],
)
def test_no_person_wanted_still_turns_down_without_a_call_asked_for(text: str) -> None:
    """A phone, a name ("mi chiamo", "me llamo"), remembering ("je me rappelle") or thanks for a call
    is no call asked for."""
    assert DETECTORS.negated(DETECTORS.canonical(text))
