"""What the bot reads in a message: language, entities, intents; its content files; and the evaluation
set's targets (deterministic: the same models on the same labelled set)."""

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from relais_bot.adapters import intent_training
from relais_bot.adapters.content_files import BUNDLED, ContentError, read_contents, read_cues
from relais_bot.domain.entities import extract
from relais_bot.domain.escalation import SENTENCE_HIGH, SURFACE_FLOOR, WITNESS_FLOOR, Detectors, Signals
from relais_bot.domain.escalation_model import CLASSES, HEADS, EscalationModel
from relais_bot.domain.intents import CharNgramClassifier, training_examples
from relais_bot.domain.language import normalise
from relais_bot.domain.normalizer import normalize
from relais_bot.domain.policy import Bot
from relais_bot.evaluation import DATA, evaluate

# The sensitive categories every tenant watches, as the tests ask the detectors for them.
_CATEGORIES = ("fraud", "vulnerability", "health", "privacy", "bereavement", "complaint")

pytestmark = pytest.mark.unit


def test_normalisation() -> None:
    assert normalise("Parler À  Quelqu’un") == "parler a quelqu'un"


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("je voudrais suivre ma commande", "fr"),
        ("where is my order please", "en"),
        ("dónde está mi pedido", "es"),
        ("wo ist meine Bestellung", "de"),
        ("dov'è il mio ordine", "it"),
        ("cadê meu pedido", "pt"),
        ("merci", "fr"),
    ],
)
def test_the_language_is_recognised(bot: Bot, text: str, language: str) -> None:
    assert bot.tenant("acme").languages.detect(text, None, None) == language


def test_a_short_message_keeps_the_conversations_language_and_a_hint_wins(bot: Bot) -> None:
    languages = bot.tenant("acme").languages
    assert languages.detect("ok", None, "de") == "de"
    assert languages.detect("anything at all", "fr-FR", None) == "fr"


def test_entities_for_the_agent() -> None:
    found = extract(
        "order #A123456 charged $35.50 yesterday, call me on +33 6 12 34 56 78 or jo@example.fr", "en"
    )
    assert [(e.kind, e.value) for e in found] == [
        ("order_number", "A123456"), ("amount", "$35.50"), ("date", "yesterday"),
        ("email", "jo@example.fr"), ("phone", "+33612345678"),
    ]  # fmt: skip
    assert [(e.kind, e.value) for e in extract("mon compte client 99887766", "fr")] == [
        ("account", "99887766")
    ]


def test_intents_of_plain_requests(bot: Bot) -> None:
    classifier = bot.tenant("acme").classifier
    assert classifier.classify("j'ai oublié mon mot de passe", "fr").intent == "account_access"
    assert classifier.classify("wann kommt mein paket", "de").intent == "delivery"
    assert classifier.classify("blorp", "en").confidence < 0.4  # unseen words are not an intent


def test_a_content_file_that_is_wrong_stops_the_start_with_the_reason(tmp_path: Path) -> None:
    demo = (BUNDLED / "demo.yaml").read_text()
    (tmp_path / "globex.yaml").write_text(
        demo.replace("tenant: demo", "tenant: globex").replace("    returned:", "    gone:")
    )
    with pytest.raises(ContentError, match=r"globex.yaml.*missing \['returned'\]"):
        read_contents(tmp_path)
    (tmp_path / "globex.yaml").write_text(demo)
    with pytest.raises(ContentError, match="declares tenant 'demo', expected 'globex'"):
        read_contents(tmp_path)


def test_a_tenant_file_adds_a_tenant(tmp_path: Path) -> None:
    demo = (BUNDLED / "demo.yaml").read_text()
    (tmp_path / "globex.yaml").write_text(
        demo.replace("tenant: demo", "tenant: globex").replace("bot_name: Relais", "bot_name: Globo")
    )
    contents = read_contents(BUNDLED, tmp_path)
    assert sorted(contents) == ["demo", "globex"]
    assert contents["globex"].bot_name == "Globo"


@pytest.mark.slow
def test_the_tuning_set_meets_its_targets() -> None:
    # Tuning data (the cues were written against it): a regression guard, not a quality claim; the
    # quality targets are asserted on blind sets in test_blind_sets.py.
    report = evaluate(DATA)
    assert report["items"] >= 400
    reasons = report["reasons"]
    assert reasons["customer-request"]["escalated"] >= 0.98
    assert report["no_person_needed"]["rate"] <= 0.02
    assert reasons["sensitive"]["recall"] >= 0.95
    assert reasons["frustration"]["recall"] >= 0.95


def test_the_classifiers_direct_arithmetic_is_sklearns(bot: Bot) -> None:
    classifier = bot.tenant("acme").classifier
    assert isinstance(classifier, CharNgramClassifier)
    # The reference: scikit-learn's own pipeline, fitted here on the same examples as the child process.
    pipeline = intent_training.fit(*training_examples(bot.tenant("acme").content))
    analyzer = pipeline.named_steps["ngrams"].build_analyzer()
    texts = ["ou est ma commande 123", "blorp", "wann kommt mein paket", "", "??", "merci beaucoup"]
    texts += ["  deux   espaces ", "a", "ab", "l'été 2024 à Zürich", "日本語のテキスト", "x\ty\nz"]
    for text in texts:
        plain, grams = classifier.ngrams(text)
        assert grams == analyzer(plain), text  # the same n-grams as scikit-learn's char_wb analyzer
        direct = classifier.probabilities(grams)
        assert np.allclose(direct, pipeline.predict_proba([plain])[0], atol=1e-9)


@pytest.mark.slow
def test_the_serving_process_trains_its_intents_without_importing_scikit_learn() -> None:
    script = (
        "import sys; from relais_bot.adapters.content_files import build_bot; build_bot(); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('sklearn', 'scipy')))"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


@pytest.mark.slow
def test_a_failed_intent_training_stops_the_start_up_with_its_reason(bot: Bot) -> None:
    content = bot.tenant("acme").content
    broken = content.model_copy(update={"intents": content.intents[:1]})  # one class: nothing to learn
    with pytest.raises(intent_training.TrainingError, match="class"):
        intent_training.train({"acme": broken})


def test_a_lexicon_cue_counts_only_where_the_model_agrees(bot: Bot) -> None:
    tenant = bot.tenant("demo")
    detectors = tenant.detectors
    without_model = Detectors(read_cues(), tenant.content.escalation.extra_human_request, model=None)
    for text in [
        "my laptop passed away lol, can i log in from my phone?",
        "my old router passed away lol, can you send a new one?",
    ]:
        # The lexicon alone matches a death; the model, trained on such traps, vetoes it.
        assert without_model.signals(text, "it", _CATEGORIES, 0.0).sensitive
        assert detectors.signals(text, "it", _CATEGORIES, 0.0).sensitive == ()
    for text in ["mon père est décédé la semaine dernière, comment fermer son compte ?",
                 "my husband passed away and the phone contract was in his name"]:  # fmt: skip
        assert "bereavement" in detectors.signals(text, "en", _CATEGORIES, 0.0).sensitive


def test_surface_frustration_detectors_count_only_where_the_model_finds_it_plausible(bot: Bot) -> None:
    tenant = bot.tenant("demo")
    without_model = Detectors(read_cues(), tenant.content.escalation.extra_human_request, model=None)
    praise = "Merci beaucoup, livraison rapide, jamais eu de souci avec vous 😊"  # praise, a let-down word
    assert without_model.signals(praise, "fr", (), 0.0).frustrated
    signals = tenant.detectors.signals(praise, "fr", (), -0.9)
    assert not signals.frustrated
    assert not signals.frustration_plausible
    # An eye-roll with thanks is irony whatever the words say.
    assert tenant.detectors.signals("génial, merci beaucoup pour votre aide 🙃", "fr", (), 0.5).frustrated
    angry = tenant.detectors.signals("third time I write, still nothing, this is a joke", "en", (), -0.7)
    assert angry.frustrated
    assert angry.frustration_plausible


CALL_ME_BACK = [
    "could someone call me back about my contract tomorrow",
    "merci de me rappeler au 06 12 34 56 78 après 18h",
    "Könnt ihr mich morgen früh zurückrufen? Bin auf Montage",
    "me pueden llamar esta tarde? es por la factura",
    "mi potete richiamare domani mattina per la bolletta?",
    "podem me ligar amanhã? é sobre a minha fatura",
]
NOT_CALL_ME_BACK = [
    "the driver will call me when he arrives, right?",
    "pouvez-vous me rappeler le montant de ma dernière facture ?",  # remind me
    "gibt es eine Rückrufaktion für mein Modell?",  # a product recall
    "you keep calling me every day with offers",
    "o técnico pode ligar o aparelho?",  # switch on
    "nn serve che mi richiamate, tutto risolto",
    "no need to call me back, the parcel came",
    "don't call me again please",
    # German names the callback with a noun: a "Rückruf" turned down, before or after, asks for none.
    "Kein Rückruf nötig, das Angebot bitte einfach per Mail. Danke",
    "Rückruf nicht nötig, hat sich erledigt",
    "keinen Rückruf bitte, lieber schriftlich",
]


def test_the_lexicon_reads_a_request_to_be_called_back_as_a_request_for_a_person(bot: Bot) -> None:
    detectors = bot.tenant("demo").detectors
    for text in CALL_ME_BACK:
        assert detectors.human_request(detectors.canonical(text)), text
    for text in NOT_CALL_ME_BACK:
        assert not detectors.human_request(detectors.canonical(text)), text


# Requests that name no "agent" or "person" verb-first: the company's person as the one who calls, a
# preference, being put through, whether a person is there, an appointment, someone from a department.
INDIRECT_REQUESTS = [
    "it would be great if one of your staff could give me a ring tomorrow",
    "I'd rather sort this out with a real person",
    "je préfère voir ça avec un humain, c'est possible ?",
    "je voudrais qu'un conseiller me rappelle demain matin",
    "prefiero que me llame un comercial para contratarlo",
    "solicito que un ejecutivo de cuenta me contacte",
    "gostava que um comercial me ligasse para aderir",
    "vorrei che un collega mi richiamasse nel pomeriggio",
    "bitte leiten Sie mein Anliegen an einen Mitarbeiter weiter",
    "ich hätte gern, dass mich ein Mitarbeiter zurückruft",
    "mi può trasferire a un operatore dell'assistenza",
    "¿me puede transferir con un supervisor?",
    "Grüezi, isch da en Mensch am Apparat?",
    "c'è una persona dall'altra parte?",
    "hay alguien ahí?",
    "can I book an appointment with an adviser at the branch?",
    "je voudrais un rendez-vous avec un conseiller",
    "can someone from your billing team look at this",
    "quelqu'un du service facturation peut regarder ?",
    "can you put me through to the lost property people please",
    "era para pedir que me transferissem para a parte técnica da fibra",
    "mi potete passare l'ufficio prenotazioni?",
    "pásame con el departamento de bajas",
    "Dá para chamar o seu superior?",
    "whos the next level up from you",
    "gibt's bei euch auch echte Leute oder nur den Bot?",
    "gibt es bei Ihnen überhaupt noch richtige Menschen?",
    "vocês têm gente de carne e osso aí?",
    "Ich hätte gerne Ihren Vorgesetzten gesprochen",
    # Zero, the operator in every phone menu, however it is typed.
    "0!!",
    "premo 0",
    "j'appuie sur 0",
    "0 please",
    "0 ... 0 ... ça marche pas comme au téléphone ici ?",
    "gibts bei euch noch menschen? paket hängt seit tagen",
    # Zero pressed after other keys or words, and where the person is, as if they ought to be there.
    "ho premuto uno, poi il due e adesso premo lo zero",
    "ich drück jetzt einfach die null",
    "onde é que está o atendente? já marquei tudo",
    "where's the human in all this",
    # Whether anyone real is there, in Quebec French and with words between; a callback in Italian.
    "Y'a-tu un vrai monde qui lit ça?",
    "is there anybody actually there or is this all automatic",
    "potreste ricontattarmi domani in mattinata?",
    # Not wanting to go on with the bot; a department; one's adviser; a supervisor; zeros in a row.
    "Não quero continuar com o assistente virtual. Pode pôr-me em contacto com um colaborador?",
    "no quiero seguir con el asistente virtual, prefiero que me llame alguien",
    "vous pouvez me passer le service réclamations ?",
    "vorrei parlare con l'ufficio reclami per il rimborso",
    "je voudrais un rendez-vous avec mon conseiller pour le prêt",
    "svp un superviseur",
    "0 0 0",
    # A meeting with the manager or the director, asked in the words of a letter.
    "I'd like to arrange a meeting with the branch manager about the new fees",
    "Je souhaiterais rencontrer le directeur de l'agence à propos des nouveaux tarifs",
    "me gustaría reunirme con la directora del centro para hablar de los horarios",
    "vorrei un appuntamento con il direttore della filiale per il mutuo",
    "gostaria de me reunir com o gerente da agência sobre o crédito",
    "ich hätte gern ein persönliches Gespräch mit der Filialleitung über die neuen Gebühren",
    "is there any possibility of meeting someone at your customer centre in person?",
    "pourriez-vous nous fixer un rendez-vous avec vous ou un autre conseiller ?",
    "merci de faire suivre à un membre de votre équipe du SAV",
    "je refuse de parler à une machine pour ce genre de problème",
    "preferirei parlarne a voce con un operatore",
    "can you send me to someone who can actually help",
    "will mit nem mitarbeiter reden",
    # Round 17 (blind z28): the person who handles the file, the one responsible, a passive transfer,
    # a call asked in the subjunctive, a role one could meet.
    "Est-ce que je peux écrire directement à la personne qui gère mon dossier de sinistre ?",
    "could I speak directly to the person handling my claim?",
    "¿puedo hablar con la persona que lleva mi expediente?",
    "posso scrivere direttamente alla persona che segue la mia pratica?",
    "posso falar com a pessoa que trata do meu processo?",
    "kann ich direkt mit dem Sachbearbeiter, der meinen Fall bearbeitet, sprechen?",
    "Wäre es möglich, dass wir uns mit dem zuständigen Hausverwalter zusammensetzen?",
    "hello yes I need to be put through to the billing department please",
    "Agradecia muito que um funcionário vosso me telefonasse para me explicar",
    "me gustaría que alguien de su equipo me llamara esta tarde",
    "I would be most grateful if one of your staff could telephone me at home",
    "Queria marcar um horário com meu gerente na agência da Savassi para abrir a conta",
]
NOT_REQUESTS = [
    "my colleague could call me about it tomorrow, he has the reference",  # the customer's own colleague
    "Is there a person-to-person option for sending parcels?",
    "can someone else collect my parcel?",
    "no need to call me back, the engineer came this morning",
    "pas besoin de me passer qui que ce soit, dites-moi juste l'horaire",
    "the technician will come tomorrow, what time?",
    "I work in human resources: can I add 40 employees to the business plan?",
    "recursos humanos?",
    "0,50 € per minute?",
    "my balance is 0",
    "digito lo 0 6 e poi il numero di casa?",  # a phone number, not the operator
    # "Operator" meaning the network a phone company runs on.
    "Vous êtes sur quel opérateur réseau ? Je veux savoir si ça capte chez moi",
    "which network operator do you use in Spain?",
    "qual operadora vocês usam? aqui na roça só pega uma",
    "su quale operatore vi appoggiate?",
    # Moving home, in the verb Italian also uses for a transfer.
    "mi trasferisco a Bologna dal primo del mese, come sposto il contratto del gas?",
    "vorrei annullare l'appuntamento con il consulente di venerdì, ho risolto",
    "the director of the film is brilliant, is it on your streaming plan?",
    # Sending someone is a visit (a technician, a meter reader), not a person to talk to.
    "do I take the final meter reading myself, or you'll send someone round?",
    "or will you send someone round to read the meter?",  # English "will", not German "will" (wants)
    "la directora del colegio nos mandó la lista de material, ¿tenéis estas mochilas?",
    # A verb and a person word on either side of a colon belong to two clauses.
    "ich möchte mich herzlich bedanken: die Mitarbeiterin an Ihrer Hotline war großartig",
    # Put through in the past is a story, the person handling a file named without a wish to reach them.
    "I was put through to billing last week and they sorted it, thanks",
    "la personne qui gère mon dossier m'a déjà répondu, merci, c'est réglé",
]


def test_the_lexicon_reads_indirect_requests_for_a_person(bot: Bot) -> None:
    detectors = bot.tenant("demo").detectors
    for text in INDIRECT_REQUESTS:
        assert detectors.human_request(detectors.canonical(text)), text
    for text in NOT_REQUESTS:
        canonical = detectors.canonical(text)
        assert not detectors.human_request(canonical) or detectors.negated(canonical), text


NO_PERSON_WANTED = [
    "happy to keep chatting with the bot, how do I change my PIN?",
    "ça me va très bien de continuer avec le chatbot",
    "estoy bien con el asistente virtual, gracias",
    "Ich komme mit dem Chatbot gut zurecht, danke!",
    "mi trovo bene a parlare con l'assistente virtuale",
    "tô de boa com o bot, como ativo a verificação em duas etapas?",
    "Sinceramente estou muito bem com o bot, é mais rápido que o telefone.",
    "Passt schon, ich schreib gern mit dem Bot weiter. Was kostet das Roaming?",
    "tô amando esse chat com o robô kkk nem preciso de atendente. qual o prazo de entrega?",
    "Não é preciso passar-me a ninguém, o assistente está a ajudar bem.",
    "je préfère continuer ici avec l'assistant virtuel",
    "Aucun besoin de me rappeler, un simple document par courriel suffira.",
    # Thanks to someone who already helped, and switching to a product, ask for nobody either.
    "Solo quería dar las gracias a la agente que me atendió por teléfono el mes pasado",
    "Die Mitarbeiterin an Ihrer Hotline hat mir letzten Monat großartig geholfen, danke!",
    "Nous souhaiterions passer à la fibre 1 Gb/s, est-elle disponible ?",
    "Ich möchte mich ausdrücklich bei Frau Yilmaz aus Ihrem Kundenservice bedanken, sie war sehr geduldig.",
    "Thanks so much to Mrs Patel for sorting my refund last week!",
    # Which number to call, for a purpose that names nobody: information, not a request.
    "welche Nummer muss ich anrufen, um meine Karte sperren zu lassen, falls sie mal verloren geht?",
    "which number do I call to block my card if I lose it?",
    "quel numéro dois-je appeler pour faire opposition sur ma carte ?",
    "¿a qué número tengo que llamar para bloquear la tarjeta si la pierdo?",
    "a che numero devo chiamare per bloccare la carta se la perdo?",
    "para que número tenho de ligar para bloquear o cartão se o perder?",
]


def test_unambiguous_request_frames_count_whatever_the_model_reads(bot: Bot) -> None:
    """A long story about a bill reads as routine to the model; zero pressed at its end still asks."""
    detectors = bot.tenant("demo").detectors
    story = (
        "sì salve è per la bolletta del gas che mi è arrivata di novecento euro a novembre quando di "
        "solito pago sui centoventi ehm il risponditore mi chiede il codice che non trovo"
    )
    assert not detectors.signals(story, "it", (), 0.0).human_request
    assert detectors.signals(story + " quindi digito zero ecco", "it", (), 0.0).human_request
    assert not detectors.signals(story + " e il costo è 0,50 al minuto", "it", (), 0.0).human_request
    booking = (
        "My fiancé and I booked a two-week package with you for our honeymoon next May. We'd like to add "
        "three nights in the hills and swap one of the beach hotels. "
    )
    assert not detectors.signals(booking, "en", (), 0.0).human_request
    meet = "Is there a travel consultant we could meet in your Leeds shop one Saturday?"
    assert detectors.signals(booking + meet, "en", (), 0.0).human_request


def test_a_letters_sign_off_is_no_thanks_to_a_person(bot: Bot) -> None:
    """Thanks and a title praise someone ("thanks to Mrs Ortiz", no person wanted); the same words as
    a letter's sign-off do not cancel the request above them."""
    detectors = bot.tenant("demo").detectors
    letter = (
        "Since the new smart meter the bills look different. I would be most grateful if one of your "
        "staff could telephone me at home.\n\nWith thanks in advance,\n\nMrs Joan Pritchard"
    )
    assert detectors.signals(letter, "en", (), 0.0).human_request
    assert detectors.negated(detectors.canonical("I want to thank Mrs Ortiz who looked after me so well"))


def test_a_customer_who_wants_no_person_is_not_handed_over(bot: Bot) -> None:
    detectors = bot.tenant("demo").detectors
    for text in NO_PERSON_WANTED:
        assert detectors.negated(detectors.canonical(text)), text
        assert not detectors.signals(text, "en", (), 0.0).human_request, text
    # The number to reach a person or a team by is asked for that person.
    for text in (
        "what number do I call to speak to the bookings team directly",
        "Welche Nummer muss ich wählen, um bei euch wirklich einen Menschen dranzuhaben?",
    ):
        assert not detectors.negated(detectors.canonical(text)), text


def test_a_negation_holds_until_the_end_of_its_clause(bot: Bot) -> None:
    detectors = bot.tenant("demo").detectors
    assert detectors.negated(detectors.canonical("no need for an agent today"))
    assert detectors.negated(detectors.canonical("pas la peine de me rappeler"))
    assert not detectors.negated(detectors.canonical("no thanks, I want an agent"))
    assert not detectors.negated(detectors.canonical("I don't need a bot, I want an agent"))


def test_what_is_said_last_about_a_person_decides(bot: Bot) -> None:
    """A talk declined a clause before ("sem conversar antes") does not turn down the person asked for
    after it; a person declined after another mention still is."""
    detectors = bot.tenant("demo").detectors
    for text in (
        "não quero fazer nada pelo aplicativo sem conversar antes eh tem como falar com uma pessoa",
        "je ne veux rien signer sans en parler avant euh je peux avoir un conseiller",
        "ich will nichts ohne Rücksprache machen also kann ich mit einem Mitarbeiter sprechen",
    ):
        assert not detectors.negated(detectors.canonical(text)), text
    for text in (
        "I wanted to ask for an agent but no need for an agent now, found it",
        "talk to a person? no thanks, no need to call me back",
    ):
        assert detectors.negated(detectors.canonical(text)), text


def test_a_request_that_closes_a_long_message_is_read_in_its_own_sentence(bot: Bot) -> None:
    """The story before it does not drown the request: the model reads each sentence too."""
    detectors = bot.tenant("demo").detectors
    story = (
        "El paquete llegó abierto y falta uno de los dos auriculares, y encima la factura está a nombre "
        "de otra empresa, que no es la mía, y la caja venía mojada por un lado. "
    )
    request = "Preferiría que me llamara un compañero vuestro para aclararlo todo."
    signals = detectors.signals(story + request, "es", ("fraud",), 0.0)
    assert signals.human_request
    assert not detectors.signals(story, "es", ("fraud",), 0.0).human_request


class _SentenceModel(EscalationModel):
    """The request head's probability per normalized sentence, from a table, and one frustration
    probability for every text; everything else routine."""

    def __init__(
        self,
        request: dict[str, float],
        frustration: float = 0.0,
        frustration_in: dict[str, float] | None = None,
    ) -> None:
        high, low = dict.fromkeys(HEADS, 0.75), dict.fromkeys(HEADS, 0.5)
        super().__init__([], np.zeros(0), np.zeros((len(CLASSES), 0)), np.zeros(len(CLASSES)), high, low, {})
        self._request, self._frustration = request, frustration
        self._frustration_in = frustration_in or {}  # a word -> the frustration of any text that has it

    def probabilities(self, normalized: str) -> np.ndarray:
        values = np.zeros(len(HEADS))
        # Any text not in the table (the whole message) finds a request just conceivable, so that its
        # sentences are read alone.
        values[HEADS.index("customer-request")] = self._request.get(normalized, WITNESS_FLOOR)
        values[HEADS.index("frustration")] = max(
            [self._frustration, *(p for w, p in self._frustration_in.items() if w in normalized.split())]
        )
        return values


def test_insults_to_the_bot_and_shouted_questions_are_frustration(bot: Bot) -> None:
    detectors = bot.tenant("demo").detectors
    for text in (
        "Euer Chatbot ist der letzte Mist",
        "sto bot non capisce una mazza",
        "your bot is completely useless",
    ):
        assert detectors.signals(text, "en", (), 0.0).frustrated, text
    # Marks alone are no capitals; an angry word turned down is no anger.
    for text in (
        "URGENT!!! Bis wann muss ich das Ticket kündigen, damit es im Januar nicht abgebucht wird?",
        "Not angry at all, just curious: why is the August bill higher than July?",
    ):
        assert not detectors.signals(text, "en", (), 0.0).frustrated, text
    assert detectors.frustration("i am angry", "en")[0]
    assert not detectors.frustration("i am not angry at all", "en")[0]
    assert detectors.frustration("ca m'enerve", "fr")[0]
    assert not detectors.frustration("sans m'enerver, quel est le delai ?", "fr")[0]


def test_shouted_questions_need_only_what_a_cue_needs_of_the_model() -> None:
    shouted = "WARUM IST MEIN KONTO GESPERRT WENN ICH NUR MEIN PASSWORT GEÄNDERT HABE?????"

    def frustrated(text: str, frustration: float) -> bool:
        model = _SentenceModel({}, frustration=frustration)
        return Detectors(read_cues(), (), model=model).signals(text, "de", (), 0.0).frustrated

    assert frustrated(shouted, 0.2)  # below SURFACE_FLOOR, within what a cue needs
    assert not frustrated(shouted, 0.0)
    assert not frustrated(shouted.lower(), 0.2)  # the marks alone are no capitals


def test_an_eye_roll_or_praise_in_scare_quotes_needs_only_a_cues_share_of_the_model() -> None:
    def frustrated(text: str, frustration: float) -> bool:
        model = _SentenceModel({}, frustration=frustration)
        return Detectors(read_cues(), (), model=model).signals(text, "fr", (), 0.0).frustrated

    for text in (
        "Mein Paket macht eine Deutschlandreise 🙄 Hamburg, Kassel, wieder Hamburg",
        "Bravo pour la nouvelle « amélioration » du site : sept clics pour une facture",
    ):
        assert frustrated(text, 0.2), text  # below SURFACE_FLOOR, within what a cue needs
        assert not frustrated(text, 0.0), text


def test_a_date_is_no_end_of_sentence(bot: Bot) -> None:
    """German dates and ordinals end with a point ("vor dem 20. Dezember"): a sentence cut there reads
    as a question of its own ("Können Sie mir sagen, ob es vor dem 20.") and looks like a request."""
    detectors = bot.tenant("demo").detectors
    text = (
        "Ich habe vor drei Wochen ein Set als Geschenk bestellt. Können Sie mir sagen, ob es realistisch "
        "vor dem 20. Dezember ankommt? Sonst müsste ich mir einen Plan B überlegen."
    )
    assert not detectors.signals(text, "de", (), 0.0).human_request


def test_scare_quotes_are_irony_where_the_model_finds_frustration_plausible() -> None:
    text = "Dank Ihrer „schnellen“ Bearbeitung warte ich seit sieben Wochen auf die Erstattung."

    def frustrated(frustration: float) -> bool:
        model = _SentenceModel({}, frustration=frustration)
        return Detectors(read_cues(), (), model=model).signals(text, "de", (), 0.0).frustrated

    assert frustrated(SURFACE_FLOOR)
    assert not frustrated(SURFACE_FLOOR - 0.05)
    # A title or a name in quotes starts with a capital: no irony.
    title = "Ieri volevo rivedere “Assassinio sull'Orient Express” ma non è più nel catalogo."
    model = _SentenceModel({}, frustration=SURFACE_FLOOR)
    assert not Detectors(read_cues(), (), model=model).signals(title, "it", (), 0.0).frustrated


def test_in_a_story_frustration_read_from_the_surface_needs_two_sentences() -> None:
    """An anecdote sits in one sentence of a long message; anger at the company runs through several."""
    story = [
        "Nous marions notre fille en juin au bord du lac.",
        "Toute la famille vient de loin pour l'occasion.",
        "Il faudra une trentaine de chambres pour deux nuits.",
        "Pouvez-vous m'envoyer vos tarifs de groupe ?",
    ]

    def frustrated(sentences: list[str], angry: tuple[str, ...]) -> bool:
        model = _SentenceModel({}, frustration_in=dict.fromkeys(angry, 0.9))
        return Detectors(read_cues(), (), model=model).signals(" ".join(sentences), "fr", (), 0.0).frustrated

    assert not frustrated(story, ("famille",))  # the whole message reads 0.9, one sentence of four
    assert frustrated(story, ("famille", "chambres"))
    assert frustrated(story[1:], ("famille",))  # three sentences: no story
    # Said in so many words, frustration needs no spread.
    assert frustrated([*story[:3], "C'est inadmissible, trois semaines sans réponse."], ("famille",))


def test_a_common_word_one_letter_from_a_person_word_is_not_corrected(bot: Bot) -> None:
    detectors = bot.tenant("demo").detectors
    for text, word in (
        ("ho perso il telefono", "perso"),
        ("tem algum lugar onde deixar uma avaliação?", "algum"),
        ("on peut manger dans le train ?", "manger"),
        ("where is the manage booking page", "manage"),
    ):
        assert word in detectors.canonical(text).split(), text
    assert not detectors.human_request(detectors.canonical("tem algum lugar onde deixar uma avaliação?"))
    # A typo of a person word still is one.
    assert "conseiller" in detectors.canonical("je veux un conseiler").split()


def test_venting_about_someone_else_then_not_your_fault_is_no_frustration() -> None:
    """What the customer vented before "not your fault" / "rien à voir avec vous" is about someone else;
    only what follows counts. (A model that reads the vented words as angry, whatever surrounds them.)"""
    angry = dict.fromkeys(("cried", "horrible", "pianto", "ridiculous"), 0.95)
    detectors = Detectors(read_cues(), (), model=_SentenceModel({}, frustration_in=angry))
    vent = "I cried at the finale, terrible writing, "
    assert detectors.signals(vent + "can I watch on two TVs?", "en", (), 0.0).frustrated
    for text, language in (
        (vent + "anyway not your fault obviously, can I watch on two TVs?", "en"),
        ("journée horrible au boulot, rien à voir avec vous, vous avez le manteau en taille M ?", "fr"),
        ("ho pianto tutta la sera per il finale, non è colpa vostra, posso vederlo su due tv?", "it"),
        ("ho pianto tutta la sera per il finale 😂 comunque: posso vederlo su due tv?", "it"),
        ("I cried at the finale, terrible writing. Quoi qu'il en soit, can I watch on two TVs?", "en"),
        ("Hab geweint beim Finale, horrible! egal. Andere Frage: geht das auf zwei Fernsehern?", "de"),
    ):
        assert not detectors.signals(text, language, (), 0.0).frustrated, text
    # After the aside, anger still counts; so does an insult to the bot anywhere.
    for text in (
        "I know it's not your fault but this is ridiculous, three weeks without internet",
        vent + "not your fault, but your bot is completely useless",
    ):
        assert detectors.signals(text, "en", (), 0.0).frustrated, text


def test_not_wanting_the_machine_is_asking_for_a_person(bot: Bot) -> None:
    detectors = bot.tenant("demo").detectors
    for text, language in (
        ("um yeah i don't really want to do this with the robot thing it's about a parcel", "en"),
        ("no no no con la máquina no eh es que el paquete no llegó", "es"),
        ("ähm nee also ich möchte das nicht mit dem Sprachcomputer machen es geht um eine Bahnfahrt", "de"),
        ("non voglio parlare con la macchina, è per una bolletta", "it"),
    ):
        assert detectors.signals(text, language, (), 0.0).human_request, text


def test_a_negated_content_with_the_bot_wants_a_person(bot: Bot) -> None:
    detectors = bot.tenant("demo").detectors
    assert detectors.negated(detectors.canonical("happy to keep chatting with the bot"))
    assert not detectors.negated(detectors.canonical("no quiero seguir con el asistente virtual"))
    assert not detectors.negated(detectors.canonical("je ne suis pas content avec le bot"))


def test_praise_is_irony_where_the_model_finds_frustration_plausible() -> None:
    praise = "Ottimo lavoro, complimenti: sei passaggi per trovare una bolletta."

    def frustrated(model: EscalationModel | None) -> bool:
        return Detectors(read_cues(), (), model=model).signals(praise, "it", (), 0.0).frustrated

    assert frustrated(_SentenceModel({}, frustration=SURFACE_FLOOR))
    assert not frustrated(_SentenceModel({}, frustration=SURFACE_FLOOR - 0.05))
    # Without a model, praise needs a let-down word in the same breath.
    assert not frustrated(None)


def test_one_sentence_read_alone_hands_over_only_when_it_is_clear(bot: Bot) -> None:
    """A sentence alone is a noisier witness than the whole message: above the model's threshold but
    short of SENTENCE_HIGH it makes the bot ask; a salutation is never read alone."""
    story = "Das Paket kam beschädigt an und die Rechnung stimmt auch nicht.\n\n"

    def signals(line: str, score: float) -> Signals:
        model = _SentenceModel({normalize(line): score})
        detectors = Detectors(read_cues(), (), model=model)
        return detectors.signals(story + line, "de", (), 0.0)

    clear = signals("Können wir das zusammen klären?", SENTENCE_HIGH)
    assert clear.human_request
    assert not clear.unsure_request
    noisy = signals("Bitte senden Sie mir eine neue zu.", SENTENCE_HIGH - 0.05)
    assert not noisy.human_request
    assert noisy.unsure_request
    salutation = signals("Sehr geehrtes Kundenservice-Team,", 0.99)
    assert not salutation.human_request
    assert not salutation.unsure_request


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("my husband's just had a stroke, what do we do about the flight tickets", "health"),
        ("ma fille fait sa dialyse à la maison, il y a un tarif ?", "health"),
        ("bin seit kurzem insulinpflichtig, was muss ich einreichen?", "health"),
        ("estoy con reposo por amenaza de parto prematuro, se puede cambiar la cita?", "health"),
        ("just moved into a refuge with the kids, don't send post to the old address", "vulnerability"),
        ("sono sorda e non posso usare il numero verde", "vulnerability"),
        ("tengo ochenta y cuatro años y vivo sola, no entiendo el correo", "vulnerability"),
        # Thoughts of not living any more, however quietly they are told.
        ("às vezes acho que seria melhor sumir, não dou conta das contas", "vulnerability"),
        ("ich will nicht mehr leben, die Rechnungen stapeln sich", "vulnerability"),
        ("bin gehörlos, bitte nur schriftlich kontaktieren", "vulnerability"),
        ("my mum is 89 and lives on her own, can her bills come to me?", "vulnerability"),
        ("a minha mulher está a fazer radioterapia, podem adiar a entrega?", "health"),
        (
            "Kann ich den Vertrag ruhen lassen? Nach meiner Bandscheiben-OP darf ich nicht trainieren.",
            "health",
        ),
        ("dá pra trancar a matrícula? vou operar o joelho", "health"),
        ("ich bin Typ-1-Diabetikerin und das Insulin im Paket muss gekühlt sein", "health"),
        ("la semaine dernière j'ai perdu le bébé, comment annuler la commande du berceau ?", "health"),
        ("ma mère a 88 ans, elle n'entend presque plus rien au téléphone", "vulnerability"),
        # A theft, in each language's word order: a letter about the SIM card reads calm to the model.
        ("mir wurde gestern Abend am Bahnhof mein Handy gestohlen, bitte sperren Sie die SIM", "fraud"),
        ("on m'a volé mon portefeuille avec ma carte dedans", "fraud"),
        ("me robaron el móvil en el autobús, qué hago con la línea", "fraud"),
        ("mi hanno rubato la borsa con il bancomat dentro", "fraud"),
        ("roubaram-me a carteira com o cartão", "fraud"),
        ("la mia carta è stata rubata stamattina", "fraud"),
        ("someone stole my phone at the station last night", "fraud"),
        # A suicide attempt, told as the reason to pause a contract.
        ("mein Sohn hat versucht, sich das Leben zu nehmen, kann ich die Karte stilllegen?", "vulnerability"),
        ("my brother tried to kill himself last month, can his contract be paused?", "vulnerability"),
        ("mi hermano intentó quitarse la vida, ¿se puede suspender la línea?", "vulnerability"),
        # The company's people using the customer's data for themselves (blind z28).
        (
            "Der Fahrer hat mir privat geschrieben, er hatte meine Nummer ja nur aus Ihrem Lieferschein.",
            "privacy",
        ),
        ("the courier texted me privately, he got my number from your delivery note", "privacy"),
        ("el repartidor me escribió por WhatsApp, sacó mi número del albarán", "privacy"),
        ("o técnico tirou o meu número da vossa ficha e anda a mandar-me mensagens", "privacy"),
        # Round 18 (blind z29): blindness in the feminine, a screen reader; a stroke with its article.
        ("Soy ciega desde hace doce años y el PDF no funciona con mi lector de pantalla", "vulnerability"),
        ("I use a screen reader and your PDF bills don't work with it", "vulnerability"),
        ("mon père a fait un AVC la semaine dernière, pouvez-vous suspendre son abonnement ?", "health"),
        ("mi madre tuvo un ictus, ¿podéis pasar las facturas a mi nombre?", "health"),
    ],
)
def test_unambiguous_situations_count_whatever_the_model_reads(bot: Bot, text: str, category: str) -> None:
    """Told in passing before a practical question, the model reads them as routine; the wording is
    used by no routine question, so it counts alone."""
    detectors = bot.tenant("demo").detectors
    assert category in detectors.signals(text, "en", _CATEGORIES, 0.0).sensitive


def test_a_sensitive_word_about_someone_else_or_a_trade_is_routine(bot: Bot) -> None:
    """A sensitive cue needs more of the model than other cues (SENSITIVE_CUE_FLOOR): the words come
    up in routine messages about someone else, the past or a trade, which the model reads as such."""
    detectors = bot.tenant("demo").detectors
    for text in (
        "We're a family-run funeral home: could our invoices be addressed to the limited company?",
        "Our office manager is off sick this month so I'm covering: where do I submit the meter reading?",
    ):
        assert not detectors.signals(text, "en", _CATEGORIES, 0.0).sensitive, text
    mine = "my mum died last week, her phone contract is in her name"
    assert detectors.signals(mine, "en", _CATEGORIES, 0.0).sensitive


def test_a_request_for_a_person_does_not_make_every_stray_word_a_situation(bot: Bot) -> None:
    """A request takes the model's mass from routine, and the cue floor weighs a category against
    routine only: a category the model gives under 1 % (SENSITIVE_CATEGORY_MIN) keeps its cue from
    counting. A delicate story told with a request keeps several percent and still counts."""
    detectors = bot.tenant("demo").detectors
    school_trip = (
        "Ich plane die Abschlussfahrt unserer zehnten Klassen. Bei so vielen Fragen (Aufsichtspflicht, "
        "Stornoregeln, falls Kinder krank werden) möchte ich ungern alles über ein Formular abwickeln. "
        "Gibt es bei Ihnen einen festen Ansprechpartner, mit dem ich persönlich telefonieren könnte?"
    )
    signals = detectors.signals(school_trip, "de", _CATEGORIES, 0.0)
    assert signals.human_request
    assert not signals.sensitive
    bereaved = detectors.signals("my husband passed away, I want to talk to an agent", "en", _CATEGORIES, 0.0)
    assert bereaved.human_request
    assert "bereavement" in bereaved.sensitive


@pytest.mark.parametrize(
    ("text", "language", "category"),
    [
        # Round 17 (blind z28): the customer's debt told to a neighbour, a lawyer named in the feminine,
        # a child's eating disorder in a clinic.
        (
            "¿Por qué mi vecina sabe que tengo un recibo pendiente con ustedes? La llamaron de su empresa "
            "de cobros y le contaron la cantidad. Eso no puede ser.",
            "es",
            "privacy",
        ),
        (
            "J'ai transmis l'intégralité du dossier à mon avocate, qui prendra contact avec votre service "
            "juridique dans les prochains jours.",
            "fr",
            "complaint",
        ),
        (
            "meine Tochter (17) ist wegen einer schweren Essstörung seit letzter Woche stationär in einer "
            "Klinik, es war lebensbedrohlich. Ich wollte Ihnen einfach Bescheid geben.",
            "de",
            "health",
        ),
    ],
)
def test_situations_of_round_17(bot: Bot, text: str, language: str, category: str) -> None:
    detectors = bot.tenant("demo").detectors
    assert category in detectors.signals(text, language, _CATEGORIES, 0.0).sensitive, text


@pytest.mark.parametrize(
    ("text", "language", "category"),
    [
        ("Oi, perdi o emprego mês passado e não tô conseguindo pagar a fatura", "pt", "vulnerability"),
        ("Where exactly did you get my mobile number? I never gave it to you", "en", "privacy"),
        ("devo fare la chemio da gennaio, l'assicurazione copre le visite?", "it", "health"),
        ("chiamo per mia sorella che è sorda, potete scriverle?", "it", "vulnerability"),
        ("Mein Mann ist gehörlos, kann er den Vertrag per Chat ändern?", "de", "vulnerability"),
        ("mon père ne voit presque plus, il a signé un contrat sans le lire", "fr", "vulnerability"),
        ("I've been off work with depression and the bills are piling up", "en", "health"),
        ("sono stata dimessa ieri dopo l'operazione, non posso scendere a ritirare il pacco", "it", "health"),
        ("I got another customer's statement in my post, with their account number on it", "en", "privacy"),
        ("fui demitido mês passado e as parcelas estão atrasadas, dá pra renegociar?", "pt", "vulnerability"),
        ("ho ricevuto la mail di cambio password ma io non ho cambiato nulla", "it", "fraud"),
        (
            "Ich pflege meine demente Mutter, wie bekomme ich eine Vollmacht für ihr Konto?",
            "de",
            "vulnerability",
        ),
        ("ya puse una queja en profeco por el cobro, tienen el folio?", "es", "complaint"),
        # A regulator named as the next step, in each language.
        ("Ya les he mandado un burofax. Lo siguiente será el Banco de España.", "es", "complaint"),
        ("si rien ne bouge je vais saisir l'Arcep", "fr", "complaint"),
        ("I will be complaining to Ofcom about this", "en", "complaint"),
        ("Ich werde die Bundesnetzagentur einschalten", "de", "complaint"),
        ("ho fatto ricorso al Corecom per la linea staccata", "it", "complaint"),
        ("vou fazer queixa na ANACOM", "pt", "complaint"),
        ("caso contrário será ajuizada ação de indenização por danos morais", "pt", "complaint"),
        ("Notre fille Léa, 17 ans, est morte dans un accident le mois dernier", "fr", "bereavement"),
        ("mein Sohn ist in einer psychiatrischen Klinik, kann ich pausieren?", "de", "health"),
        ("j'aimerais savoir où vous avez eu mon numéro, je suis sur Bloctel", "fr", "privacy"),
        ("im Umschlag lag die Abrechnung einer anderen Kundin, mit Bankverbindung", "de", "privacy"),
        ("caí num golpe do pix ontem, o que faço?", "pt", "fraud"),
        ("my handbag was taken on the bus with my phone in it, can you stop the cards", "en", "fraud"),
        ("alguien ha entrado en mi cuenta y ha hecho dos pedidos", "es", "fraud"),
        (
            "desde que cerraron la fábrica estoy en el paro, puedo fraccionar la factura?",
            "es",
            "vulnerability",
        ),
    ],
)
def test_situations_told_in_other_words(bot: Bot, text: str, language: str, category: str) -> None:
    assert category in bot.tenant("demo").detectors.signals(text, language, _CATEGORIES, 0.0).sensitive


def test_a_laugh_makes_a_delicate_word_a_figure_of_speech(bot: Bot) -> None:
    """Without the model the cues decide alone: the same word with a laugh is no bereavement."""
    tenant = bot.tenant("demo")
    cues_only = Detectors(read_cues(), tenant.content.escalation.extra_human_request, model=None)
    categories = ("bereavement",)
    assert cues_only.signals("mein Vater ist gestorben, wie kündige ich?", "de", categories, 0.0).sensitive
    assert not cues_only.signals(
        "bin fast gestorben vor Lachen 😂 wie kündige ich?", "de", categories, 0.0
    ).sensitive


def test_frustration_told_by_counts_idioms_and_emoji(bot: Bot) -> None:
    detectors = bot.tenant("demo").detectors
    for text, language in (
        ("Drei E-Mails, zwei Anrufe, null Antworten.", "de"),
        ("Premium genommen, heute um 21 Uhr zu. Danke für nix", "de"),
        ("love how the app has said 'your order is on its way' for 9 days now 🙃", "en"),
    ):
        assert detectors.signals(text, language, (), 0.0).frustrated, text


def test_a_theft_turned_down_or_a_regulator_named_in_passing_is_no_cue() -> None:
    """The cues alone: a theft denied is none, and a regulator named as a reference (its simulator, the
    company's licence) is no complaint; the regulator as the customer's next step is."""
    cues = read_cues()
    theft = re.compile(cues.unambiguous()["fraud"])
    for text in (
        "meine karte wurde nicht gestohlen, nur verloren",
        "ma carte n'a pas ete volee, je l'ai retrouvee",
        "mi tarjeta no fue robada, estaba en el coche",
        "my phone is not stolen, just lost",
    ):
        assert not theft.search(text), text
    complaint = re.compile(cues.sensitive["complaint"])
    for text in (
        "os resultados nao batem certo com os da erse",
        "are you regulated by the fca?",
        "c'est l'arcep qui publie la carte de couverture ?",
    ):
        assert not complaint.search(text), text
    assert complaint.search("lo siguiente sera el banco de espana")
    # Portuguese "golpe" is a scam; Spanish "golpe" is a dent in a car.
    fraud = re.compile(cues.sensitive["fraud"])
    assert not fraud.search("tuve un pequeno golpe con el coche, el seguro cubre la chapa?")
    assert fraud.search("cai num golpe do pix")


def test_unambiguous_situations_leave_routine_alone(bot: Bot) -> None:
    detectors = bot.tenant("demo").detectors
    for text in (
        "je suis médecin aux urgences, livraison possible l'après-midi ?",
        "my grandmother is 85 and loves your shop, do you sell gift cards?",
        "la stroke rate of the rowing machine in the gym, how do I see it?",
    ):
        assert not detectors.signals(text, "en", _CATEGORIES, 0.0).sensitive, text


def test_repeated_reports_and_a_threat_to_leave_read_as_frustration(bot: Bot) -> None:
    detectors = bot.tenant("demo").detectors
    for text in (
        "È la terza segnalazione che facciamo per lo stesso addebito",
        "Wir haben das nun dreimal gemeldet",
        "C'est la troisième relance pour une facture déjà réglée",
        "this is my fourth email about the same refund",
    ):
        assert detectors.repeated_contact(normalise(text)), text
    for text, language in (
        ("Sto pensando di passare a un altro gestore", "it"),
        ("appena scade il vincolo cambio gestore", "it"),
        # Never buying again, and what the money is for, said to the company.
        ("Ich überlege ernsthaft, nicht mehr bei Ihnen zu bestellen.", "de"),
        ("that's the last straw, I'll never order from you again", "en"),
        ("je ne commanderai plus jamais chez vous", "fr"),
        ("no vuelvo a comprar con ustedes", "es"),
        ("non ordinerò mai più da voi", "it"),
        ("nunca mais vos compro nada", "pt"),
        ("Comme hier. Je paie l'abonnement pour quoi exactement ?", "fr"),
        ("Again. What exactly am I paying for?", "en"),
        ("wofür zahle ich eigentlich jeden Monat?", "de"),
        ("¿para qué os pago entonces?", "es"),
        ("pago l'abbonamento per cosa, scusate?", "it"),
        ("pago a mensalidade para quê?", "pt"),
        ("ICH HABE DIE NASE GESTRICHEN VOLL", "de"),
        ("je vole avec vous depuis des années, mais là vous avez dépassé les bornes", "fr"),
        ("je suis épuisée de courir après vous", "fr"),
        ("me voy a un banco online, así de claro", "es"),
        ("sto valutando seriamente di passare a una banca online", "it"),
        ("vou mudar para outro banco", "pt"),
        # Round 17 (blind z28): tired of chasing, the last order, leaving at the contract's end, "enough".
        ("Ich bin es ehrlich gesagt leid, Ihnen hinterherzulaufen.", "de"),
        ("Das war meine letzte Bestellung bei Ihnen.", "de"),
        ("that was my last order with you", "en"),
        ("c'était ma dernière commande chez vous", "fr"),
        ("fue mi último pedido con ustedes", "es"),
        ("è stato il mio ultimo ordine da voi", "it"),
        ("Quando acabar o período de fidelização, saio.", "pt"),
        ("en cuanto acabe la permanencia me voy", "es"),
        ("as soon as my contract ends I'm leaving", "en"),
        ("cancelem meu plano. chega. sinal zero ha 3 meses", "pt"),
    ):
        assert detectors.frustration(normalise(text), language)[0], text
    for text, language in (
        ("my mum said she'd never order online again, you proved her wrong", "en"),
        ("je paie comment, par carte ou virement ?", "fr"),
        # Someone else's anger, told as the story of a claim.
        ("meine Tochter war gestern so wütend auf ihren Bruder, jetzt ist das Display kaputt", "de"),
        ("my son was absolutely furious after his team lost, he kicked the ball through the window", "en"),
        ("Es tut mir leid, ich habe mich bei der Adresse vertippt.", "de"),
        ("quando chega a encomenda? já paguei", "pt"),
        ("this is my last order before we move abroad, can it go to my sister's?", "en"),
    ):
        assert not detectors.frustration(normalise(text), language)[0], text
    assert detectors.frustration(normalise("my husband is furious with you, the bill doubled"), "en")[0]
    assert detectors.sarcasm("parabens pelo app novo agora nem login eu consigo")


def test_round_19_threats_to_leave_counts_and_congratulations(bot: Bot) -> None:
    """Blind z31: weighing whether to stay, seriously considering leaving, photos sent twice; mails the
    customer received are no repeated contact; a congratulation alone closing a letter is irony."""
    detectors = bot.tenant("demo").detectors
    for text, language in (
        ("Me estoy planteando muy seriamente cambiar de compañía en la próxima renovación.", "es"),
        ("Na próxima renovação vou pensar muito bem se continuo convosco.", "pt"),
        ("Ya tengo otra oferta. En cuanto pueda, me cambio.", "es"),
        ("I'm seriously considering switching after this.", "en"),
        ("J'envisage sérieusement de changer d'assureur.", "fr"),
        ("Ich überlege ernsthaft, den Anbieter zu wechseln.", "de"),
        ("Sto valutando seriamente di cambiare compagnia.", "it"),
        ("No pienso volver a volar con ustedes.", "es"),
        ("Não volto a voar convosco.", "pt"),
    ):
        assert detectors.frustration(normalise(text), language)[0], text
    for text, language in (
        ("estoy pensando en cambiar de tarifa, ¿cuál me recomendáis?", "es"),
        ("I'm thinking of cancelling my membership because I'm moving to Leeds", "en"),
        ("¿Podéis cambiar de banco la domiciliación del recibo?", "es"),
    ):
        assert not detectors.frustration(normalise(text), language)[0], text
    assert detectors.repeated_contact(normalise("Ya os mandé las fotos de la lámpara rota DOS veces"))
    assert detectors.repeated_contact(normalise("I've sent you the receipt twice"))
    for text in (
        "Ce matin, j'ai reçu trois mails de confirmation de commande.",
        "I got two emails saying it had shipped",
        "he recibido tres correos automáticos",
    ):
        assert not detectors.repeated_contact(normalise(text)), text
    assert detectors.congratulated("Pedí un 42. Llegó un 38. Otra vez un 38.\n\nEnhorabuena.\n\nMarta")
    assert detectors.congratulated("Três semanas sem o tênis.\n\nParabéns pelo trabalho.\n\nCamila")
    assert not detectors.congratulated("Congratulations on the new shop in Leeds, it looks great.")
    assert not detectors.congratulated("Thanks a lot.\n\nCheers,\nTom")


@pytest.mark.parametrize(
    ("text", "language", "category"),
    [
        # Blind z31: unemployment benefit, a collective dismissal, a payment the customer will not manage.
        (
            "La fábrica cerró por un ERE y ahora estoy cobrando el paro. La cuota de la hipoteca se me va a "
            "hacer imposible durante unos meses. ¿Hay alguna carencia?",
            "es",
            "vulnerability",
        ),
        ("I lost hours at work and I won't be able to pay this month's bill in full", "en", "vulnerability"),
        ("je ne vais pas pouvoir payer la facture de janvier, j'ai perdu mon CDD", "fr", "vulnerability"),
        ("sono in cassa integrazione da ottobre, non riuscirò a pagare la rata", "it", "vulnerability"),
        ("não vou conseguir pagar a prestação este mês, fiquei sem trabalho", "pt", "vulnerability"),
    ],
)
def test_situations_of_round_19(bot: Bot, text: str, language: str, category: str) -> None:
    assert category in bot.tenant("demo").detectors.signals(text, language, _CATEGORIES, 0.0).sensitive, text


def test_a_hospital_that_is_the_workplace_and_call_forwarding_ask_for_nobody(bot: Bot) -> None:
    """The hospital where the customer works is no stay there; call forwarding is a line's feature."""
    detectors = bot.tenant("demo").detectors
    for text, language in (
        ("desde enero voy a trabajar por turnos en el hospital, ¿puedo cambiar de cuota?", "es"),
        ("I work nights at the hospital, can I move my delivery slot to the afternoon?", "en"),
        ("ich arbeite im Krankenhaus im Schichtdienst, kann ich den Termin verschieben?", "de"),
    ):
        assert "health" not in detectors.signals(text, language, _CATEGORIES, 0.0).sensitive, text
    assert (
        "health"
        in detectors.signals(
            "my husband is in the hospital since Monday, can I pay his bill?", "en", _CATEGORIES, 0.0
        ).sensitive
    )
    assert "callforwarding" in normalize("Vorrei l'inoltro di chiamata dal fisso dell'ufficio alla SIM")
    assert "callforwarding" in normalize("je voudrais activer le renvoi d'appel vers mon portable")


def test_round_20_call_backs_asked_of_a_team_keepsakes_and_amounts(bot: Bot) -> None:
    """Blind z32: a team asked to call the customer, in six languages; a late wife's dress and "my late
    husband and I" are background, her savings account is not; an amount is no age; a GP's surgery is a
    place; rubbish said of the app and a threat to leave if it happens again are frustration."""
    detectors = bot.tenant("demo").detectors
    for text, language in (
        ("Pourriez-vous demander au service livraison de m'appeler avant jeudi ?", "fr"),
        ("could you ask the billing team to call me back tomorrow", "en"),
        ("¿Podrían pedirle al departamento técnico que me llame esta tarde?", "es"),
        ("potete chiedere al reparto tecnico di richiamarmi?", "it"),
        ("podem pedir ao setor de cobranças para me ligar?", "pt"),
        ("Könnten Sie die zuständige Abteilung bitten, mich anzurufen?", "de"),
    ):
        assert detectors.signals(text, language, _CATEGORIES, 0.0).human_request, text
    assert not detectors.sensitive(normalise("The dress is my late wife's, altered to fit."), _CATEGORIES)
    assert not detectors.sensitive(
        normalise("my late husband and I bought our first pass in 1986"), _CATEGORIES
    )
    assert detectors.sensitive(normalise("about my late wife's savings account"), _CATEGORIES) == (
        "bereavement",
    )
    assert detectors.sensitive(normalise("my late mother had an account with you"), _CATEGORIES) == (
        "bereavement",
    )
    lone = detectors.signals("ho 85 anni e vivo da sola, posso pagare in contanti?", "it", _CATEGORIES, 0.0)
    assert "vulnerability" in lone.sensitive
    bill = detectors.signals(
        "un conguaglio di 890 euro per un bilocale in cui vivo da sola?", "it", _CATEGORIES, 0.0
    )
    assert "vulnerability" not in bill.sensitive
    assert "gppractice" in normalize("most of them are registered at your surgery")
    assert "surgery" in normalize("the surgery went well, can I pause my membership?")
    assert "surgery" in normalize("after the surgery I cannot work for six weeks")
    assert "gppractice" in normalize("since the surgery switched to online requests")
    for text, language in (
        ("esse app de vcs é uma porcaria, trava toda hora", "pt"),
        ("Si el próximo viene igual, me vuelvo al súper del barrio y os borro la app.", "es"),
        ("this app is garbage", "en"),
        ("if it happens again I'm cancelling", "en"),
    ):
        assert detectors.frustration(normalise(text), language)[0], text
    for text, language in (
        ("where do I put the garbage bags for collection", "en"),
        ("o lixo é recolhido que dia?", "pt"),
    ):
        assert not detectors.frustration(normalise(text), language)[0], text


def test_praise_addressed_to_an_employee_is_sincere() -> None:
    """Praise where the model finds frustration plausible reads as irony, unless it is addressed to one of
    the company's people (blind z32: a thank-you note the model read as angry)."""
    cues = read_cues()
    thanks = (
        "Buonasera,\n\nvolevo solo fare i complimenti a Marco, l'operatore che mi ha risposto lunedì. "
        "Ha sistemato tutto in un quarto d'ora.\n\nNon serve che mi rispondiate.\n\nOgni tanto è giusto dire "
        "anche le cose belle.\n\nLaura"
    )
    model = _SentenceModel({}, frustration=0.6)  # every sentence and the whole read as possibly angry
    assert not Detectors(cues, (), model=model).signals(thanks, "it", (), 0.0).frustrated
    # The same praise with nobody named stays irony where the model finds frustration.
    ironic = thanks.replace("i complimenti a Marco, l'operatore che mi ha risposto lunedì", "i complimenti")
    assert Detectors(cues, (), model=model).signals(ironic, "it", (), 0.0).frustrated


def test_round_21_a_fraud_told_as_over_a_call_back_arranged_and_an_employee_talking(bot: Bot) -> None:
    """Blind z33: a fraud of a past year with the money back is background; the same fraud now is not;
    "mi fa chiamare dal geometra" asks for a call; an employee telling the neighbour about the customer's
    debts is a privacy breach and undergoing heart surgery is health, whatever the model reads."""
    detectors = bot.tenant("demo").detectors
    over = "Ano passado eu caí num golpe de falso boleto, mas vocês resolveram tudo e o dinheiro voltou."
    assert "fraud" not in detectors.signals(over, "pt", _CATEGORIES, 0.0).sensitive
    now = "Ontem eu caí num golpe de falso boleto, o que faço?"
    assert "fraud" in detectors.signals(now, "pt", _CATEGORIES, 0.0).sensitive
    assert detectors.signals(
        "mi fa chiamare dal geometra x il sopralluogo?", "it", _CATEGORIES, 0.0
    ).human_request
    told = "Una empleada vuestra le ha comentado a mi vecino que tengo recibos devueltos."
    assert "privacy" in detectors.signals(told, "es", _CATEGORIES, 0.0).sensitive
    heart = "Devo sottopormi a un intervento di sostituzione della valvola aortica: che documenti servono?"
    assert "health" in detectors.signals(heart, "it", _CATEGORIES, 0.0).sensitive
    assert detectors.congratulated(
        "Train supprimé. Mariage manqué. Un bon d'achat.\n\nMerci pour ce moment.\n\nS."
    )


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Si les frais ne sont pas remboursés, je ferme mes comptes chez vous.", "fr"),
        ("If the charge isn't reversed by Friday, I'll move my accounts elsewhere.", "en"),
        ("Duas entregas falhadas e ninguém tocou à campainha. Não contem comigo para a próxima.", "pt"),
        ("No contéis conmigo nunca más para las reservas.", "es"),
        ("Dies ist meine dritte Nachricht zu dieser Rechnung.", "de"),
        ("Estoy hartísima de esperar el reembolso.", "es"),
    ],
)
def test_round_22_threats_to_leave_numbered_messages_and_superlatives(
    bot: Bot, text: str, language: str
) -> None:
    """Blind z34/z35: a threat to leave on a condition ("si ces frais ne sont pas annulés, je transfère mes
    comptes"), "não contem comigo para a próxima", "dies ist meine dritte Nachricht", "hartísima"."""
    assert bot.tenant("demo").detectors.signals(text, language, _CATEGORIES, 0.0).frustrated, text


def test_round_22_what_is_not_frustration(bot: Bot) -> None:
    """A condition with no leaving, "inutile de me rappeler" (no need, not useless) and a second message
    that adds an attachment are calm."""
    detectors = bot.tenant("demo").detectors
    for text, language in (
        ("Si le colis n'est pas là vendredi, je serai chez ma sœur : le point relais, possible ?", "fr"),
        ("Inutile de me rappeler, tout est réglé. Transmettez mes remerciements à votre conseillère.", "fr"),
        ("This is my second message today, sorry: I forgot to attach the invoice.", "en"),
    ):
        assert not detectors.signals(text, language, _CATEGORIES, 0.0).frustrated, text


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Could you book me in with the branch manager on Friday afternoon?", "en"),
        ("Honestly I'd rather talk it through face to face with someone.", "en"),
        ("Je préférerais régler ça de vive voix, c'est compliqué.", "fr"),
        ("Quisiera pedir cita en la sucursal para revisar la hipoteca.", "es"),
        ("Quisiera pedir cita con mi gestor para revisar el plan de pensiones.", "es"),
        ("Ich hätte gern einen Termin bei meiner Beraterin, vormittags.", "de"),
        ("Vorrei prendere un appuntamento in filiale per il mutuo.", "it"),
        ("Queria marcar um atendimento na loja para ver o contrato.", "pt"),
    ],
)
def test_round_22_meetings_in_person_and_at_a_branch_ask_for_a_person(
    bot: Bot, text: str, language: str
) -> None:
    assert bot.tenant("demo").detectors.signals(text, language, _CATEGORIES, 0.0).human_request, text


def test_round_22_a_call_turned_down_and_thanks_passed_on_ask_for_nobody(bot: Bot) -> None:
    """A sentence that turns the call down is no witness for a request ("Non serve richiamarmi": 0.82 read
    alone), and thanks passed on "a lei e al suo responsabile" name people without asking for them."""
    detectors = bot.tenant("demo").detectors
    letter = (
        "Buongiorno,\n\nvolevo solo ringraziare Sara dell'assistenza, che mi ha aiutato a cambiare "
        "la tariffa. È stata molto paziente.\n\nNon serve richiamarmi, è tutto a posto. "
        "Girate pure i miei complimenti a lei e al suo responsabile.\n\nCordiali saluti,\nPaolo"
    )
    signals = detectors.signals(letter, "it", _CATEGORIES, 0.0)
    assert not signals.human_request
    assert not signals.unsure_request
    assert detectors.nobody_asked("Girate i miei complimenti a lei e al suo responsabile.")
    assert detectors.nobody_asked("Il nous faut un forfait pour trois conseillers de notre agence.")
    assert detectors.nobody_asked("We need a plan for around four agents in our office.")
    assert not detectors.nobody_asked("Can one of your staff call me?")


def test_round_22_intensive_care_is_health_and_recovery_is_background(bot: Bot) -> None:
    """A relative in intensive care counts whatever the model reads; the intensive care unit where the
    customer works, a pregnancy "all good so far" and a stay long recovered from do not."""
    detectors = bot.tenant("demo").detectors
    for text, language in (
        ("Mein Vater liegt seit gestern auf der Intensivstation, können Sie die Rechnung stunden?", "de"),
        ("My husband was admitted to intensive care last night, what does the policy cover?", "en"),
        ("Mi madre ingresó el sábado en la UCI; ¿cubre la póliza el traslado?", "es"),
    ):
        assert "health" in detectors.signals(text, language, _CATEGORIES, 0.0).sensitive, text
    for text, language in (
        ("Je suis infirmière en réanimation, pouvez-vous livrer le colis à l'hôpital ?", "fr"),
        ("I'm 30 weeks pregnant, all good so far! Can I pause my membership from May?", "en"),
        (
            "Mi madre estuvo ingresada en el hospital en marzo por una neumonía, pero ya está recuperada "
            "del todo. ¿Puedo recibir sus facturas también en mi correo?",
            "es",
        ),
    ):
        assert "health" not in detectors.signals(text, language, _CATEGORIES, 0.0).sensitive, text


def test_round_23_a_visit_that_did_not_happen_asks_for_nobody(bot: Bot) -> None:
    """Blind z37/z38: "Un technicien devait passer le 22, personne n'est venu" (0.92 read alone) and "zu
    keinem ist jemand erschienen" ("ist jemand" asks whether anyone is there) tell a story; a letter of
    them is frustration, not a request. Someone asked to come is still asked for."""
    detectors = bot.tenant("demo").detectors
    assert detectors.nobody_asked("Un technicien devait passer jeudi, personne n'est venu.")
    assert detectors.nobody_asked("Zwei Termine wurden vereinbart, zu keinem ist jemand erschienen.")
    assert detectors.nobody_asked("Ieri è venuto un operatore a controllare il contatore.")
    assert not detectors.nobody_asked("Can someone come and look at the boiler tomorrow?")
    assert not detectors.nobody_asked("Pouvez-vous envoyer quelqu'un demain matin ?")
    letter = (
        "Bonjour,\n\nC'est la troisième fois que je vous écris. La box est en panne depuis dix jours. "
        "Un technicien devait passer mardi, personne n'est venu.\n\nSi rien ne bouge d'ici vendredi, je "
        "pars chez la concurrence.\n\nM. Roche"
    )
    signals = detectors.signals(letter, "fr", _CATEGORIES, 0.0)
    assert signals.frustrated
    assert not signals.human_request


def test_round_23_praise_passed_on_and_a_number_to_keep_ask_for_nobody(bot: Bot) -> None:
    """Thanks said after the person, as German says them ("bei Ihrer Mitarbeiterin Frau Nowak
    bedanken"), praise passed on to a supervisor, and "welche Nummer muss ich bei einer Störung anrufen"
    to keep it are no requests (blind z36, z38); asking to speak to the same person is one."""
    detectors = bot.tenant("demo").detectors
    for text, language in (
        (
            "Hallo,\n\nich möchte mich ausdrücklich bei Ihrem Mitarbeiter Herrn Weber bedanken, der mir "
            "gestern am Telefon bei der Umstellung meines Tarifs sehr geduldig geholfen hat.\n\nEin "
            "Rückruf ist nicht nötig. Geben Sie das Lob bitte an ihn und seine Teamleitung weiter.\n\nGrüße",
            "de",
        ),
        (
            "Boa tarde,\n\nQueria deixar o meu agradecimento à atendente Rita, que me atendeu com muita "
            "paciência.\n\nPor favor, passem esse elogio para ela e para a supervisora dela.\n\nObrigada",
            "pt",
        ),
        ("Welche Nummer muss ich bei einem Rohrbruch anrufen? Nur zum Einspeichern.", "de"),
    ):
        signals = detectors.signals(text, language, _CATEGORIES, 0.0)
        assert not signals.human_request, text
    asks = "Ich möchte bitte mit Ihrem Mitarbeiter Herrn Weber sprechen."
    assert detectors.signals(asks, "de", _CATEGORIES, 0.0).human_request


_WRITE_OR_CALL = [
    (
        "Bonjour,\n\nJe viens de recevoir mon avis d'échéance pour l'assurance habitation (contrat H-22871) "
        "et la prime a augmenté de 18 % alors que je n'ai déclaré aucun sinistre.\n\nJe voudrais comprendre "
        "d'où vient cette hausse avant le prélèvement du mois prochain.\n\nJe suis joignable au "
        "06 12 34 56 78 en journée. Un appel de votre part serait le bienvenu.\n\nCordialement,\nLuc Martin",
        "fr",
    ),
    (
        "Dear Sir or Madam,\n\nWe have moved house and I would like to transfer our registration to your "
        "other branch. I rang the main number, but the message said this is handled by email.\n\nI'd be "
        "grateful if the practice manager or one of the reception team could write back to me personally "
        "to confirm the transfer.\n\nThank you,\nMrs K. Obi",
        "en",
    ),
    ("¿Podría la gestora escribirme personalmente? Siempre me contesta un sistema.", "es"),
    ("Potrebbe il responsabile scrivermi personalmente?", "it"),
    ("Podem responder-me pessoalmente, por favor?", "pt"),
]


@pytest.mark.parametrize(("text", "language"), _WRITE_OR_CALL)
def test_round_23_a_call_welcomed_or_a_reply_written_personally_asks_for_a_person(
    bot: Bot, text: str, language: str
) -> None:
    """Blind z36, z38: the wish closes a long letter ("Un appel de votre part serait le bienvenu": the bot
    asked; "could write back to me personally": the bot answered)."""
    assert bot.tenant("demo").detectors.signals(text, language, _CATEGORIES, 0.0).human_request, text


def test_round_23_situations_told_in_long_sentences(bot: Bot) -> None:
    """Words between the verb and its object, the German verb last (blind z36-z38): a miscarriage "ho
    appena perso il bambino", a dismissal "mir wurde zum 30. November betriebsbedingt gekündigt", an
    instalment "kann ich im Dezember nicht zahlen", "non riesco a pagarle", caring for a mother with a
    "Pflegegrad"; and a complaint that ends "an die Schlichtungsstelle wenden"."""
    detectors = bot.tenant("demo").detectors
    for text, language, category in (
        (
            "Buonasera, ho appena perso il bambino e ricevo ancora le vostre offerte per neonati.",
            "it",
            "health",
        ),
        ("J'ai malheureusement perdu le bébé le mois dernier, merci d'annuler la liste.", "fr", "health"),
        (
            "Mir wurde zum 31. März betriebsbedingt gekündigt. Was passiert mit meinem Kredit?",
            "de",
            "vulnerability",
        ),
        ("Die Rate für den Kredit kann ich im Dezember leider nicht zahlen.", "de", "vulnerability"),
        ("Le bollette degli ultimi mesi non riesco a pagarle, ho tre figli.", "it", "vulnerability"),
        (
            "Seit Januar pflege ich meine Mutter zu Hause, sie hat Pflegegrad 3. Kann ich das Abo pausieren?",
            "de",
            "vulnerability",
        ),
        (
            "Ich fordere Sie auf, die Gebühren bis zum 15. zu erstatten. Andernfalls werde ich mich an die "
            "Schlichtungsstelle wenden.",
            "de",
            "complaint",
        ),
    ):
        assert category in detectors.signals(text, language, _CATEGORIES, 0.0).sensitive, text


def test_round_23_what_is_not_a_situation(bot: Bot) -> None:
    """ "We can't afford much of a gap in service" is no money trouble; a pregnancy "todo va
    estupendamente" and a fraud of last year told before the fraud department refunded it are
    background (blind z36, z38)."""
    detectors = bot.tenant("demo").detectors
    for text, language, category in (
        (
            "We're moving on the 19th and can't afford much of a gap in service. Can the line move with us?",
            "en",
            "vulnerability",
        ),
        (
            "Estoy embarazada de 26 semanas (todo va estupendamente). ¿Hasta qué semana puedo volar?",
            "es",
            "health",
        ),
        (
            "L'année dernière, ma carte avait été piratée. Votre service fraude avait été très réactif et "
            "j'avais été remboursé. Comment remonter mon plafond de paiement depuis l'appli ?",
            "fr",
            "fraud",
        ),
    ):
        assert category not in detectors.signals(text, language, _CATEGORIES, 0.0).sensitive, text


@pytest.mark.parametrize(
    ("text", "language", "frustrated"),
    [
        (
            "A mensalidade subiu e metade das máquinas está partida. Quando acabar o plano, tô fora.",
            "pt",
            True,
        ),
        ("Estou fora de casa até sexta, podem entregar no sábado?", "pt", False),
        ("Ennesimo addebito doppio sul conto. Basta, a gennaio cambio banca.", "it", True),
        ("Vi lascio appena ho trovato un altro operatore, con questo servizio.", "it", True),
        ("Der Bote hat das Paket im Regen vor die Tür gelegt. Eine Unverschämtheit ist das.", "de", True),
        (
            "Der Berg ist auch mit dem E-Bike eine Zumutung. Ist das Rad gegen Diebstahl versichert?",
            "de",
            False,
        ),
        ("WARUM dauert das so lange??? Seit 2 Wochen warte ich auf meine Bestellung!!!", "de", True),
        ("URGENT!!! bis wann gilt der Aktionstarif?", "de", False),
    ],
)
def test_round_23_leaving_outrage_and_a_shouted_why(
    bot: Bot, text: str, language: str, frustrated: bool
) -> None:
    signals = bot.tenant("demo").detectors.signals(text, language, _CATEGORIES, 0.0)
    assert signals.frustrated is frustrated, text


def _found(signals: Signals, expected: str) -> bool:
    """Whether `signals` say what `expected` does: "<what>-yes" or "<what>-no", where <what> is "req"
    (a request for a person), "frus" (frustrated), "plausible" (frustration plausible) or a category."""
    head, wanted = expected.split("-")
    found = {
        "req": signals.human_request,
        "frus": signals.frustrated,
        "plausible": signals.frustration_plausible,
    }.get(head, head in signals.sensitive)
    return found is (wanted == "yes")


# Blind z39-z41 (round 24): not wanting to call anyone said as a wish ("would rather not", "pas
# envie", "não queria", "bitte nicht anrufen"), a bot turned down before a person is asked for; a fraud
# told as over in other words ("ya está todo solucionado", "assunto encerrado", "il y a deux ans ...
# remboursé") or read about in the news; personal data to update; the customer's own practice; anger at
# the provider being left for us; "vittima di una truffa"; and the loyal customer's bitter notes
# (shopping around, "c'est comme ça qu'on me traite", loyalty "rewarded").
_ROUND_24 = [
    (
        ("Can I update my card details in the app myself? I'd rather not have to phone anyone."),
        "en",
        "req-no",
    ),
    (
        ("je peux changer mon RIB en ligne ? pas envie d'appeler qui que ce soit"),
        "fr",
        "req-no",
    ),
    (
        ("dá pra mudar o plano pelo app? não queria ter que ligar pra ninguém"),
        "pt",
        "req-no",
    ),
    (
        ("Bitte nicht anrufen, ich bin im Termin. Ist meine Zählerstandsmeldung angekommen?"),
        "de",
        "req-no",
    ),
    (
        ("Preferisco non parlare con un assistente automatico. Potete passarmi un operatore?"),
        "it",
        "req-yes",
    ),
    (
        ("pas envie de parler à une machine, merci de me mettre en relation avec un conseiller"),
        "fr",
        "req-yes",
    ),
    (
        (
            "Hace tres años me clonaron la tarjeta pero ya está todo solucionado. ¿Cómo "
            "activo las compras online?"
        ),
        "es",
        "fraud-no",
    ),
    (
        (
            "Ano passado caí num golpe do falso boleto e vocês conseguiram recuperar o "
            "valor. Assunto encerrado. Como aumento o limite do PIX?"
        ),
        "pt",
        "fraud-no",
    ),
    (
        (
            "Il y a deux ans, ma carte avait été piratée ; vos équipes avaient tout "
            "remboursé. La nouvelle carte aura-t-elle le sans contact ?"
        ),
        "fr",
        "fraud-no",
    ),
    (
        (
            "Leí en el periódico lo de la estafa del falso técnico, menos mal que a mí no me "
            "ha pasado. ¿Cómo activo las alertas de la tarjeta?"
        ),
        "es",
        "fraud-no",
    ),
    (
        ("Me acaban de robar el móvil y tengo la app del banco abierta."),
        "es",
        "fraud-yes",
    ),
    (
        ("Quero atualizar os meus dados pessoais: mudei de email. Faço isso na app?"),
        "pt",
        "privacy-no",
    ),
    (
        ("Quero saber que dados pessoais vocês guardam sobre mim."),
        "pt",
        "privacy-yes",
    ),
    (
        (
            "Guten Tag, ich betreibe eine Physiotherapiepraxis mit drei Räumen. Können wir "
            "ein Gäste-WLAN einrichten?"
        ),
        "de",
        "health-no",
    ),
    (
        (
            "Hi, I've had enough of my current provider (dropouts, useless support), so I'm "
            "switching to you! Is fibre available at 4 Mill Lane?"
        ),
        "en",
        "frus-no",
    ),
    (
        (
            "L'anno scorso sono stata vittima di una truffa, ma mi avete rimborsato tutto. "
            "Vorrei una carta aggiuntiva per mio figlio."
        ),
        "it",
        "frus-no",
    ),
    (
        (
            "Buenos días:\n\nEnhorabuena: me han subido el seguro un 35 % sin un solo parte en "
            "diez años. Debe de ser el premio a la fidelidad.\n\nEste año me lo voy a "
            "pensar.\n\nRaúl"
        ),
        "es",
        "frus-yes",
    ),
    (
        ("Je suis cliente depuis 20 ans et c'est comme ça qu'on me traite ? Bon à savoir."),
        "fr",
        "frus-yes",
    ),
    (
        (
            "Rinnovo della polizza: +40 % senza sinistri. Ammirevole. Valuterò con "
            "attenzione le offerte della concorrenza."
        ),
        "it",
        "frus-yes",
    ),
    (
        (
            "Renovação do seguro com aumento de 40 % depois de dez anos sem sinistros. Vou "
            "pesquisar com calma as outras seguradoras."
        ),
        "pt",
        "frus-yes",
    ),
    (
        (
            "Beitragsanpassung +37 % nach 15 Jahren ohne Schaden. Ich werde mir die Angebote "
            "anderer Versicherer genau anschauen."
        ),
        "de",
        "frus-yes",
    ),
]


# Blind z42/z43 (round 25): anger whose target is named and is the customer's own ("sauer auf meinen
# Vermieter"); fraud seen on the news that did not reach the customer; the customer's trade is funerals,
# and "we can't afford missed calls" is no money trouble; a fraud told as over leaves its dark words to
# the story (no frustration read from them); an appointment with one of the company's designers, going
# through a booking with one of the agents. Anger at the company still counts.
_ROUND_25 = [
    (
        (
            "Hallo,\n\nich bin gerade wirklich sauer auf meinen Vermieter. Das Warmwasser geht "
            "seit zehn Tagen nicht und er meldet sich einfach nicht. Im Bad sind morgens 15 "
            "Grad.\n\nDeshalb meine Frage an Sie: Haben Sie den Durchlauferhitzer „AquaFix "
            "300“ noch vorrätig, und kommt er bis Donnerstag?\n\nDanke,\nSven Kraus"
        ),
        "de",
        "frus-no",
    ),
    (
        (
            "ho visto al tg di truffe con sms a nome vostro. voi mandate mai sms con dei "
            "link? chiedo solo per sapere, a me non è arrivato niente"
        ),
        "it",
        "fraud-no",
    ),
    (
        (
            "Good morning,\n\nWe are a small, independent funeral directors in Whitby, Harper "
            "& Daughters, established 1962, and we are looking to replace the broadband and "
            "phones at our two premises.\n\nFamilies often ring us at very difficult moments "
            "and we can't afford missed calls, so we would like one number that rings at "
            "both sites. Could you send details of your business packages, with "
            "pricing?\n\nKind regards,\nAnne Harper"
        ),
        "en",
        "bereavement-no",
    ),
    (
        (
            "Good morning,\n\nWe are a small, independent funeral directors in Whitby, Harper "
            "& Daughters, established 1962, and we are looking to replace the broadband and "
            "phones at our two premises.\n\nFamilies often ring us at very difficult moments "
            "and we can't afford missed calls, so we would like one number that rings at "
            "both sites. Could you send details of your business packages, with "
            "pricing?\n\nKind regards,\nAnne Harper"
        ),
        "en",
        "vulnerability-no",
    ),
    (
        (
            "Bonjour,\n\nEn 2022, ma carte avait été piratée et votre service fraude avait été "
            "très réactif : remboursement en trois jours, nouvelle carte dans la semaine. "
            "Tout est réglé depuis longtemps.\n\nDepuis, je fais attention, et j'ai une "
            "question simple : avec la nouvelle version de l'application, je ne trouve plus "
            "où valider les paiements sécurisés. Est-ce toujours dans « Sécurité » "
            "?\n\nMerci,\nJulie Marchand"
        ),
        "fr",
        "plausible-no",
    ),
    (
        (
            "Salve,\n\nabbiamo appena comprato casa a Lecco e vorremmo rifare il bagno da voi. "
            "La stanza è stretta, con una trave proprio dove andrebbe la doccia, quindi il "
            "configuratore online non ci aiuta.\n\nVorremmo fissare un appuntamento con un "
            "vostro progettista nel negozio di Monza, così gli portiamo le misure e le foto. "
            "Siamo liberi il venerdì pomeriggio.\n\nGrazie,\nElena e Marco"
        ),
        "it",
        "req-yes",
    ),
    (
        (
            "hi yes I'm ringing about a group trip nine of us to Porto in June for my dad's "
            "sixtieth and I'd really like to go through it with one of your agents instead "
            "of the app because some of us fly from Leeds and some from Stansted and the app "
            "just can't do it"
        ),
        "en",
        "req-yes",
    ),
    (
        ("Estoy furiosa con el banco: me han cobrado tres comisiones este mes."),
        "es",
        "frus-yes",
    ),
]


# Blind z44/z45 (round 26), each positive failing on the bot before the round: a customer leaving
# after a price rise, loyalty unrewarded and any retention offer turned down; a company's person to get in
# touch ("que un asesor se pusiera en contacto conmigo"); French SMS pronouns ("pouvez vs me rappeler
# pr"); "Sie müssen mich nicht zurückrufen"; a transplant told as over ("heute geht es mir bestens");
# details shown to every recipient of a mail in open CC; a child in paediatric oncology. The negatives
# guard the new cues: a calm "I won't be renewing", "ya he decidido:" before a choice, a nurse's ward.
# A message of a few words with no cue is sensitive only if the model is sure: "no puedo iniciar
# sesión" read 0.57 (its "no puedo" is "can't pay"), over the threshold the read sets set that day.
_ROUND_26 = [
    (
        (
            "Queremos pasar a la tarifa de empresa. ¿Sería posible que un asesor de la zona "
            "se pusiera en contacto conmigo?"
        ),
        "es",
        "req-yes",
    ),
    (
        (
            "Vor drei Jahren hatte ich eine Transplantation, heute geht es mir bestens. Kann "
            "ich meinen Sitzplatz ändern?"
        ),
        "de",
        "health-no",
    ),
    (
        (
            "Fiz um transplante de rim há dois anos e hoje estou ótima! Posso mudar o nome "
            "na reserva sem taxa?"
        ),
        "pt",
        "health-no",
    ),
    (
        "Ihr Newsletter ging an alle Kunden im offenen CC, jetzt kennt jeder meine Mailadresse.",
        "de",
        "privacy-yes",
    ),
    (
        (
            "Fourteen years with you and the renewal is up 40%. So much for loyalty. Don't "
            "bother with a retention offer."
        ),
        "en",
        "frus-yes",
    ),
    (
        (
            "Merci pour la fidélité : +30 % sans explication. Ne vous donnez pas la peine de "
            "m'appeler, la décision est prise."
        ),
        "fr",
        "frus-yes",
    ),
    (
        (
            "Buongiorno, il rinnovo della polizza auto è aumentato del 25% senza un sinistro "
            "in dieci anni. Grazie per la fedeltà, davvero. Non serve che mi facciate "
            "offerte all'ultimo minuto: ho già deciso."
        ),
        "it",
        "frus-yes",
    ),
    (
        (
            "Subida del 30 % sin un solo parte. La fidelidad no se premia. No se molesten en "
            "llamarme con ofertas."
        ),
        "es",
        "frus-yes",
    ),
    (
        (
            "Aumento de 28% na renovação. Fidelidade afinal é defeito. Não precisam ligar "
            "com proposta, já decidi."
        ),
        "pt",
        "frus-yes",
    ),
    (
        "slt, pouvez vs me rappeler pr mon abonnement internet, dispo le soir apres 19h. merci",
        "fr",
        "req-yes",
    ),
    ("Sie müssen mich nicht zurückrufen, eine kurze Mail mit der Rechnung reicht mir.", "de", "req-no"),
    (
        (
            "Bonjour,\n\nNotre fils Mathis, 9 ans, vient d'être hospitalisé au service "
            "d'oncologie pédiatrique de l'hôpital Trousseau, où il va rester plusieurs mois "
            "pour une leucémie.\n\nIl était inscrit au stage de natation et à l'abonnement "
            "annuel de la piscine. Nous n'arrivons pas à trouver dans les conditions "
            "générales ce qui est prévu dans ce cas.\n\nMerci de votre compréhension,\nAurélie "
            "et Marc Dubois"
        ),
        "fr",
        "health-yes",
    ),
    (
        "Ich arbeite als Krankenschwester in der Kinderonkologie und brauche einen Tarif mit mehr Daten.",
        "de",
        "health-no",
    ),
    (
        "Hi, I won't be renewing my membership as I'm moving abroad. Can you confirm the end date?",
        "en",
        "frus-no",
    ),
    ("Ya he decidido: quiero la tarifa de 50 GB. ¿Cómo la activo?", "es", "frus-no"),
    ("Ho già deciso quale piano prendere, come faccio a cambiarlo dall'app?", "it", "frus-no"),
    ("Ab Montag bin ich weg, bitte die Lieferung bei der Nachbarin abgeben.", "de", "frus-no"),
    ("My name is visible for everyone on the profile page? How do I hide it?", "en", "privacy-no"),
    # A few words the model misreads, and a few words with a cue.
    ("no puedo iniciar sesión", "es", "health-no"),
    ("no puedo iniciar sesión", "es", "vulnerability-no"),
    ("perdí mi trabajo", "es", "vulnerability-yes"),
]


# Blind z46-z49 (round 27), each case failing on the bot before the round but the last two, which
# guard its new cues: meeting one of the company's people, a few minutes with one, writing to one
# directly (a director, a "referente", a trainer); people said to exist ("há pessoas a chegar
# atrasadas") and English "will not" are no request; displeasure understated ("Ich will nicht
# behaupten, dass mich das begeistert"), "wie sollte es anders sein", "ya no puedo más"; the customer's
# own shame ("mi vergogno") is no anger; a caller posing as the bank, debits the customer cannot place;
# details to update, a fraud with the money back long ago.
_ROUND_27 = [
    (
        (
            "Nous aimerions rencontrer un conseiller dans votre agence de Lyon pour préparer "
            "notre voyage de noces."
        ),
        "fr",
        "req-yes",
    ),
    (
        (
            "Vorremmo incontrare il nostro referente commerciale per rivedere il contratto "
            "prima della scadenza."
        ),
        "it",
        "req-yes",
    ),
    ("Could I book ten minutes with the branch manager when I'm in on Friday morning?", "en", "req-yes"),
    (
        "Vorrei scrivere direttamente al direttore del negozio: mi potete dare il suo indirizzo email?",
        "it",
        "req-yes",
    ),
    (
        "Só quero deixar registado que há pessoas a chegar atrasadas todos os dias por causa disto.",
        "pt",
        "req-no",
    ),
    (
        "I'm not paying for a class I never took, and I will not be recommending you to anyone.",
        "en",
        "req-no",
    ),
    ("Ich will nicht behaupten, dass mich die neue Abschlagsrechnung begeistert.", "de", "frus-yes"),
    ("Der Zug fiel heute wieder aus, wie sollte es auch anders sein.", "de", "frus-yes"),
    ("Llevo tres semanas sin internet y nadie me da una fecha. Ya no puedo más.", "es", "frus-yes"),
    ("Mi vergogno un po' a chiederlo, ma come si cambia la password dell'app?", "it", "frus-no"),
    ("Auf meinem Konto sind zwei Lastschriften, die ich nicht zuordnen kann.", "de", "fraud-yes"),
    ("¿Cómo actualizo mis datos personales? He cambiado de número y de correo.", "es", "privacy-no"),
    (
        (
            "Two years ago my card was cloned; your fraud team were great and the money was "
            "back in my account within days. Today I just need a new PIN."
        ),
        "en",
        "fraud-no",
    ),
    ("¿No puedo más de 3 GB al mes con esta tarifa?", "es", "frus-no"),
    (
        "Ich kann nicht mehr als 50 Euro im Monat zahlen, gibt es einen günstigeren Tarif?",
        "de",
        "frus-no",
    ),
]


# Blind z50-z53 (round 28), each case failing on the bot before the round but the last two, which
# guard what it changed: service in person, meeting one of the company's advisers ("l'un de vos
# conseillers"); a sentence shouted in capitals with "??" whatever follows in lower case; a threat of
# bad reviews everywhere; "je ne sais pas comment le dire plus clairement"; "I didn't change anything"
# is an account taken over only beside a password, an e-mail or an account; a seller gone once paid,
# debt counselling; a theft some years ago with no problem since; someone else's anger at the
# customer.
_ROUND_28 = [
    ("Queria marcar atendimento presencial na loja para ver os tarifários.", "pt", "req-yes"),
    (
        "Nous aimerions rencontrer l'un de vos conseillers pour préparer le voyage du club.",
        "fr",
        "req-yes",
    ),
    ("WANN KOMMT ENDLICH DER TECHNIKER?? seit zehn Tagen kein Internet", "de", "frus-yes"),
    ("QUANDO ARRIVA IL TECNICO?? una settimana senza linea", "it", "frus-yes"),
    (
        ("Si no me devuelven el dinero antes del viernes, dejaré una mala reseña en todas las plataformas."),
        "es",
        "frus-yes",
    ),
    (
        "Je ne sais pas comment le dire plus clairement : je ne veux plus payer pour cette salle.",
        "fr",
        "frus-yes",
    ),
    ("WHY IS MY BILL DOUBLE AGAIN?? I didnt change anything!!!", "en", "fraud-no"),
    (
        "Ho pagato 400 euro con bonifico per una bici vista online e il venditore è sparito.",
        "it",
        "fraud-yes",
    ),
    (
        "Seit März bin ich bei der Schuldnerberatung. Können wir über den Kredit sprechen?",
        "de",
        "vulnerability-yes",
    ),
    (
        (
            "Hace unos años me robaron el móvil y me mandasteis la SIM nueva en un día; "
            "nunca tuve ningún problema más. ¿Puedo comprar un móvil a plazos?"
        ),
        "es",
        "fraud-no",
    ),
    (
        "Ho ricevuto una mail: la password è stata modificata. Io non ho cambiato nulla!",
        "it",
        "fraud-yes",
    ),
    (
        (
            "She was absolutely furious with me because I forgot her birthday. Can you add "
            "gift wrap to order 5512?"
        ),
        "en",
        "frus-no",
    ),
]

# Blind z54, z55 (round 29): a request for a person turned down in so many words ("ich will nicht mit
# einem Mitarbeiter sprechen", Portuguese "um" the article, not a filler), a menu's "press 0" reported,
# the machine turned down before a person is asked for (two guards, which pass before too); a visit
# "direttamente nel locale"; a health word the model finds incidental beside a request; laughing or
# crying, "preso per un bancomat", loyalty so rewarded, not renewing unless things change; a bike stolen,
# not a card; not paying through a broken app; an organisation's cause; tests clear; homelessness; a
# claim's "denuncia"; a frequency, not repeated contact.
_ROUND_29 = [
    (
        "Ich will nicht mit einem Mitarbeiter sprechen, ich brauche nur die Öffnungszeiten der Filiale.",
        "de",
        "req-no",
    ),
    ("Je ne veux pas parler à un conseiller, dites-moi juste mon solde.", "fr", "req-no"),
    ("Não quero falar com um atendente, só preciso da segunda via da fatura.", "pt", "req-no"),
    (
        "the voice menu says press 0 to speak to an advisor but I don't need anyone, just my balance",
        "en",
        "req-no",
    ),
    ("no quiero hablar con una máquina quiero una persona", "es", "req-yes"),
    ("eu não quero falar com robôs quero um funcionário", "pt", "req-yes"),
    (
        (
            "Buongiorno, abbiamo un bar in centro e vorremmo aggiornare la polizza. Preferirei che "
            "l'agente passasse direttamente nel locale, così vede anche la cantina. Grazie, Lucia"
        ),
        "it",
        "req-yes",
    ),
    (
        (
            "Hola: soy socia del gimnasio desde hace dos años. Mi médico me ha aconsejado volver a "
            "entrenar poco a poco después de una lesión de espalda. ¿Podría quedar con uno de los "
            "monitores para que me prepare una rutina? Gracias, Marta"
        ),
        "es",
        "health-no",
    ),
    (
        "Je ne sais plus si je dois rire ou pleurer : vous me redemandez la facture déjà envoyée.",
        "fr",
        "frus-yes",
    ),
    (
        "Buonasera, sono cliente dal 2021: 6,99, poi 7,99, ora 10,99. La rete è la stessa. Appena "
        "posso porto il numero altrove.",
        "it",
        "frus-yes",
    ),
    (
        (
            "Buongiorno, la polizza auto passa da 500 a 760 euro senza sinistri. Per curiosità ho "
            "chiesto un preventivo come nuovo cliente: 520 euro. Ecco come premiate la fedeltà. Non "
            "rinnoverò, e lo racconterò a chiunque me lo chieda. Carla"
        ),
        "it",
        "frus-yes",
    ),
    (
        (
            "Hello, the pool has been closed since June and half the bikes are broken, yet the fee "
            "went up 10%. If nothing changes by January I won't renew. Regards, Dan"
        ),
        "en",
        "frus-yes",
    ),
    (
        (
            "Guten Tag, mein Fahrrad wurde am 3. Mai aus dem Hof gestohlen. Anzeige, Rechnung und "
            "Fotos habe ich Ihnen geschickt. Jetzt verlangen Sie die Rechnung erneut. Ich weiß nicht, "
            "ob ich lachen oder weinen soll. Grüße, Tom"
        ),
        "de",
        "fraud-no",
    ),
    ("A app não abre e não consigo pagar a fatura há dois dias, que vergonha.", "pt", "vulnerability-no"),
    (
        "Somos una asociación que ayuda a víctimas de violencia de género y necesitamos tres líneas.",
        "es",
        "vulnerability-no",
    ),
    (
        (
            "hallo ich penne gerade bei einem kumpel auf der couch weil ich meine wohnung verloren hab. "
            "wohin schickt ihr die neue karte wenn ich keine feste adresse hab?"
        ),
        "de",
        "vulnerability-yes",
    ),
    (
        (
            "L'anno scorso mio marito ha fatto la chemio; ora gli esami sono tutti negativi. "
            "La polizza viaggio copre gli Stati Uniti?"
        ),
        "it",
        "health-no",
    ),
    (
        (
            "Spett.le Compagnia, dopo il temporale del 3 luglio ho fatto la denuncia online allegando "
            "foto e preventivo. Il perito è passato ad agosto e poi più nulla. Potete dirmi a che punto "
            "è la pratica? Cordiali saluti, Piero"
        ),
        "it",
        "complaint-no",
    ),
    (
        (
            "Mia madre è mancata a ottobre; andava in piscina tre volte a settimana. "
            "Potete chiudere il suo abbonamento?"
        ),
        "it",
        "bereavement-yes",
    ),
]

# Blind z56-z59 (round 30): "didn't speak to anyone" is a story, "non devo parlare con nessuno" wants
# nobody, the key 0 named, nobody came when a visit was due; an in-law's anger, someone else's anger at
# their own people, "no es una queja", "não é reclamação"; a theft supposed (a guard: "sí, me han robado"
# is told, and passes before too); the customer's volunteering in others' care; an eating disorder.
_ROUND_30 = [
    (
        (
            "My daughter came back from school and didn't speak to anyone all evening. Which plan suits "
            "a teenager?"
        ),
        "en",
        "req-no",
    ),
    ("Mi segno solo il numero per le aziende, non devo parlare con nessuno adesso.", "it", "req-no"),
    ("Taste 0", "de", "req-yes"),
    (
        (
            "le livreur devait passer lundi personne il devait passer mercredi personne j'en ai marre de "
            "votre service"
        ),
        "fr",
        "req-no",
    ),
    (
        "Mia cognata si è arrabbiata tantissimo con il suo idraulico. Voi fate anche assistenza caldaie?",
        "it",
        "frus-no",
    ),
    (
        "no es una queja eh, solo una pregunta: por qué me habéis cobrado tres euros más este mes",
        "es",
        "frus-no",
    ),
    ("não é reclamação não, só queria saber por que a conta subiu cinco reais", "pt", "complaint-no"),
    ("se o meu telemóvel for roubado, o seguro cobre?", "pt", "fraud-no"),
    ("sí, me han robado el móvil y tengo la app del banco", "es", "fraud-yes"),
    (
        (
            "Soy voluntaria de Cáritas y acompaño a enfermos al hospital para la quimioterapia dos veces "
            "por semana. ¿Mi seguro de coche cubre a los pasajeros?"
        ),
        "es",
        "health-no",
    ),
    (
        (
            "Nuestra hija de 15 años está ingresada en la unidad de trastornos alimentarios. ¿La póliza "
            "cubre la terapia?"
        ),
        "es",
        "health-yes",
    ),
]

# Blind z60-z63 (round 31): anger at someone else "not with you", "con voi non c'entra niente"; a recovery
# told in full anywhere in the message; a theft of last year that "was no problem"; a French callback
# without the apostrophe; thanks ten words after the person; the privacy policy agreed to; telling people
# around.
_ROUND_31 = [
    (
        (
            "What a week: I was furious with the airline (not with you, you've been lovely). Could we move "
            "our booking to the 14th and add breakfast?"
        ),
        "en",
        "frus-no",
    ),
    (
        (
            "Domenica ero furioso con l'arbitro, con voi non c'entra niente, e mi è caduto il telefono. "
            "Come apro la pratica per lo schermo?"
        ),
        "it",
        "frus-no",
    ),
    (
        (
            "Mein Vater hatte im Frühjahr einen Herzinfarkt, hat sich aber vollständig erholt. Gibt es im "
            "Studio einen Seniorentarif?"
        ),
        "de",
        "health-no",
    ),
    (
        (
            "El año pasado estuve ingresado por una neumonía, pero ya estoy completamente recuperado. "
            "¿Puedo amortizar parte del préstamo sin comisión?"
        ),
        "es",
        "health-no",
    ),
    (
        (
            "Terminei a quimioterapia há quatro anos e a médica deu-me alta definitiva. O seguro de viagem "
            "cobre uma maratona no estrangeiro?"
        ),
        "pt",
        "health-no",
    ),
    (
        (
            "Last spring my husband had a heart bypass and spent weeks in hospital. He's made a full "
            "recovery and is back on the golf course. Can we move our payment date to the 15th?"
        ),
        "en",
        "health-no",
    ),
    (
        (
            "Mein Handy wurde letztes Jahr geklaut, Sperre und Ersatz waren damals kein Problem. Wie buche "
            "ich eine zweite SIM?"
        ),
        "de",
        "fraud-no",
    ),
    ("bjr cest possible detre rappele demain matin pr ma facture ?", "fr", "req-yes"),
    (
        (
            "Ich möchte mich bei Ihrer Mitarbeiterin Frau Berg aus der Filiale am Marktplatz in Lübeck "
            "herzlich bedanken."
        ),
        "de",
        "req-no",
    ),
    (
        (
            "Ich habe Ihre Datenschutzerklärung gelesen und bin damit einverstanden. Wie melde ich mich für "
            "den Newsletter an?"
        ),
        "de",
        "privacy-no",
    ),
    (
        (
            "Commande reçue un mois après Noël. Belle performance, je ne manquerai pas d'en parler autour "
            "de moi."
        ),
        "fr",
        "frus-yes",
    ),
]


# Blind z64-z67 (round 32): a recovery hoped for, not told ("werde ... wieder gesund sein", "will hopefully be
# fully recovered"); a death named beside an estate's errands; a pregnancy going well; an article read and
# nothing happened, with "can you explain" read alone as no request; a job advertised, its verb last;
# sitting down with a consultant; a customer care executive; leaving when the contract allows, in either
# order; congratulations said with a verb; "Na prima", "läuft bei euch"; ordering nowhere else.
_ROUND_32 = [
    (
        (
            "Guten Tag, bei mir wurde ein Tumor festgestellt, nächste Woche werde ich operiert und werde "
            "wohl erst im Sommer wieder gesund sein. Bitte pausieren Sie mein Fitness-Abo."
        ),
        "de",
        "health-yes",
    ),
    (
        (
            "Hello, I'm having heart surgery on the 9th and will hopefully be fully recovered by spring. "
            "Could you pause my gym membership until then?"
        ),
        "en",
        "health-yes",
    ),
    (
        (
            "Madame, Monsieur, je vous écris pour vous faire part du décès de mon mari, survenu en février. "
            "Il détenait chez vous un PEL et un compte titres. Quelle est la marche à suivre ? Le notaire "
            "chargé du dossier est Maître Roux, à Lyon."
        ),
        "fr",
        "bereavement-yes",
    ),
    (
        (
            "Olá, estou grávida de 28 semanas do nosso primeiro filho e, se tudo correr bem, vamos fazer uma "
            "viagem à Madeira antes do parto. Vocês pedem atestado médico para voar nessa fase da gravidez?"
        ),
        "pt",
        "health-no",
    ),
    (
        (
            "Guten Tag, im Radio lief ein Bericht über gefälschte SMS, die angeblich von Banken kommen, und "
            "ich bin jetzt unsicher. Mir ist zum Glück nichts passiert. Verlangen Sie jemals meine TAN per "
            "SMS?"
        ),
        "de",
        "fraud-no",
    ),
    (
        (
            "Ich habe einen Artikel über Phishing gelesen und bin etwas verunsichert, bei mir ist aber "
            "nichts passiert. Können Sie mir kurz erklären, woran ich echte E-Mails von Ihnen erkenne? Und "
            "fragen Sie jemals per SMS nach meiner PIN?"
        ),
        "de",
        "req-no",
    ),
    (
        (
            "Sehr geehrte Damen und Herren, ich habe gesehen, dass Sie in Ihrem Servicecenter in Köln "
            "Kundenberaterinnen und Kundenberater suchen. Ich bin gelernter Bürokaufmann und habe Erfahrung "
            "im Telefonsupport. Geht die Stelle auch in Teilzeit?"
        ),
        "de",
        "req-no",
    ),
    (
        (
            "Hi, we're planning our anniversary trip and would love to sit down with one of your travel "
            "consultants to put it together. Do you open on Saturdays?"
        ),
        "en",
        "req-yes",
    ),
    (
        ("Hello, kindly connect me to a customer care executive, my recharge is not reflecting."),
        "en",
        "req-yes",
    ),
    (
        (
            "I've reported the dropped calls four times since March and nothing has changed. I will be "
            "leaving as soon as my contract allows."
        ),
        "en",
        "frus-yes",
    ),
    (
        ("Subiram-me a mensalidade sem aviso nenhum. Assim que o contrato terminar, mudo de operador."),
        "pt",
        "frus-yes",
    ),
    (
        (
            "Je tenais à vous féliciter. Le train de 8h est arrivé à l'heure mardi, une première depuis "
            "septembre. Le reste de la semaine, retards et suppressions sans la moindre annonce. Je paie mon "
            "abonnement plein tarif."
        ),
        "fr",
        "frus-yes",
    ),
    (
        ("Na prima. Nach dem Update sind alle meine Tickets weg. Läuft bei euch 👍"),
        "de",
        "frus-yes",
    ),
    (
        ("Das Paket wurde einfach in den Müll gelegt. Ich bestell nirgends mehr, wo ihr zustellt."),
        "de",
        "frus-yes",
    ),
]


# Blind z68-z71 (round 33): leaving at the end of the term with words between ("podem ter a certeza de que
# saio", "zum Ende der Mindestlaufzeit bin ich weg"), "je sature"; payments the customer did not make, the
# verb last; an appointment with the person written to; an expert asked to come and assess; the same angry
# word again in someone else's story; "senza mai farmi sentire stupido"; a training place applied for.
_ROUND_33 = [
    (
        (
            "Aumentaram outra vez a mensalidade sem avisar e tiraram os canais de desporto. Quando terminar "
            "o contrato, em janeiro, podem ter a certeza de que saio."
        ),
        "pt",
        "frus-yes",
    ),
    (
        (
            "Seit Monaten gibt es im Haus kein Netz, obwohl der Mast längst laufen sollte. Zum Ende der "
            "Mindestlaufzeit bin ich weg."
        ),
        "de",
        "frus-yes",
    ),
    (
        ("Des produits manquants chaque samedi et des remplacements absurdes. Franchement, je sature."),
        "fr",
        "frus-yes",
    ),
    (
        (
            "Im Onlinebanking sehe ich drei Abbuchungen, die ich nicht veranlasst habe. Was soll ich jetzt "
            "tun?"
        ),
        "de",
        "fraud-yes",
    ),
    (
        (
            "Hola, Lucía: nos gustaría concertar una cita contigo en la oficina para ver opciones de "
            "hipoteca, cualquier tarde nos va bien."
        ),
        "es",
        "req-yes",
    ),
    (
        (
            "O carro continua na rua porque não anda. Solicito que um perito venha avaliar os danos ao local "
            "o quanto antes."
        ),
        "pt",
        "req-yes",
    ),
    (
        (
            "my sister was absolutely furious with her phone company, shouting down the line furious, so she "
            "told me to come to you. what sim only deals do you have?"
        ),
        "en",
        "frus-no",
    ),
    (
        (
            "Volevo ringraziare l'operatore Marco che mi ha aiutato con tanta pazienza, senza mai farmi "
            "sentire stupido. Potete fargli arrivare i miei complimenti?"
        ),
        "it",
        "frus-no",
    ),
    (
        (
            "Hallo, kann man bei Ihnen eine Ausbildung im Kundenservice machen, also am Telefon Kunden "
            "beraten? Wo bewirbt man sich da?"
        ),
        "de",
        "req-no",
    ),
]


# Blind z72-z75 (round 34): a person asked for by name, with a title or with who they are; a salesperson to
# contact "us", a clerk to review the case and answer; leaving at the end of the term in Italian; a
# pregnancy lost at so many weeks; a mental health crisis; purchases while the card is in the customer's
# wallet; the surgeon's green light; everybody's anger at someone else.
_ROUND_34 = [
    (
        ("Guten Tag, Yilmaz hier, ich möchte bitte Herrn Becker sprechen, er hat meinen Antrag bearbeitet."),
        "de",
        "req-yes",
    ),
    (
        ("hi can I talk to Priya please she was handling my refund last week"),
        "en",
        "req-yes",
    ),
    (
        (
            "Enviamos unos 200 paquetes al mes. Nos gustaría que un comercial de su empresa se pusiera en "
            "contacto con nosotros para estudiar una tarifa."
        ),
        "es",
        "req-yes",
    ),
    (
        (
            "He rellenado el formulario dos veces. Les ruego que un empleado de atención al cliente revise "
            "mi caso y me conteste por escrito."
        ),
        "es",
        "req-yes",
    ),
    (
        (
            "Da luglio in casa non prende più e nessuno risolve. Alla scadenza del vincolo passerò a un "
            "altro operatore."
        ),
        "it",
        "frus-yes",
    ),
    (
        (
            "We lost our son at 21 weeks last month and I keep getting your baby club emails. Please take me "
            "off the list."
        ),
        "en",
        "health-yes",
    ),
    (
        (
            "mir geht es psychisch gerade sehr schlecht und ich schaffe es nicht mal die Post zu öffnen, "
            "jetzt kommen Mahnungen"
        ),
        "de",
        "health-yes",
    ),
    (
        (
            "Recebi notificações de compras em lojas dos Estados Unidos, mas o cartão está na minha "
            "carteira. Como contesto?"
        ),
        "pt",
        "fraud-yes",
    ),
    (
        (
            "Ma fille s'est fait opérer du genou l'an dernier et le chirurgien lui a donné le feu vert pour "
            "reprendre le sport. Avez-vous un tarif étudiant ?"
        ),
        "fr",
        "health-no",
    ),
    (
        (
            "Dans notre quartier tout le monde est furieux contre la mairie à cause des travaux. Ma question "
            ": est-ce que ma fibre risque d'être coupée ?"
        ),
        "fr",
        "frus-no",
    ),
]


# Blind z76-z79 (round 35): put through to the lost and found; a switch to another operator asks for no
# one; a heart condition, an operation announced, an anxiety crisis; one's bill received by a neighbour;
# an operation that went well; data to update, the verb last; a scam of "uns dois anos" with everything
# recovered; "roba da matti".
_ROUND_35 = [
    (
        ("bom dia queria que me passasse para os perdidos e achados deixei lá uma mala ontem"),
        "pt",
        "req-yes",
    ),
    (
        (
            "Sono cliente da quindici anni e mi trattate come un bancomat. Vi informo che sto valutando "
            "seriamente di passare a un altro operatore."
        ),
        "it",
        "req-no",
    ),
    (
        (
            "A nossa filha de 5 anos nasceu com uma cardiopatia e vai ser operada no dia 4. Como remarcamos "
            "as passagens?"
        ),
        "pt",
        "health-yes",
    ),
    (
        (
            "oi, tô passando por uma crise de ansiedade e esqueci de pagar a fatura do cartão, vão cobrar "
            "juros?"
        ),
        "pt",
        "health-yes",
    ),
    (
        ("la mia vicina ha ricevuto per email la mia bolletta con nome e iban. com'è possibile??"),
        "it",
        "privacy-yes",
    ),
    (
        (
            "L'anno scorso mio padre è stato ricoverato per un intervento al cuore. È andato tutto "
            "benissimo. Posso prenotare il controllo online?"
        ),
        "it",
        "health-no",
    ),
    (
        ("hallo ich möchte meine Daten aktualisieren ich habe eine neue Handynummer"),
        "de",
        "privacy-no",
    ),
    (
        (
            "Há uns dois anos caí num golpe de boleto falso, mas vocês ajudaram e recuperei tudo. Como "
            "aumento o limite do Pix noturno?"
        ),
        "pt",
        "fraud-no",
    ),
    (
        ("Ma quanto ci vuole per un rimborso?? Un mese e mezzo. Roba da matti"),
        "it",
        "frus-yes",
    ),
]


# Blind z80-z83 (round 36): a close relative's death said gently ("nous a quittés", "è venuta a mancare"),
# not a house left to the family; eleven to nineteen years ago; "es war meine letzte Bestellung".
_ROUND_36 = [
    (
        (
            "Bonjour, ma mère, Mme Jeanne Roux, nous a quittés le 3 novembre. Elle habitait seule un "
            "appartement à Dijon dont le contrat de gaz est chez vous. Nous allons vider l'appartement d'ici "
            "la fin de l'année. Comment mettre fin au contrat et à qui sera adressée la facture de clôture ?"
        ),
        "fr",
        "bereavement-yes",
    ),
    (
        (
            "Mein Großvater war 40 Jahre Lokführer bei Ihnen. Er ist vor zwölf Jahren gestorben, und ich "
            "mache gerade ein Fotobuch über sein Berufsleben. Wo kann ich Fahrkarten für die Sonderfahrt mit "
            "der historischen Dampflok kaufen?"
        ),
        "de",
        "bereavement-no",
    ),
    (
        (
            "Die Gutschrift für meine Rücksendung fehlt seit sechs Wochen. Es war meine letzte Bestellung "
            "bei Ihnen."
        ),
        "de",
        "frus-yes",
    ),
]


@pytest.mark.parametrize(
    ("text", "language", "expected"),
    [
        *_ROUND_24,
        *_ROUND_25,
        *_ROUND_26,
        *_ROUND_27,
        *_ROUND_28,
        *_ROUND_29,
        *_ROUND_30,
        *_ROUND_31,
        *_ROUND_32,
        *_ROUND_33,
        *_ROUND_34,
        *_ROUND_35,
        *_ROUND_36,
    ],
)
def test_what_blind_rounds_24_to_36_taught(bot: Bot, text: str, language: str, expected: str) -> None:
    """Each round's cases, read off the blind sets named above its table after their first scores."""
    signals = bot.tenant("demo").detectors.signals(text, language, _CATEGORIES, 0.0)
    assert _found(signals, expected), text


def test_the_intents_cache_gives_the_fitted_arrays_back_and_misses_on_new_examples(
    bot: Bot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    content = bot.tenant("acme").content
    fitted = intent_training.train({"acme": content}, cache_dir=tmp_path)["acme"]
    (kept,) = tmp_path.glob("*.npz")
    with monkeypatch.context() as patch:
        patch.setattr(sys, "executable", "/nonexistent/python")  # a fit would fail: the cache must answer
        again = intent_training.train({"acme": content}, cache_dir=tmp_path)["acme"]
    assert (again.classes, again.vocabulary) == (fitted.classes, fitted.vocabulary)
    for name in ("idf", "coef", "intercept"):
        assert np.array_equal(getattr(again, name), getattr(fitted, name)), name
    # Other examples are another key: fitted anew, beside the first archive.
    fewer = content.model_copy(update={"intents": content.intents[1:]})
    other = intent_training.train({"acme": fewer}, cache_dir=tmp_path)["acme"]
    assert len(other.classes) == len(fitted.classes) - 1
    assert len(list(tmp_path.glob("*.npz"))) == 2
    # An unreadable archive is fitted anew and replaced: never a failed start.
    kept.write_bytes(b"not an archive")
    healed = intent_training.train({"acme": content}, cache_dir=tmp_path)["acme"]
    assert np.array_equal(healed.coef, fitted.coef)
    assert kept.read_bytes() != b"not an archive"


def test_detectors_built_from_the_shipped_cues_read_requests_refusals_and_repeats(bot: Bot) -> None:
    """The same readings as the tests above, from detectors built here: the bot fixture builds its
    detectors once, before any test, so these check the construction of the cue patterns themselves
    (the person and staff alternations, the frames' {P} and {Q}, the verbs, possessives and callbacks)."""
    detectors = Detectors(read_cues(), bot.tenant("demo").content.escalation.extra_human_request)
    for text in [*CALL_ME_BACK, *INDIRECT_REQUESTS, "agent please", "un humain svp"]:
        assert detectors.human_request(detectors.canonical(text)), text
    for text in NOT_CALL_ME_BACK:
        assert not detectors.human_request(detectors.canonical(text)), text
    for text in NOT_REQUESTS:
        canonical = detectors.canonical(text)
        assert not detectors.human_request(canonical) or detectors.negated(canonical), text
    for text in [*NO_PERSON_WANTED, "no need to call me back, the parcel came"]:
        assert detectors.negated(detectors.canonical(text)), text
    assert not detectors.negated(detectors.canonical("agent please"))
    assert detectors.repeated_contact(normalise("this is my fourth email about the same refund"))
    assert not detectors.repeated_contact(normalise("where is my parcel"))
    assert detectors.sarcasm("parabens pelo app novo agora nem login eu consigo")


def test_a_cue_family_left_empty_detects_nothing(bot: Bot) -> None:
    """A tenant's cues may leave out sarcasm, repeated contact, 'no person wanted' or the callback verbs:
    an empty pattern would match every message, so it is no detector at all."""
    cues = read_cues()
    extra = bot.tenant("demo").content.escalation.extra_human_request
    empty = Detectors(
        cues.model_copy(
            update={
                "sarcasm_praise": "",
                "repeated_contact": "",
                "no_person_wanted": "",
                "callback_verbs": "",
            }
        ),
        extra,
    )
    assert not empty.sarcasm("great service 👏 still no parcel")
    assert not empty.repeated_contact(normalise("hello, where is my parcel"))
    assert not empty.negated(empty.canonical("agent please, no rush"))
    assert not empty.negated(empty.canonical("hello, where is my parcel"))
    no_letdown = Detectors(cues.model_copy(update={"sarcasm_letdown": ""}), extra)
    assert not no_letdown.sarcasm("great service, thank you 👏")
    full = Detectors(cues, extra)
    assert full.sarcasm("great service 👏 still no parcel")
    assert not full.sarcasm("great service, thank you 👏")
    assert not full.sarcasm("still no parcel")
