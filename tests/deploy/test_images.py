"""The Dockerfile and compose.yaml, read without a Docker engine: pinned images, a non-root final stage with
nothing but the service's venv, and a compose stack whose services are wired as their settings expect."""

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.images import base_image, runs, stages
from tests.deploy.policy import SETTINGS, image_violation, settings_env_names, settings_from
from tests.deploy.rendering import REPO, SERVICES, render, service_deployment

pytestmark = pytest.mark.unit


def test_the_build_has_a_build_stage_and_a_final_stage() -> None:
    names = [stage[0].value[-1] for stage in stages()]
    assert names == ["build", "runtime"]


@pytest.mark.parametrize("stage", range(2))
def test_base_images_are_pinned(stage: int) -> None:
    image = base_image(stages()[stage])
    assert "$" not in image, f"unresolved base image {image}"
    assert image_violation(image) is None
    # A floating tag like 3.11-slim would move under a rebuild: the patch release is named.
    assert re.search(r":\d+\.\d+\.\d+", image), image


def test_the_build_stage_syncs_only_the_services_package_from_the_lock() -> None:
    build = runs(stages()[0])
    syncs = [r for r in build if r.startswith("uv sync")]
    assert syncs == [
        'uv sync --frozen --no-dev --no-install-workspace --package "relais-$SERVICE"',
        'uv sync --frozen --no-dev --no-editable --package "relais-$SERVICE"',
    ]
    assert any(re.fullmatch(r"python -m pip install --no-cache-dir uv==\d+\.\d+\.\d+", r) for r in build)


def test_the_final_stage_runs_as_non_root_with_the_venv_only() -> None:
    final = stages()[-1]
    users = [i.value[0] for i in final if i.cmd == "USER"]
    assert users, "the final stage sets no USER: it would run as root"
    uid, _, gid = users[-1].partition(":")
    assert uid.isdigit()
    assert int(uid) > 0
    assert gid.isdigit()
    assert int(gid) > 0
    # Kubernetes checks runAsNonRoot against this numeric uid; the manifests run the same one.
    deployment = service_deployment(render("prod"), "router")
    assert deployment["spec"]["template"]["spec"]["securityContext"]["runAsUser"] == int(uid)
    # Nothing after USER may run as root again, and nothing installs or compiles in the final stage.
    assert [i.cmd for i in final].index("USER") > max(
        n for n, i in enumerate(final) if i.cmd in ("RUN", "COPY")
    )
    final_runs = " ".join(runs(final))
    for tool in ("apt-get install", "pip install", "uv ", "gcc", "build-essential", "make "):
        assert tool not in final_runs
    assert "pip uninstall" in final_runs
    copies = [i for i in final if i.cmd == "COPY"]
    assert [(c.flags, c.value) for c in copies] == [(("--from=build",), ("/app/.venv", "/app/.venv"))]


def test_the_dockerignore_keeps_the_context_to_what_the_build_copies() -> None:
    lines = [
        line
        for line in (REPO / ".dockerignore").read_text().splitlines()
        if line and not line.startswith("#")
    ]
    assert lines[0] == "*"
    kept = {line[1:].rstrip("/") for line in lines if line.startswith("!")}
    copied = {
        Path(src).parts[0]
        for stage in stages()
        for i in stage
        if i.cmd == "COPY" and not i.flags
        for src in i.value[:-1]
    }
    assert copied == kept


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((REPO / "compose.yaml").read_text())
    return loaded


def test_compose_images_are_pinned_and_everything_has_a_healthcheck() -> None:
    services = compose()["services"]
    assert set(services) == {"kafka", "redis", *SERVICES}
    for name, service in services.items():
        assert image_violation(service["image"]) is None, name
        assert service["healthcheck"]["test"], name


def test_compose_kafka_runs_in_kraft_mode() -> None:
    env = compose()["services"]["kafka"]["environment"]
    assert set(env["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    assert not any("ZOOKEEPER" in name for name in env)


@pytest.mark.parametrize("service", SERVICES)
def test_compose_builds_and_runs_each_service_as_in_kubernetes(service: str) -> None:
    spec = compose()["services"][service]
    module = "relais_" + service.replace("-", "_")
    assert spec["build"] == {"context": ".", "args": {"SERVICE": service}}
    assert spec["image"].split(":")[0] == f"relais-{service}"
    assert spec["command"] == ["python", "-m", module]
    assert spec["read_only"] is True
    assert spec["cap_drop"] == ["ALL"]
    assert spec["user"] == [i.value[0] for i in stages()[-1] if i.cmd == "USER"][-1]
    assert {dep["condition"] for dep in spec["depends_on"].values()} == {"service_healthy"}

    env = spec["environment"]
    assert set(env) <= settings_env_names(SETTINGS[service])
    port = int(env["RELAIS_HTTP_PORT"])
    assert port == SETTINGS[service].model_fields["http_port"].default
    assert spec["ports"] == [f"127.0.0.1:{port}:{port}"]
    assert f"http://127.0.0.1:{port}/readyz" in " ".join(spec["healthcheck"]["test"])

    # The addresses name compose services, on a port the broker listens on inside the network.
    host, _, kafka_port = env["RELAIS_KAFKA_BOOTSTRAP_SERVERS"].partition(":")
    assert host == "kafka"
    assert (
        f"//kafka:{kafka_port}" in compose()["services"]["kafka"]["environment"]["KAFKA_ADVERTISED_LISTENERS"]
    )
    assert env["RELAIS_REDIS_URL"].startswith("redis://redis:6379/")

    grace = int(spec["stop_grace_period"].removesuffix("s"))
    assert grace > 2 * float(env["RELAIS_SHUTDOWN_TIMEOUT_S"])


@pytest.mark.parametrize("service", SERVICES)
def test_compose_settings_load(service: str, monkeypatch: pytest.MonkeyPatch) -> None:
    env = compose()["services"][service]["environment"]
    assert settings_from(SETTINGS[service], env, monkeypatch).env == "dev"
