"""A tenant's content: intents with examples and answers per language, messages, escalation settings.

Loaded from a YAML file at start-up (see services/bot/docs/content.md); validated here so a wrong file
stops the service with a precise message instead of misbehaving in front of customers.
"""

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

LANGUAGES = ("fr", "en", "es", "de", "it", "pt")
SENSITIVE_CATEGORIES = ("bereavement", "fraud", "complaint", "health", "vulnerability", "privacy")
ENTITY_KINDS = ("order_number", "amount", "date", "email", "phone", "account")
MESSAGE_KEYS = (
    "clarify", "reach_person", "handoff", "handoff_sensitive", "handoff_failure", "wait_position",
    "wait_expected", "still_waiting", "dequeued_closed", "dequeued_max_wait", "dequeued_no_queue", "returned",
)  # fmt: skip

# Messages a content file may leave out: these words serve then (the confirming question of the unsure
# band, its quick replies, and the reply to a "no"). The quick replies' titles are also their payloads,
# so a customer who types the word instead of pressing the button is understood the same.
DEFAULT_MESSAGES: dict[str, dict[str, str]] = {
    "en": {
        "confirm_person": "Would you like to talk to a person?",
        "confirm_yes": "Yes",
        "confirm_no": "No",
        "person_declined": "All right. How can I help you?",
        # The router gave the conversation to another agent (its agent went silent or offline).
        "reassigned": "Another agent is taking over your conversation; they will see everything you wrote.",
    },
    "fr": {
        "confirm_person": "Souhaitez-vous parler à un conseiller ?",
        "confirm_yes": "Oui",
        "confirm_no": "Non",
        "person_declined": "Très bien. Comment puis-je vous aider ?",
        "reassigned": "Un autre conseiller prend le relais ; il verra tout ce que vous avez écrit.",
    },
    "es": {
        "confirm_person": "¿Quiere hablar con una persona?",
        "confirm_yes": "Sí",
        "confirm_no": "No",
        "person_declined": "De acuerdo. ¿En qué puedo ayudarle?",
        "reassigned": "Otro agente se encarga de su conversación; verá todo lo que ha escrito.",
    },
    "de": {
        "confirm_person": "Möchten Sie mit einem Menschen sprechen?",
        "confirm_yes": "Ja",
        "confirm_no": "Nein",
        "person_declined": "In Ordnung. Wie kann ich Ihnen helfen?",
        "reassigned": (
            "Ein anderer Mitarbeiter übernimmt Ihr Gespräch; er sieht alles, was Sie geschrieben haben."
        ),
    },
    "it": {
        "confirm_person": "Vuole parlare con una persona?",
        "confirm_yes": "Sì",
        "confirm_no": "No",
        "person_declined": "Va bene. Come posso aiutarla?",
        "reassigned": (
            "Un altro operatore prende in carico la sua conversazione; vedrà tutto ciò che ha scritto."
        ),
    },
    "pt": {
        "confirm_person": "Gostaria de falar com uma pessoa?",
        "confirm_yes": "Sim",
        "confirm_no": "Não",
        "person_declined": "Tudo bem. Como posso ajudar?",
        "reassigned": "Outro atendente vai continuar a sua conversa; verá tudo o que escreveu.",
    },
}


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Trigger(_Model):
    enabled: bool = True
    priority: int = Field(default=50, ge=0, le=100)
    # None: the intent's queue (or the default queue) and skills.
    queue: str | None = None
    skills: tuple[str, ...] | None = None


class Frustration(Trigger):
    # One turn at or below this VADER compound score is frustration on its own.
    turn_threshold: float = Field(default=-0.6, ge=-1, le=0)
    # Consecutive turns at or below this score (or with a sign of an earlier failure) add up.
    negative_turn: float = Field(default=-0.3, ge=-1, le=0)
    negative_turns: int = Field(default=2, ge=1)
    shouting: bool = True


class Sensitive(Trigger):
    categories: tuple[str, ...] = SENSITIVE_CATEGORIES

    @model_validator(mode="after")
    def _known(self) -> "Sensitive":
        unknown = set(self.categories) - set(SENSITIVE_CATEGORIES)
        if unknown:
            raise ValueError(f"unknown sensitive categories {sorted(unknown)}; known: {SENSITIVE_CATEGORIES}")
        return self


class Stuck(Trigger):
    low_confidence_turns: int = Field(default=2, ge=1)
    # The same (non small-talk) intent this many turns in a row: the answer did not help.
    repeated_intent_turns: int = Field(default=3, ge=2)
    # Customer turns handled by the bot (small talk excluded) before it gives the conversation to a person.
    max_turns: int = Field(default=12, ge=1)


class Vip(Trigger):
    customer_ids: tuple[str, ...] = ()
    customer_refs: tuple[str, ...] = ()


class Rule(_Model):
    """A tenant rule: these intents, or these channels, always go to a person."""

    name: str = Field(min_length=1, max_length=40, pattern=r"^[a-z0-9-]+$")
    intents: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()
    priority: int = Field(default=50, ge=0, le=100)
    queue: str | None = None
    skills: tuple[str, ...] | None = None


class Escalation(_Model):
    default_queue: str = Field(default="general", min_length=1, max_length=64)
    human_request: Trigger = Trigger()
    frustration: Frustration = Frustration()
    sensitive: Sensitive = Sensitive(priority=90)
    stuck: Stuck = Stuck(priority=40)
    vip: Vip = Vip(priority=70)
    rules: tuple[Rule, ...] = ()
    # Extra patterns of the tenant, added to the shared cues (same normalised text).
    extra_human_request: tuple[str, ...] = ()


class Classifier(_Model):
    # Below this confidence the bot asks a clarifying question instead of answering.
    min_confidence: float = Field(default=0.4, ge=0, le=1)


class Waiting(_Model):
    """How often the customer hears about their place in the queue."""

    min_interval_s: int = Field(default=60, ge=0)
    min_position_change: int = Field(default=1, ge=1)
    min_wait_change_s: int = Field(default=60, ge=0)


class Intent(_Model):
    name: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9_]+$")
    examples: dict[str, tuple[str, ...]]
    answers: dict[str, str]
    entities: tuple[str, ...] = ()
    queue: str | None = None
    skills: tuple[str, ...] = ()
    sensitivity: Literal["none", "confidential"] = "none"
    # Greetings and thanks: not a request, so they neither count as turns nor get the "reach a person" hint.
    small_talk: bool = False
    # Whether the answer settles the request; when it does not, the bot says how to reach a person.
    solves: bool = False

    @model_validator(mode="after")
    def _complete(self) -> "Intent":
        unknown = set(self.entities) - set(ENTITY_KINDS)
        if unknown:
            raise ValueError(f"intent {self.name}: unknown entity kinds {sorted(unknown)}")
        strange = (set(self.examples) | set(self.answers)) - set(LANGUAGES)
        if strange:
            raise ValueError(
                f"intent {self.name}: unsupported languages {sorted(strange)}; supported: {LANGUAGES}"
            )
        if not any(self.examples.values()):
            raise ValueError(f"intent {self.name}: no example utterances")
        return self


class Content(_Model):
    tenant: str = Field(min_length=1)
    bot_name: str = "Relais"
    default_language: str = "en"
    languages: tuple[str, ...] = LANGUAGES
    classifier: Classifier = Classifier()
    escalation: Escalation = Escalation()
    waiting: Waiting = Waiting()
    messages: dict[str, dict[str, str]]
    intents: tuple[Intent, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _every_language_answered(self) -> "Content":
        strange = set(self.languages) - set(LANGUAGES)
        if strange:
            raise ValueError(f"unsupported languages {sorted(strange)}; supported: {LANGUAGES}")
        for language in self.languages:
            missing = [k for k in MESSAGE_KEYS if k not in self.messages.get(language, {})]
            if missing:
                raise ValueError(f"messages.{language}: missing {missing}")
            for intent in self.intents:
                if language not in intent.answers:
                    raise ValueError(f"intent {intent.name}: no answer in {language}")
        if self.default_language not in self.languages:
            raise ValueError(f"default_language {self.default_language} is not in languages")
        return self

    def intent(self, name: str) -> Intent | None:
        return next((i for i in self.intents if i.name == name), None)

    def message(self, language: str, key: str) -> str:
        own = self.messages.get(language) or self.messages[self.default_language]
        if key in own:
            return own[key]
        return DEFAULT_MESSAGES.get(language, DEFAULT_MESSAGES["en"])[key]

    def language(self, language: str) -> str:
        """The language the bot answers in: the customer's when the tenant serves it, else the default."""
        return language if language in self.languages else self.default_language


class Cues(_Model):
    """The shared lexicons of the escalation detectors (content/cues.yaml)."""

    person_words: tuple[str, ...]
    not_person_words: tuple[str, ...] = ()
    # The company's people by role ("one of your staff", "un comercial", "un collega"): too common
    # elsewhere to be a request on their own, they stand for a person in the frames that say {Q} (the
    # person words and these), where the sentence makes them the one who calls or helps, and after a
    # verb of asking ("parlare con il direttore"), except the peer words.
    staff_words: tuple[str, ...] = ()
    # Staff words as often the customer's own as the company's (colleagues, employees): never read as the
    # person asked for after a verb of asking ("brauche für einen neuen Kollegen ein Diensthandy").
    peer_words: tuple[str, ...] = ()
    human_request: tuple[str, ...]
    # Frames no routine message uses (zero pressed on a keypad, "are there still real people"): they
    # count whatever the model reads, as the unambiguous sensitive wording does.
    request_unambiguous: tuple[str, ...] = ()
    request_verbs: tuple[str, ...] = ()
    # Calling back, in any language and form ("rappeler", "call me back"): declined after a negation.
    callback_verbs: str = ""
    # Being asked to be called, the verb with its object pronoun: a request even after "no person wanted".
    call_me: str = ""
    # "happy to keep chatting with the bot", thanks to someone who already helped: no person is wanted,
    # whatever the model reads.
    no_person_wanted: str = ""
    request_window: int = 5
    short_request_max_words: int = 5
    possessives: str
    negations: str
    frustration_strong: dict[str, str]
    # Insults aimed at the bot or the service ("euer Chatbot ist der letzte Mist", "sto bot non capisce
    # una mazza"): they count whatever the model reads, which takes a lone "Mist" for a shrug.
    frustration_unambiguous: str = ""
    # The customer says the feeling is not about the company ("not your fault obviously", "rien à voir
    # avec vous", "non è colpa vostra"): what they vented before it is about someone else.
    not_at_us: str = ""
    # A change of subject ("anyway", "bref", "mas enfim", "comunque sia", "jedenfalls"): after venting
    # that names nobody of the company (`addressed_to_us` finds no "you", "vous", "vocês", ...), what came
    # before is an anecdote, as before `not_at_us`.
    change_of_subject: str = ""
    addressed_to_us: str = ""
    # A product recall named ("einen Rückruf für den Wasserkocher", "rappel de produit", "richiamo del
    # bollitore"): the words a recall shares with a call-back (`recall_words`: Rückruf, rappel, richiamo)
    # mean the recall everywhere in that message.
    product_recall: str = ""
    recall_words: str = ""
    frustration_weak: dict[str, str]
    sensitive: dict[str, str]
    # Wording no routine question uses ("had a stroke", "dialysis", "a women's refuge", "I am deaf"): it
    # counts whatever the model reads. The model reads a practical question about tickets or post as
    # routine, and the situation told in passing is what a person must see.
    sensitive_unambiguous: dict[str, str] = {}
    # What a thief takes ("Handy", "portefeuille", "tarjeta"): {T} in `sensitive_unambiguous`.
    stolen_things: tuple[str, ...] = ()
    # Sarcasm: a praise word together with a let-down ("bravo ... still no parcel") or an ironic emoji.
    sarcasm_praise: str = ""
    sarcasm_letdown: str = ""
    # A congratulation that is a whole sentence ("Enhorabuena.", "Parabéns pelo trabalho.", "Well done."):
    # closing a story the model finds possibly angry, it is irony (blind z31).
    congratulations_alone: str = ""
    # Praise addressed to one of the company's people ("i complimenti a Marco, l'operatore", "remercier
    # Nadia, du service client", "thank Sarah from your team"): sincere, whatever the model reads.
    praise_for_staff: str = ""
    # "third time I write", "je vous ai écrit 3 fois": contact repeated without result.
    repeated_contact: str = ""
    # Mails or messages the customer received, counted ("j'ai reçu trois mails de confirmation", "I got
    # two emails saying it shipped"): what the company or a fraudster sent, not contact repeated by the
    # customer. Matched on the words just before a `repeated_contact` count.
    contact_received: str = ""

    def unambiguous(self) -> dict[str, str]:
        """`sensitive_unambiguous` with {T} written out as the alternation of `stolen_things` (the longest
        first, so "mobile phone" is tried before "mobile")."""
        things = "|".join(re.escape(t) for t in sorted(self.stolen_things, key=len, reverse=True))
        return {k: v.replace("{T}", f"(?:{things})") for k, v in self.sensitive_unambiguous.items()}
