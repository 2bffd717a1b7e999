"""Reads the tenants' content files and the shared cue lexicons, and builds the bot from them.

The bundled files live in the package (relais_bot/content/); a deployment adds or overrides tenants
with `<tenant>.yaml` files in RELAIS_BOT_CONTENT_DIR. Any invalid file stops the start-up with the
file's name and the reason.
"""

import ctypes
import ctypes.util
import gc
from pathlib import Path

import yaml
from pydantic import ValidationError

from relais_bot.adapters import intent_training
from relais_bot.domain.content import Content, Cues
from relais_bot.domain.escalation import Detectors
from relais_bot.domain.escalation_model import EscalationModel
from relais_bot.domain.intents import CharNgramClassifier, IntentWeights
from relais_bot.domain.language import LanguageIdentifier, words
from relais_bot.domain.policy import Bot, TenantBot
from relais_bot.domain.sentiment import VaderSentiment

BUNDLED = Path(__file__).resolve().parent.parent / "content"
# Trained by `make train-bot` (relais_bot.training) from services/bot/corpus; read once at start-up.
MODEL = BUNDLED / "escalation-model.npz"


class ContentError(ValueError):
    """A content file that cannot be used, with the reason."""


def _reasons(path: Path, exc: ValidationError) -> ContentError:
    """One line per problem, naming where it is; never the whole file back."""
    reasons = "; ".join(
        f"{'.'.join(map(str, e['loc'])) or 'file'}: {e['msg']}"
        for e in exc.errors(include_input=False, include_url=False)
    )
    return ContentError(f"{path}: {reasons}")


def _read(path: Path) -> object:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ContentError(f"{path}: {exc}") from None


def read_cues(path: Path = BUNDLED / "cues.yaml") -> Cues:
    try:
        return Cues.model_validate(_read(path))
    except ValidationError as exc:
        raise _reasons(path, exc) from None


def read_contents(*directories: Path | None) -> dict[str, Content]:
    """Every `<tenant>.yaml` of the directories, later directories overriding earlier ones."""
    contents: dict[str, Content] = {}
    for directory in directories:
        if directory is None:
            continue
        if not directory.is_dir():
            raise ContentError(f"{directory}: not a directory")
        for path in sorted(directory.glob("*.yaml")):
            if path.name == "cues.yaml":
                continue
            try:
                content = Content.model_validate(_read(path))
            except ValidationError as exc:
                raise _reasons(path, exc) from None
            if content.tenant != path.stem:
                raise ContentError(f"{path}: declares tenant {content.tenant!r}, expected {path.stem!r}")
            contents[content.tenant] = content
    return contents


def read_model(path: Path = MODEL) -> EscalationModel:
    try:
        return EscalationModel.load(path)
    except (OSError, ValueError, KeyError) as exc:
        raise ContentError(f"{path}: {exc}") from None


def tenant_bot(
    content: Content, cues: Cues, intents: IntentWeights, model: EscalationModel | None = None
) -> TenantBot:
    """A tenant's content with its trained classifier, language identifier and detectors."""
    known: dict[str, set[str]] = {}
    for intent in content.intents:
        for language, examples in intent.examples.items():
            for example in examples:
                known.setdefault(" ".join(words(example)), set()).add(language)
    # Short phrases of the content that belong to one language only settle a message lingua is unsure of.
    phrases = {k: next(iter(v)) for k, v in known.items() if len(v) == 1 and len(k.split()) <= 3}
    classifier = CharNgramClassifier(intents)
    return TenantBot(
        content=content,
        classifier=classifier,
        languages=LanguageIdentifier(content.languages, phrases, content.default_language, 0.5),
        detectors=Detectors(cues, content.escalation.extra_human_request, model),
    )


def build_bot(
    content_dir: Path | None = None, default_tenant: str = "demo", intents_cache_dir: Path | None = None
) -> Bot:
    cues = read_cues()
    contents = read_contents(BUNDLED, content_dir)
    if default_tenant not in contents:
        raise ContentError(f"no content for the default tenant {default_tenant!r}; found {sorted(contents)}")
    model = read_model()
    intents = intent_training.train(contents, cache_dir=intents_cache_dir)
    tenants = {name: tenant_bot(content, cues, intents[name], model) for name, content in contents.items()}
    bot = Bot(tenants, tenants[default_tenant], VaderSentiment(BUNDLED / "sentiment"))
    release_freed_memory()  # what reading the files and lexicons left behind
    return bot


def release_freed_memory() -> None:
    """Hands back to the system the heap that start-up used and freed (reading the content files, the
    models and lexicons): glibc keeps freed pages otherwise, and the bot's resident memory would carry
    them for its whole life. A no-op where the C library has no malloc_trim (musl, macOS)."""
    gc.collect()
    libc = ctypes.util.find_library("c")
    trim = getattr(ctypes.CDLL(libc), "malloc_trim", None) if libc else None
    if trim is not None:
        trim(0)
