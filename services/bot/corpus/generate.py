"""Writes corpus/generated.jsonl: phrase families x registers x noise, from a fixed seed.

    uv run python services/bot/corpus/generate.py

The same seed and phrases give byte-identical output (a unit test checks it). See README.md.
"""

import json
import random
import re
import sys
import unicodedata
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from phrases import EMAIL, EMAIL_FILLER, SLOTS, SMS, SWITCH, VOICE_FILLERS, F

SEED = 20260105
OUT = Path(__file__).resolve().parent / "generated.jsonl"
# How many messages per language and label; sensitive categories each get their own count.
PER_LABEL = {"customer-request": 300, "frustration": 240, "none": 600}
PER_CATEGORY = {
    "fraud": 140,
    "vulnerability": 140,
    "health": 140,
    "privacy": 70,
    "bereavement": 70,
    "complaint": 70,
}
REGISTERS = ("chat", "chat", "sms", "no-accents", "typos", "voice", "email", "code-switch")

_ALT = re.compile(r"\(([^()]*)\)")
_OPT = re.compile(r"\[([^\[\]]*)\]")
_REGEX_OPT = re.compile(r"\(([^()]*)\)\?")
_SLOT = re.compile(r"\{([A-Z]+)\}")


def expand(template: str, language: str, rng: random.Random) -> str:
    text = _REGEX_OPT.sub(r"[\1]", template)  # "(x)?" written regex-style is an optional part too
    while m := _OPT.search(text):
        kept = rng.choice(m.group(1).split("|")) if rng.random() < 0.5 else ""
        text = text[: m.start()] + kept + text[m.end() :]
    while m := _ALT.search(text):
        text = text[: m.start()] + rng.choice(m.group(1).split("|")) + text[m.end() :]

    def slot(m: re.Match[str]) -> str:
        if m.group(1) == "ORDERNO":
            return str(rng.randint(10000, 99999))
        return rng.choice(SLOTS[language][m.group(1)])

    text = _SLOT.sub(slot, text)
    return " ".join(text.split())


def strip_accents(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def typos(text: str, rng: random.Random) -> str:
    words = text.split(" ")
    for _ in range(rng.randint(1, 2)):
        candidates = [i for i, w in enumerate(words) if len(w) >= 4 and w.isalpha()]
        if not candidates:
            break
        i = rng.choice(candidates)
        w, p = words[i], rng.randint(1, len(words[i]) - 2)
        op = rng.choice(("swap", "drop", "double", "near"))
        if op == "swap":
            w = w[:p] + w[p + 1] + w[p] + w[p + 2 :]
        elif op == "drop":
            w = w[:p] + w[p + 1 :]
        elif op == "double":
            w = w[:p] + w[p] + w[p:]
        else:
            w = w[:p] + rng.choice("aeiosnrt") + w[p + 1 :]
        words[i] = w
    return " ".join(words)


def sms(text: str, language: str, rng: random.Random) -> str:
    text = text.lower()
    for long, short in SMS[language].items():
        if rng.random() < 0.8:
            text = re.sub(rf"(?<!\w){re.escape(long)}(?!\w)", short, text)
    text = strip_accents(text) if rng.random() < 0.7 else text
    return text.rstrip(".") + rng.choice(("", "", " !!", " ?", " 🙏", " pls"))


def voice(text: str, language: str, rng: random.Random) -> str:
    words = re.sub(r"[^\w\s']", " ", text.lower()).split()
    fillers = VOICE_FILLERS[language]
    if rng.random() < 0.7:
        words.insert(0, rng.choice(fillers))
    if len(words) > 3 and rng.random() < 0.5:
        words.insert(rng.randint(1, len(words) - 1), rng.choice(fillers))
    return " ".join(words)


def email(text: str, language: str, rng: random.Random) -> str:
    greetings, signatures = EMAIL[language]
    filler = rng.sample(EMAIL_FILLER[language], 2)
    body = text[:1].upper() + text[1:]
    body = body if body.endswith((".", "?", "!")) else body + "."
    lines = [rng.choice(greetings), "", filler[0], body, filler[1], "", rng.choice(signatures)]
    return "\n".join(lines)


def code_switch(text: str, language: str, rng: random.Random) -> str:
    swapped = text
    for word, english in SWITCH[language].items():
        swapped = re.sub(rf"\b{re.escape(word)}\b", english, swapped, flags=re.IGNORECASE)
    if swapped == text and language != "en":
        swapped = text + " " + rng.choice(("please", "asap", "thanks", "ok?"))
    return swapped


def render(text: str, register: str, language: str, rng: random.Random) -> str:
    match register:
        case "sms":
            return sms(text, language, rng)
        case "no-accents":
            return strip_accents(text).lower()
        case "typos":
            return typos(text, rng)
        case "voice":
            return voice(text, language, rng)
        case "email":
            return email(text, language, rng)
        case "code-switch":
            return code_switch(text, language, rng)
    return text[:1].upper() + text[1:] if rng.random() < 0.5 else text


def generate() -> list[dict[str, object]]:
    rng = random.Random(SEED)
    rows: list[dict[str, object]] = []
    seen: set[str] = set()
    for language in sorted(F):
        targets: list[tuple[str, str | None, int]] = [(label, None, n) for label, n in PER_LABEL.items()]
        targets += [("sensitive", category, n) for category, n in PER_CATEGORY.items()]
        for label, category, n in targets:
            families = F[language][f"sensitive/{category}" if category else label]
            made, tries = 0, 0
            while made < n and tries < n * 20:
                tries += 1
                family = rng.randrange(len(families))
                register = rng.choice(REGISTERS)
                base = expand(families[family], language, rng)
                if base == "0" and register not in ("chat", "voice"):
                    register = "chat"  # a bare keypad digit has no spelling to vary
                text = render(base, register, language, rng)
                if label == "frustration" and register == "chat" and rng.random() < 0.15:
                    text = text.upper() + rng.choice(("???", "!!!", " ?!?!"))
                    register = "shouting"
                key = text.lower()
                if key in seen:
                    continue
                seen.add(key)
                rows.append(
                    {
                        "text": text, "language": language,
                        "label": None if label == "none" else label, "category": category,
                        "register": register, "family": f"{language}/{category or label}/{family}",
                        "source": "generated",
                    }
                )  # fmt: skip
                made += 1
    return rows


def main() -> None:
    rows = generate()
    OUT.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    print(f"{len(rows)} messages written to {OUT}")


if __name__ == "__main__":
    main()
