"""The Dockerfile's build stage, run without Docker: its two `uv sync` commands, on a copy of the build
context that .dockerignore lets through, give a venv that holds one service and can start it."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.deploy.images import runs, stages
from tests.deploy.rendering import REPO, SERVICES

pytestmark = pytest.mark.integration


def build_context(into: Path) -> None:
    """What `docker build .` sends, as .dockerignore says (see test_images for that correspondence)."""
    for name in ("pyproject.toml", "uv.lock"):
        shutil.copy2(REPO / name, into / name)
    for name in ("libs", "services"):
        shutil.copytree(
            REPO / name, into / name, ignore=shutil.ignore_patterns("tests", "__pycache__", "*.pyc")
        )


@pytest.mark.parametrize("service", SERVICES)
def test_the_build_stage_installs_one_service(service: str, tmp_path: Path) -> None:
    context = tmp_path / "src"
    context.mkdir()
    build_context(context)
    venv = tmp_path / "venv"
    env = {**os.environ, "SERVICE": service, "UV_PROJECT_ENVIRONMENT": str(venv), "UV_NO_PROGRESS": "1"}
    env.pop("VIRTUAL_ENV", None)
    for command in [r for r in runs(stages()[0]) if r.startswith("uv sync")]:
        done = subprocess.run(["sh", "-c", command], cwd=context, env=env, capture_output=True, text=True)
        assert done.returncode == 0, f"{command}\n{done.stderr}"

    module = "relais_" + service.replace("-", "_")
    python = str(venv / "bin" / "python")
    others = ["relais_" + s.replace("-", "_") for s in SERVICES if s != service]
    probe = (
        f"import importlib.util, {module}.__main__\n"
        f"print([m for m in {others!r} + ['pytest'] if importlib.util.find_spec(m)])"
    )
    done = subprocess.run([python, "-c", probe], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]", f"the {service} image would also hold {done.stdout}"
    # Installed as wheels, not as links back into the build context that the final stage leaves behind.
    assert not list(venv.glob("lib/python*/site-packages/*.pth"))
    assert (venv / "bin" / f"relais-{service}").exists()
