"""Renders deploy/k8s with the kustomize that `make kustomize` builds, for the deploy tests."""

import functools
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
K8S = REPO / "deploy" / "k8s"
OVERLAYS = sorted(p.name for p in (K8S / "overlays").iterdir() if (p / "kustomization.yaml").exists())
SERVICES = ("agent-gateway", "context-store", "bot", "router", "channels")

Manifest = dict[str, Any]


def kustomize() -> str:
    """The kustomize binary: $KUSTOMIZE, else the one `make kustomize` built into .local/bin.

    Missing is a failure, not a skip: CI runs `make test`, which installs it first.
    """
    binary = os.environ.get("KUSTOMIZE") or str(REPO / ".local" / "bin" / "kustomize")
    if not Path(binary).is_file():
        pytest.fail(f"kustomize not found at {binary}: run `make kustomize` (or set KUSTOMIZE)")
    return binary


@functools.cache
def render(overlay: str) -> tuple[Manifest, ...]:
    """Every object of one overlay, as `make k8s OVERLAY=...` prints them."""
    out = subprocess.run(
        [kustomize(), "build", str(K8S / "overlays" / overlay)], capture_output=True, text=True, check=False
    )
    assert out.returncode == 0, f"kustomize build {overlay} failed:\n{out.stderr}"
    return tuple(doc for doc in yaml.safe_load_all(out.stdout) if doc)


def of_kind(objects: tuple[Manifest, ...], kind: str) -> list[Manifest]:
    return [o for o in objects if o["kind"] == kind]


def pod_template(workload: Manifest) -> Manifest:
    spec: Manifest = workload["spec"]["template"]["spec"]
    return spec


def service_deployment(objects: tuple[Manifest, ...], service: str) -> Manifest:
    (found,) = [d for d in of_kind(objects, "Deployment") if d["metadata"]["name"] == service]
    return found
