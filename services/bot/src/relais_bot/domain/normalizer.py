"""The text the escalation model reads: one spelling for the many ways customers write the same thing.

Lower case, no accents, letters repeated three times or more kept once ("pleaaase" -> "please"),
common SMS spellings written out ("pls" -> "please", "qqn" -> "quelqu'un"), emoji and runs of "?"/"!"
turned into tokens ("🙄" -> "emo_eyeroll", "???" -> "punct_qqq"), a message in capitals marked
("tok_caps"), a bare keypad digit marked ("tok_keypad"), and two phrases that carry an escalation
word and mean something else written as one token ("human resources" -> "hr", "data allowance" ->
"mobiledata"). Also the features (word and character n-grams) the model is trained on and applied
with: the same function in both places.
"""

import functools
import itertools
import re
import unicodedata

from relais_bot.domain.language import plain_apostrophes, without_marks

# Only where long messages are concerned: what the model reads of one message (see `bounded`).
HEAD_CHARS = 2000
TAIL_CHARS = 500

_EMOJI = {
    "🙄": "emo_eyeroll", "👏": "emo_clap", "🤡": "emo_clown", "🙃": "emo_upside", "😒": "emo_unamused",
    "😡": "emo_angry", "🤬": "emo_angry", "😠": "emo_angry", "😤": "emo_angry", "💩": "emo_angry",
    "😂": "emo_laugh", "🤣": "emo_laugh", "😅": "emo_laugh", "😆": "emo_laugh",
    "👍": "emo_ok", "👌": "emo_ok", "✅": "emo_ok", "🆗": "emo_ok",
    "😊": "emo_happy", "😀": "emo_happy", "😃": "emo_happy", "😄": "emo_happy", "😍": "emo_happy",
    "❤": "emo_happy", "🥰": "emo_happy", "😁": "emo_happy", "☺": "emo_happy",
    # The slight smile closes sarcasm ("45 minutes on hold, love that for me 🙂") as often as thanks.
    "🙂": "emo_slight",
    "🙏": "emo_pray", "😢": "emo_sad", "😭": "emo_sad", "😞": "emo_sad", "😔": "emo_sad", "💔": "emo_sad",
    "👎": "emo_no", "❌": "emo_no", "🚫": "emo_no",
}  # fmt: skip
# Unambiguous SMS spellings of any of the six languages, written out (whole tokens only).
_SMS = {
    "pls": "please",
    "plz": "please",
    "plez": "please",
    "pleas": "please",
    "u": "you",
    "ur": "your",
    "r": "are",
    "thx": "thanks",
    "thks": "thanks",
    "ty": "thanks",
    "sum1": "someone",
    "some1": "someone",
    "any1": "anyone",
    "coz": "because",
    "cuz": "because",
    "abt": "about",
    "msg": "message",
    "asap": "asap",
    "ppl": "people",
    "wanna": "want to",
    "gonna": "going to",
    "idk": "i don't know",
    "rn": "right now",
    "qqn": "quelqu'un",
    "qq1": "quelqu'un",
    "qqun": "quelqu'un",
    "jveux": "je veux",
    "jvoudrais": "je voudrais",
    "jsuis": "je suis",
    "chui": "je suis",
    "jpeux": "je peux",
    "jai": "j'ai",
    "pq": "pourquoi",
    "bcp": "beaucoup",
    "stp": "s'il te plait",
    "svp": "s'il vous plait",
    "slt": "salut",
    "auj": "aujourd'hui",
    "tjrs": "toujours",
    "tjs": "toujours",
    "esk": "est-ce que",
    "koi": "quoi",
    "xfa": "por favor",
    "porfa": "por favor",
    "xq": "porque",
    "q": "que",
    "tb": "tambien",
    "kiero": "quiero",
    "msj": "mensaje",
    "grax": "gracias",
    "bte": "bitte",
    "dnk": "danke",
    "vllt": "vielleicht",
    "nich": "nicht",
    "nn": "non",
    "xke": "perche",
    "cmq": "comunque",
    "qlcn": "qualcuno",
    "qlc1": "qualcuno",
    "qlk1": "qualcuno",
    # "someone" in German SMS, and in Spanish and Portuguese alike (alguien / alguém share the n-grams).
    "jmd": "jemand",
    "jmdn": "jemanden",
    "jmdm": "jemandem",
    "alg": "alguien",
    "algn": "alguien",
    "sb": "somebody",
    "smb": "somebody",
    "grz": "grazie",
    "sn": "sono",
    "vc": "voce",
    "vcs": "voces",
    "pfv": "por favor",
    "pf": "por favor",
    "blz": "beleza",
    "hj": "hoje",
}
_RUN = re.compile(r"([^\W\d_])\1{2,}")
_PUNCT = re.compile(r"[?!]{2,}")
_TOKEN = re.compile(r"emo_[a-z]+|punct_[a-z]+|tok_[a-z]+|[^\W_]+(?:'[^\W_]+)*")
_LETTER = re.compile(r"[^\W\d_]")
_DIGITS = re.compile(r"\d+")
# Phrases that carry an escalation word and mean something else, written as one token before anything
# reads them: "human resources" names a department, not a human ("je suis responsable des
# ressources humaines" asks for nobody), and mobile data is an allowance, not personal data ("whats my
# data allowance", "wie viele Daten habe ich verbraucht" are no privacy concern).
_HUMAN_RESOURCES = re.compile(
    r"\b(?:human resources?|ressources humaines|recursos humanos|risorse umane|human ressources)\b"
)
_UNIT = r"(?:\d+ ?)?(?:gb|go|mb|mo|giga|gigas|gigabytes?)"
_MOBILE_DATA = re.compile(
    r"\b(?:mobile data|data (?:allowance|usage|plan|bundle|pack|add-on|roaming|limit|cap|left|balance)"
    r"|(?:donnees|data) (?:mobiles?|internet)|(?:forfait|enveloppe|recharge|pass) data|(?:toute )?ma data"
    r"|datos (?:moviles|del movil)|consumo de datos|bono de datos|tarifa de datos"
    # "I miei dati" are personal data given away or to be erased ("abbia fornito i miei dati a una terza
    # persona", blind z58; "cancellare i miei dati personali").
    r"|dati (?:mobili|del cellulare|internet)|quanti dati"
    r"|(?<!fornito )(?<!dato )(?<!comunicato )(?<!passato )(?<!cancellare )(?<!cancellate )(?<!eliminare )"
    r"i miei dati(?! personali| a terz| a una terza| a un'altra| a qualcuno)|consumo (?:dei|di) dati|giga"
    r"|dados (?:moveis|do celular|do telemovel)|pacote de dados|consumo de dados"
    r"|(?:mobile |mobilen )?daten ?volumen"
    r"|(?:mobile|mobilen) daten|(?:wie viele|meine) daten(?= (?:ich|habe|hab|sind|noch|diesen|im))"
    r"|(?:(?:my|mes|mis|meus|os|i miei|meine) )?(?:data|donnees|datos|dados|dati|daten)"
    r" (?:ran out|run out|sont epuisees|se (?:me )?acabaron|acabaram|sono finiti|aufgebraucht)"
    rf"|{_UNIT} (?:de |of |an |di )?(?:data|datos|dados|dati|daten|donnees))\b"
)

# The network a phone company runs on is its operator ("vous passez par quel opérateur pour le réseau",
# "su che rete vi appoggiate, quale operatore?", "qual operadora"): a carrier, not a person to talk to.
_CARRIER = re.compile(
    r"\b(?:(?:which|what|quel|quelle|quale|qual|que|welcher|welchen) (?:network |mobile |phone )?"
    r"(?:operators?|carriers?|operateurs?|operatore|operatori|operador|operadora|operadores)"
    r"|(?:network|mobile|phone) (?:operator|carrier)s?|operateurs? (?:reseau|mobiles?|telephoniques?)"
    r"|operatori? (?:di rete|telefonic[oi]|mobil[ei])"
    r"|operador(?:a|es)? (?:de red|movil|de telefonia|de celular|de telemovel|de rede|de telefone)"
    r"|mobilfunk ?(?:betreiber|anbieter|netz)|netzbetreiber)\b"
)
# Call forwarding is a line's feature ("inoltro di chiamata dal fisso", "renvoi d'appel", "desvío de
# llamadas"), not a call put through to a person (blind z31: a business customer's new SIM). German's
# one word for it ("Rufumleitung") the model reads right as it is.
_CALL_FORWARDING = re.compile(
    r"\b(?:call (?:forwarding|diversion|divert)|(?:forward|divert)(?:ing)? (?:my |the |our )?calls"
    r"|(?:renvoi|redirection)s? d'appels?|desvio (?:de|das?) (?:llamadas|chamadas)"
    r"|reencaminhamento (?:de|das) chamadas|inoltro (?:di|delle) chiamat[ae]"
    r"|deviazione (?:di|delle) chiamat[ae])\b"
)
# A GP's surgery is a place in British English ("registered at your surgery", "the practice manager at
# the surgery"), not an operation (blind z32).
_GP_SURGERY = re.compile(
    r"\b(?:your|our|the local|gp'?s?|doctors?'?s?|(?:at|to|from|with|into|rang|called|phoned|ring|call|phone)"
    r" the) surgery\b"
    r"(?! (?:went|was|were|is|will|has|had|on|to|for|itself|recovery|wound|scar|date|last|next|that|and)\b)"
    r"|\bthe surgery(?= (?:switched|changed|moved|closed|closes|opens|reception\w*|phone|practice|manager"
    r"|told|sent|website|app)\b)"
)
# Moving home in Italian ("mi trasferisco a Torino") shares its verb with being put through ("mi
# trasferisca a un operatore").
_MOVING = re.compile(
    r"\b(?:mi trasferisco|ci trasferiamo|mi sono trasferit[oa]|ci siamo trasferiti|mi trasferiro)\b"
)

# A device that "died" ("se me murió el celular", "my phone died", "o telemóvel morreu") is flat, not
# bereaved.
_DEVICE = (
    r"(?:phone|mobile|cell|battery|laptop|router|modem|tablet|celular|cel|movil|telefono|bateria|portable"
    r"|telephone|batterie|batteria|handy|akku|cellulare|telefonino|computer|pc|telemovel|computador"
    r"|ordenador|charger|chargeur|cargador|carregador|caricabatterie|ladegerat)"
)
_DIED = r"(?:(?:se me |se le |se |me )?muri[oó]|(?:mi |gli |le )?e mort[oa]|morreu|est morte?|ist gestorben)"
_ARTICLE = r"(?:el |la |mi |o |a |il |my |l'|mio |mia |meu |minha |mon |ma |le |mein |meine |der |die |das )"
_DEVICE_DIED = re.compile(
    rf"\b(?:{_DIED} {_ARTICLE}?{_DEVICE}"
    rf"|{_DEVICE} (?:(?:has |just |se me |se |ist |est |e |hat )?"
    r"(?:died|morreu|murio|mort|morto|tot|gestorben|den geist aufgegeben)))\b"
)
# A doctor's or a nurse's hospital is their workplace ("o meu marido é médico e está de prevenção no
# hospital", "sono infermiera all'ospedale"): the health cues read "in the hospital" as a stay there.
# So is the hospital where the customer works ("voy a trabajar por turnos en el hospital", "I work
# nights at the hospital", "ich arbeite im Krankenhaus"): a working verb right before it (blind z31).
# The same for its intensive care unit, which counts as a stay whatever the model reads (blind z35).
_WORKPLACE = re.compile(
    r"\b((?:medic[oa]s?|enfermeir[oa]s?|doctor|nurse|medecin|infirmiere?|arzt|arztin|krankenschwester"
    r"|(?:kranken)?pfleger(?:in)?|infermier[ea]|enfermer[oa]|surgeon|chirurg\w*|cirujan[oa]|cirurgia[o]"
    r"|residente|interne)\b[^.?!]{0,60}?"
    r"|(?:trabaj(?:o|a|amos|an|ar|ando)|work(?:s|ing)?|travaill(?:e|es|ons|ent|er|ant)|arbeit(?:e|et|en)"
    r"|lavor(?:o|a|iamo|ano|are|ando)|trabalh(?:o|a|amos|am|ar|ando))\b(?: [\w']+){0,3}?"
    r" (?:en el|en un|at the|at a|in the|in a|a l'|dans l'|dans un|im|in einem|in|all'|nell'|no|num|en)"
    r" (?:[\w']+ )?)\b(?:hospital|hopital|krankenhaus|ospedale|klinik|clinica|icu|uci|uti|intensive care"
    r"|terapia intensiva|soins intensifs|cuidados intensivos|intensivstation|reanimation|rianimazione)\b"
)


def fixed_phrases(plain: str) -> str:
    """Lower-case, accent-free text with the phrases above written "hr", "mobiledata", "carrier",
    "trasloco", "callforwarding", "gppractice", "deviceflat" and "workplace"."""
    plain = _MOBILE_DATA.sub("mobiledata", _HUMAN_RESOURCES.sub("hr", plain))
    plain = _MOVING.sub("trasloco", _CARRIER.sub("carrier", _CALL_FORWARDING.sub("callforwarding", plain)))
    plain = _GP_SURGERY.sub(lambda m: m.group(0).removesuffix("surgery") + "gppractice", plain)
    return _WORKPLACE.sub(r"\1workplace", _DEVICE_DIED.sub("deviceflat", plain))


def bounded(text: str) -> str:
    """The part of a message the detectors read: its first HEAD_CHARS and last TAIL_CHARS characters.

    A request for a person sits at the start (or at the end, before the signature) of a long email; one
    long message must not hold the bot for long, whatever its size.
    """
    if len(text) <= HEAD_CHARS + TAIL_CHARS:
        return text
    return f"{text[:HEAD_CHARS]}\n{text[-TAIL_CHARS:]}"


def shouting(text: str) -> bool:
    """Mostly capitals over at least ten letters."""
    letters = _LETTER.findall(text)
    return len(letters) >= 10 and sum(c.isupper() for c in letters) >= 0.7 * len(letters)


def normalize(text: str) -> str:
    text = bounded(text)
    marks = []
    if shouting(text):
        marks.append("tok_caps")
    if text.strip() in ("0", "0️⃣", "#0", "zero"):
        marks.append("tok_keypad")
    for emoji, token in _EMOJI.items():
        if emoji in text:
            text = text.replace(emoji, f" {token} ")
    text = _PUNCT.sub(lambda m: " punct_qqq " if "?" in m.group(0) else " punct_xxx ", text)
    decomposed = unicodedata.normalize("NFKD", plain_apostrophes(text))
    plain = fixed_phrases(without_marks(decomposed).lower())
    tokens = [t if "_" in t else _spelled(t) for t in _TOKEN.findall(plain)]
    return " ".join([*tokens, *marks])


@functools.lru_cache(maxsize=50_000)
def _spelled(token: str) -> str:
    """A word with its letter runs squeezed ("sooo" -> "so") and its SMS spelling written out; cached:
    customers use the same few thousand words, and the substitution was a tenth of normalizing."""
    squeezed = _RUN.sub(r"\1", token)
    return _SMS.get(squeezed, squeezed)


@functools.lru_cache(maxsize=50_000)
def _word_grams(word: str) -> tuple[str, ...]:
    """Character n-grams (3 to 5) of one word with its boundaries: tolerant of typos and inflection."""
    if word.startswith(("emo_", "punct_", "tok_")):
        return ()
    padded = f" {word} "
    return tuple(padded[i : i + n] for n in (3, 4, 5) for i in range(len(padded) - n + 1))


def features(normalized: str) -> list[str]:
    """Word unigrams and bigrams, and character n-grams of each word, of a normalized message."""
    words = _DIGITS.sub("0", normalized).split()
    grams = [f"w {w}" for w in words]
    grams += [f"b {a} {b}" for a, b in itertools.pairwise(words)]
    for w in words:
        grams += _word_grams(w)
    return grams
