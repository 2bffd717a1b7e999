"""Policy on the rendered manifests: every container hardened and bounded, every service wired as its
settings and the platform runtime expect, secrets only referenced, and the network rules of the README."""

import copy
import importlib.util
import json
from collections.abc import Callable
from typing import Any

import pytest

from relais_contracts import topics
from relais_platform.settings import ServiceSettings
from tests.deploy.policy import (
    KNOWN_SECRETS,
    SETTINGS,
    WORKLOADS,
    container_violations,
    image_violation,
    settings_env_names,
    settings_from,
)
from tests.deploy.rendering import (
    OVERLAYS,
    SERVICES,
    Manifest,
    of_kind,
    pod_template,
    render,
    service_deployment,
)

pytestmark = pytest.mark.unit


def workloads(objects: tuple[Manifest, ...]) -> list[Manifest]:
    return [o for o in objects if o["kind"] in WORKLOADS]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_container_follows_the_policy(overlay: str) -> None:
    found = [v for w in workloads(render(overlay)) for v in container_violations(w)]
    assert not found


def _drop(path: str) -> Callable[[Manifest], None]:
    def mutate(container: Manifest) -> None:
        *parents, last = path.split(".")
        target = container
        for key in parents:
            target = target[key]
        del target[last]

    return mutate


def _set(path: str, value: Any) -> Callable[[Manifest], None]:
    def mutate(container: Manifest) -> None:
        *parents, last = path.split(".")
        target = container
        for key in parents:
            target = target.setdefault(key, {})
        target[last] = value

    return mutate


DEFECTS = {
    "no readiness probe": _drop("readinessProbe"),
    "no liveness probe": _drop("livenessProbe"),
    "no limits": _drop("resources.limits"),
    "no memory request": _drop("resources.requests.memory"),
    "root allowed": _set("securityContext.runAsNonRoot", False),
    "uid 0": _set("securityContext.runAsUser", 0),
    "writable root fs": _set("securityContext.readOnlyRootFilesystem", False),
    "escalation": _drop("securityContext.allowPrivilegeEscalation"),
    "capabilities kept": _set("securityContext.capabilities", {"add": ["NET_ADMIN"]}),
    "latest tag": _set("image", "relais-router:latest"),
    "untagged image": _set("image", "registry.example.com:5000/relais/relais-router"),
}


@pytest.mark.parametrize("defect", DEFECTS)
def test_the_policy_catches(defect: str) -> None:
    workload = copy.deepcopy(workloads(render("prod"))[0])
    assert not container_violations(workload)
    DEFECTS[defect](pod_template(workload)["containers"][0])
    assert container_violations(workload)


def test_the_policy_accepts_pinned_images() -> None:
    assert image_violation("registry.example.com:5000/relais/relais-router:0.1.0") is None
    assert image_violation("relais-router@sha256:" + "a" * 64) is None


SECRET_STAND_INS = {
    "relais-redis": "redis://redis.example:6379/0",
    "relais-api-callers": json.dumps([{"name": "ops", "tokens_sha256": ["0" * 64], "scopes": ["admin"]}]),
}


def container_env(objects: tuple[Manifest, ...], service: str) -> dict[str, str]:
    """The environment of the service's container, ConfigMaps included; a Secret's value is a stand-in
    shaped like what an operator puts there (long enough for prod's rules)."""
    configmaps = {c["metadata"]["name"]: c.get("data", {}) for c in of_kind(objects, "ConfigMap")}
    container = pod_template(service_deployment(objects, service))["containers"][0]
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        env.update(configmaps[source["configMapRef"]["name"]])
    for var in container.get("env", []):
        if "value" in var:
            env[var["name"]] = var["value"]
        elif "secretKeyRef" in var["valueFrom"]:
            secret = var["valueFrom"]["secretKeyRef"]["name"]
            env[var["name"]] = SECRET_STAND_INS.get(secret, "s" * 48)
    return env


@pytest.mark.parametrize("overlay", OVERLAYS)
@pytest.mark.parametrize("service", SERVICES)
def test_every_variable_is_a_setting_of_its_service(overlay: str, service: str) -> None:
    unknown = set(container_env(render(overlay), service)) - settings_env_names(SETTINGS[service])
    assert not unknown, f"{service} does not read {unknown}"


@pytest.mark.parametrize("overlay", OVERLAYS)
@pytest.mark.parametrize("service", SERVICES)
def test_the_rendered_settings_load(overlay: str, service: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The service would start with this environment: values valid, prod's safety rules satisfied."""
    settings = settings_from(SETTINGS[service], container_env(render(overlay), service), monkeypatch)
    assert settings.http_host == "0.0.0.0"
    assert settings.env == ("dev" if overlay == "dev" else "prod")


@pytest.mark.parametrize("overlay", OVERLAYS)
@pytest.mark.parametrize("service", SERVICES)
def test_ports_probes_and_scraping_match_the_service(overlay: str, service: str) -> None:
    objects = render(overlay)
    deployment = service_deployment(objects, service)
    pod = pod_template(deployment)
    (container,) = pod["containers"]
    (port,) = [p for p in container["ports"] if p["name"] == "http"]
    configured = container_env(objects, service)
    expected = int(configured.get("RELAIS_HTTP_PORT", SETTINGS[service].model_fields["http_port"].default))
    assert port["containerPort"] == expected == SETTINGS[service].model_fields["http_port"].default

    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}

    annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert annotations["prometheus.io/port"] == str(expected)
    assert annotations["prometheus.io/path"] == "/metrics"

    (svc,) = [s for s in of_kind(objects, "Service") if s["metadata"]["name"] == service]
    (exposed,) = svc["spec"]["ports"]
    assert exposed == {"name": "http", "port": expected, "targetPort": "http", "protocol": "TCP"}
    assert svc["spec"]["selector"].items() <= deployment["spec"]["template"]["metadata"]["labels"].items()


@pytest.mark.parametrize("overlay", OVERLAYS)
@pytest.mark.parametrize("service", SERVICES)
def test_shutdown_fits_in_the_grace_period(overlay: str, service: str) -> None:
    """SIGTERM: uvicorn drains requests, then the consumers finish and commit, each up to the timeout."""
    objects = render(overlay)
    configured = container_env(objects, service)
    timeout = float(configured.get("RELAIS_SHUTDOWN_TIMEOUT_S", ServiceSettings().shutdown_timeout_s))
    grace = pod_template(service_deployment(objects, service))["terminationGracePeriodSeconds"]
    assert grace > 2 * timeout


@pytest.mark.parametrize("service", SERVICES)
def test_the_container_runs_the_service_entry_point(service: str) -> None:
    module = "relais_" + service.replace("-", "_")
    for overlay in OVERLAYS:
        container = pod_template(service_deployment(render(overlay), service))["containers"][0]
        assert container["command"] == ["python", "-m", module]
    assert importlib.util.find_spec(f"{module}.__main__") is not None


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_secrets_are_referenced_never_committed(overlay: str) -> None:
    objects = render(overlay)
    assert not of_kind(objects, "Secret")
    for configmap in of_kind(objects, "ConfigMap"):
        data = configmap.get("data", {})
        suspicious = [k for k in data if any(w in k for w in ("PASSWORD", "SECRET", "TOKEN"))]
        assert not suspicious, configmap["metadata"]["name"]
    referenced = {
        ref["valueFrom"]["secretKeyRef"]["name"]
        for w in workloads(objects)
        for c in pod_template(w)["containers"]
        for ref in c.get("env", [])
        if "secretKeyRef" in ref.get("valueFrom", {})
    }
    assert referenced <= KNOWN_SECRETS
    (gateway,) = pod_template(service_deployment(objects, "agent-gateway"))["containers"]
    (jwt,) = [v for v in gateway["env"] if v["name"] == "RELAIS_JWT_SECRET"]
    assert jwt["valueFrom"]["secretKeyRef"]["name"] == "relais-jwt"


def test_prod_cannot_start_without_its_secrets() -> None:
    objects = render("prod")
    for service in SERVICES:
        container = pod_template(service_deployment(objects, service))["containers"][0]
        refs = {v["name"]: v["valueFrom"]["secretKeyRef"] for v in container["env"] if "valueFrom" in v}
        required = {"RELAIS_KAFKA_SASL_USERNAME", "RELAIS_KAFKA_SASL_PASSWORD", "RELAIS_REDIS_URL"}
        if service == "agent-gateway":
            required.add("RELAIS_JWT_SECRET")
        assert required <= set(refs)
        assert not any(refs[name].get("optional") for name in required), service


# The topics each service consumes: its busy replicas are at most their partition count.
CONSUMED = {
    "context-store": (topics.INBOUND, topics.CONVERSATIONS),
    "bot": (topics.CONVERSATIONS,),
    "router": (topics.ROUTING,),
}


@pytest.mark.parametrize("overlay", OVERLAYS)
@pytest.mark.parametrize("service", sorted(CONSUMED))
def test_consumers_do_not_scale_past_their_partitions(overlay: str, service: str) -> None:
    objects = render(overlay)
    declared = {t["spec"]["topicName"]: t["spec"]["partitions"] for t in of_kind(objects, "KafkaTopic")}
    configured = container_env(objects, service)
    default = ServiceSettings().kafka_default_partitions
    default = int(configured.get("RELAIS_KAFKA_DEFAULT_PARTITIONS", default))
    partitions = max(declared.get(topic, default) for topic in CONSUMED[service])
    (hpa,) = [h for h in of_kind(objects, "HorizontalPodAutoscaler") if h["metadata"]["name"] == service]
    assert hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"] <= partitions
