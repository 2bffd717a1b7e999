"""Routing configuration files: one `<tenant>.yaml` (or `.json`) per tenant in a directory."""

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import ValidationError

from relais_contracts import TENANT_PATTERN
from relais_router.domain import RoutingConfig

_SUFFIXES = (".yaml", ".yml", ".json")


@dataclass(frozen=True)
class TenantConfig:
    tenant: str
    config: dict[str, object]  # as validated, in its canonical JSON form
    digest: str


def read_configs(directory: Path) -> tuple[list[TenantConfig], list[str]]:
    """Every valid tenant file, and one line per file that is not (the others still load)."""
    configs: list[TenantConfig] = []
    errors: list[str] = []
    for path in sorted(directory.iterdir()):
        if path.suffix not in _SUFFIXES or path.name.startswith("."):
            continue
        tenant = path.stem
        if not re.match(TENANT_PATTERN, tenant):
            errors.append(f"{path.name}: {tenant!r} is not a valid tenant id")
            continue
        try:
            raw = yaml.safe_load(path.read_text()) or {}
            config = RoutingConfig.model_validate(raw)
        except (OSError, yaml.YAMLError) as exc:
            errors.append(f"{path.name}: cannot be read: {exc}")
            continue
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(map(str, e['loc'])) or '(file)'}: {e['msg']}" for e in exc.errors()
            )
            errors.append(f"{path.name}: {problems}")
            continue
        canonical = config.model_dump(mode="json")
        digest = hashlib.sha256(json.dumps(canonical, sort_keys=True).encode()).hexdigest()
        configs.append(TenantConfig(tenant, canonical, digest))
    return configs, errors
