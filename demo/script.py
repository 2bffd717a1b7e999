"""What the day is made of: who writes, in which language, on which channel, what they say and when.
Pure: a seeded random generator in, a plan out, so one SEED plays the same day again."""

import random
from dataclasses import dataclass

LANGUAGES = ("en", "fr", "es", "de", "it", "pt")
CHANNELS = ("webchat", "sms", "whatsapp", "email")
PHONE_CHANNELS = ("sms", "whatsapp")

# How a day's conversations split: most are routine questions the demo tenant's bot answers
# (services/bot/src/relais_bot/content/demo.yaml); the rest need a person, for one reason or another.
KINDS = {"routine": 0.65, "person": 0.12, "sensitive": 0.08, "angry": 0.08, "switch": 0.07}
CHANNEL_WEIGHTS = {"webchat": 0.4, "whatsapp": 0.25, "sms": 0.2, "email": 0.15}

ROUTINE = {
    "en": [
        "where is my order",
        "how long does delivery take",
        "how do i return an item",
        "what are your opening hours",
        "i need my invoice",
    ],
    "fr": [
        "où en est ma commande",
        "quels sont les délais de livraison",
        "comment retourner un article",
        "quels sont vos horaires d'ouverture",
        "j'ai besoin de ma facture",
    ],
    "es": [
        "dónde está mi pedido",
        "cuánto tarda el envío",
        "cómo devuelvo un producto",
        "cuál es su horario",
        "necesito mi factura",
    ],
    "de": [
        "wo ist meine Bestellung",
        "wie lange dauert der Versand",
        "wie kann ich etwas zurücksenden",
        "wann haben Sie geöffnet",
        "ich brauche meine Rechnung",
    ],
    "it": [
        "dov'è il mio ordine",
        "quali sono i tempi di consegna",
        "come faccio un reso",
        "quali sono i vostri orari",
        "mi serve la fattura",
    ],
    "pt": [
        "onde está a minha encomenda",
        "qual é o prazo de entrega",
        "como devolvo um artigo",
        "qual é o vosso horário",
        "preciso da minha fatura",
    ],
}
THANKS = {
    "en": "thanks",
    "fr": "merci beaucoup",
    "es": "muchas gracias",
    "de": "danke schön",
    "it": "grazie mille",
    "pt": "muito obrigado",
}
PERSON = {
    "en": "I would like to talk to a person please",
    "fr": "je voudrais parler à un conseiller s'il vous plaît",
    "es": "quiero hablar con una persona, por favor",
    "de": "ich möchte bitte mit einem Mitarbeiter sprechen",
    "it": "vorrei parlare con un operatore, per favore",
    "pt": "quero falar com um atendente, por favor",
}
SENSITIVE = {
    "en": [
        "My husband passed away last week and I need to close his account",
        "Someone used my card without my permission, there are payments I never made",
    ],
    "fr": [
        "Mon mari est décédé la semaine dernière et je dois fermer son compte",
        "Quelqu'un a utilisé ma carte sans mon accord, il y a des paiements que je n'ai jamais faits",
    ],
    "es": [
        "Mi marido falleció la semana pasada y necesito cerrar su cuenta",
        "Alguien ha usado mi tarjeta sin mi permiso, hay pagos que nunca hice",
    ],
    "de": [
        "Mein Mann ist letzte Woche verstorben und ich muss sein Konto schließen",
        "Jemand hat meine Karte ohne meine Erlaubnis benutzt, da sind Zahlungen, die ich nie gemacht habe",
    ],
    "it": [
        "Mio marito è morto la settimana scorsa e devo chiudere il suo account",
        "Qualcuno ha usato la mia carta senza il mio permesso, ci sono pagamenti che non ho mai fatto",
    ],
    "pt": [
        "O meu marido faleceu na semana passada e preciso de fechar a conta dele",
        "Alguém usou o meu cartão sem autorização, há pagamentos que nunca fiz",
    ],
}
ANGRY = {
    "en": [
        "THIS IS THE THIRD TIME MY PARCEL IS LATE!!! UNACCEPTABLE",
        "you are useless, nobody ever answers",
    ],
    "fr": [
        "C'EST LA TROISIÈME FOIS QUE MON COLIS EST EN RETARD !!! INADMISSIBLE",
        "vous êtes nuls, personne ne répond jamais",
    ],
    "es": [
        "¡¡¡ES LA TERCERA VEZ QUE MI PAQUETE LLEGA TARDE!!! INACEPTABLE",
        "sois inútiles, nadie contesta nunca",
    ],
    "de": [
        "ZUM DRITTEN MAL KOMMT MEIN PAKET ZU SPÄT!!! UNMÖGLICH",
        "Sie sind nutzlos, niemand antwortet jemals",
    ],
    "it": [
        "È LA TERZA VOLTA CHE IL MIO PACCO È IN RITARDO!!! INACCETTABILE",
        "siete inutili, non risponde mai nessuno",
    ],
    "pt": [
        "É A TERCEIRA VEZ QUE A MINHA ENCOMENDA SE ATRASA!!! INACEITÁVEL",
        "vocês são inúteis, nunca ninguém responde",
    ],
}
NAMES = ("Camille", "Lucas", "Sofia", "Jonas", "Giulia", "Inês", "Noah", "Emma", "Mateo", "Lena")


@dataclass(frozen=True)
class Message:
    after_s: float  # pause before this message, from the previous one (or from the start)
    channel: str
    text: str


@dataclass(frozen=True)
class Conversation:
    number: int
    kind: str
    language: str
    name: str
    messages: tuple[Message, ...]


def _pick(rng: random.Random, weights: dict[str, float]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def conversation(rng: random.Random, number: int) -> Conversation:
    """The next customer of the day: a kind, a language, a channel, and what they write when."""
    kind = _pick(rng, KINDS)
    language = rng.choice(LANGUAGES)
    channel = _pick(rng, CHANNEL_WEIGHTS)

    def pause() -> float:  # reading the answer, typing the next line
        return round(rng.uniform(4.0, 15.0), 1)

    routine = rng.choice(ROUTINE[language])
    if kind == "routine":
        lines = [(channel, routine)] + ([(channel, THANKS[language])] if rng.random() < 0.5 else [])
    elif kind == "person":
        lines = [(channel, routine), (channel, PERSON[language])]
    elif kind == "sensitive":
        lines = [(channel, rng.choice(SENSITIVE[language]))]
    elif kind == "angry":
        lines = [(channel, ANGRY[language][0]), (channel, ANGRY[language][1])]
    else:  # switch: starts on one channel, goes on on another of the same customer's, then wants a person
        first, second = rng.choice([("sms", "whatsapp"), ("whatsapp", "sms"), ("webchat", "email")])
        lines = [(first, routine), (second, PERSON[language])]
    messages = tuple(Message(0.0 if i == 0 else pause(), ch, text) for i, (ch, text) in enumerate(lines))
    return Conversation(number, kind, language, rng.choice(NAMES), messages)


def address(channel: str, run: str, number: int) -> str:
    """The customer's address on a channel: one phone number for SMS and WhatsApp (the same customer on
    both), one email for email and the web chat (which vouches for it), unique to the run."""
    if channel in PHONE_CHANNELS:
        return f"+3367{int(run, 16) % 100:02d}{number % 100_000:05d}"
    if channel == "email":
        return f"customer-{run}-{number}@demo.example"
    return f"visitor-{run}-{number}"


AGENT_SKILLS = (
    {"orders": 3, "billing": 2},
    {"care": 4, "orders": 2},
    {"billing": 4, "care": 3},
    {"orders": 4},
)
AGENT_NAMES = ("Ana", "Bruno", "Chloé", "Dario", "Elif", "Farid", "Greta", "Hugo")

GREETING = {
    "en": "Hello, I'm {agent}. I'm looking at this for you.",
    "fr": "Bonjour, je suis {agent}. Je regarde cela pour vous.",
    "es": "Hola, soy {agent}. Lo estoy revisando.",
    "de": "Hallo, ich bin {agent}. Ich sehe mir das an.",
    "it": "Buongiorno, sono {agent}. Controllo subito.",
    "pt": "Olá, sou {agent}. Estou a verificar.",
}
SOLVED = {
    "en": "It's sorted: you'll get a confirmation by email. Anything else?",
    "fr": "C'est réglé : vous recevrez une confirmation par e-mail. Autre chose ?",
    "es": "Ya está resuelto: recibirá una confirmación por correo. ¿Algo más?",
    "de": "Erledigt: Sie erhalten eine Bestätigung per E-Mail. Sonst noch etwas?",
    "it": "Fatto: riceverà una conferma via e-mail. Altro?",
    "pt": "Está resolvido: vai receber uma confirmação por e-mail. Mais alguma coisa?",
}
