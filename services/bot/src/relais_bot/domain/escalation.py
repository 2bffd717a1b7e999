"""What a customer's words say about the need for a person: an explicit request, a sensitive situation,
frustration. Pattern lexicons come from content/cues.yaml; sentiment from a real sentiment library."""

import re
from dataclasses import dataclass

from rapidfuzz import process
from rapidfuzz.distance import OSA

from relais_bot.domain.content import Cues
from relais_bot.domain.language import normalise

_TOKEN = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")
_LETTER = re.compile(r"[^\W\d_]")
_QUELQU_UN = re.compile(r"\bquel ?qu ?'? ?u?n\b")


@dataclass(frozen=True, slots=True)
class Signals:
    """What one customer turn says, before the policy weighs it against the conversation so far."""

    human_request: bool
    sensitive: tuple[str, ...]
    frustrated: bool  # wording that is frustrated or abusive on its own
    failure_hints: int  # signs that an earlier answer did not help ("still not", "third time")
    shouting: bool
    sentiment: float


class Detectors:
    def __init__(self, cues: Cues, extra_human_request: tuple[str, ...] = ()) -> None:
        self._person = frozenset(cues.person_words)
        self._person_list = sorted(self._person)
        self._not_person = frozenset(cues.not_person_words)
        person = "(?:" + "|".join(re.escape(w) for w in sorted(self._person, key=len, reverse=True)) + ")"
        self._human = [
            re.compile(p.replace("{P}", person)) for p in (*cues.human_request, *extra_human_request)
        ]
        self._person_word = re.compile(rf"\b{person}\b")
        verbs = "|".join(re.escape(v) for v in cues.request_verbs)
        # A verb, up to `request_window` words, a person word: "connect me with customer service rep".
        self._near = re.compile(rf"\b(?:{verbs})\b(?:\W+[\w']+){{0,{cues.request_window}}}?\W+{person}\b")
        self._short_max = cues.short_request_max_words
        self._possessive = re.compile(cues.possessives)
        self._negation = re.compile(cues.negations)
        self._strong = {k: re.compile(v) for k, v in cues.frustration_strong.items()}
        self._weak = {k: re.compile(v) for k, v in cues.frustration_weak.items()}
        self._sensitive = {k: re.compile(v) for k, v in cues.sensitive.items()}

    def canonical(self, text: str) -> str:
        """Normalised text with misspelt person words spelled right ("conseiler" -> "conseiller")."""
        return _TOKEN.sub(self._correct, _QUELQU_UN.sub("quelqu'un", normalise(text)))

    def _correct(self, match: "re.Match[str]") -> str:
        token = match.group(0)
        if len(token) < 5 or token in self._person or token in self._not_person:
            return token
        # Two typos only in long words, and never in the first letter: "personali" is not "personne".
        limit = 1 if len(token) < 9 else 2
        best = process.extractOne(token, self._person_list, scorer=OSA.distance, score_cutoff=limit)
        return str(best[0]) if best and best[0][0] == token[0] else token

    def human_request(self, canonical: str) -> bool:
        for pattern in self._human:
            for m in pattern.finditer(canonical):
                # "no need for an agent": the negation may sit inside the match ("no necesito un agente").
                if not self._negation.search(canonical[: m.end()]):
                    return True
        return self._near_request(canonical) or self._short_request(canonical)

    def _near_request(self, canonical: str) -> bool:
        for m in self._near.finditer(canonical):
            person = self._person_word.search(canonical, m.start(), m.end())
            # The person word nearest the verb decides; "my agent" and "no need for an agent" do not ask.
            cut = person.start() if person else m.end()
            if not self._possessive.search(canonical[:cut]) and not self._negation.search(
                canonical[: m.end()]
            ):
                return True
        return False

    def _short_request(self, canonical: str) -> bool:
        """ "agent please", "un humain svp": a few words, one of them a person, nobody's and not negated."""
        if len(_TOKEN.findall(canonical)) > self._short_max:
            return False
        for m in self._person_word.finditer(canonical):
            before, after = canonical[: m.start()], canonical[m.end() :]
            if m.group(0) == "personne" and re.match(r"\s*(?:ne|n')", after):
                continue  # "personne ne répond": nobody
            if not self._possessive.search(before) and not self._negation.search(before):
                return True
        return False

    def sensitive(self, plain: str, categories: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(c for c in categories if c in self._sensitive and self._sensitive[c].search(plain))

    def frustration(self, plain: str, language: str) -> tuple[bool, int]:
        """(strong wording, count of failure hints)."""
        # Abusive words are rarely ambiguous across languages, and a short message's language is often
        # a guess: every language's strong cues apply. Milder hints only in the language (and English).
        strong = any(p.search(plain) for p in self._strong.values())
        languages = dict.fromkeys((language, "en"))
        weak = sum(len(self._weak[lang].findall(plain)) for lang in languages if lang in self._weak)
        return strong, weak

    @staticmethod
    def shouting(text: str) -> bool:
        letters = _LETTER.findall(text)
        capitals = sum(c.isupper() for c in letters)
        return (len(letters) >= 10 and capitals >= 0.7 * len(letters)) or bool(re.search(r"[!?]{3,}", text))
