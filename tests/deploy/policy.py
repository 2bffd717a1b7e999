"""The container policy and the settings classes the deploy tests check the manifests and compose against."""

import os

import pytest
from pydantic import AliasChoices

from relais_agent_gateway.settings import GatewaySettings
from relais_bot.settings import BotSettings
from relais_channels.settings import ChannelsSettings
from relais_context_store.settings import ContextStoreSettings
from relais_platform.settings import ServiceSettings
from relais_router.settings import RouterSettings
from tests.deploy.rendering import Manifest, pod_template

SETTINGS: dict[str, type[ServiceSettings]] = {
    "agent-gateway": GatewaySettings,
    "context-store": ContextStoreSettings,
    "bot": BotSettings,
    "router": RouterSettings,
    "channels": ChannelsSettings,
}
WORKLOADS = ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job")
# The Secrets an operator creates (deploy/k8s/README.md); the manifests only reference them. With the
# in-cluster Kafka, Strimzi creates the cluster CA's and one per KafkaUser (its name).
KNOWN_SECRETS = {
    "relais-jwt",
    "relais-kafka-credentials",
    "relais-redis",
    "relais-api-callers",
    "relais-agent-gateway-api-token",
    "relais-cluster-ca-cert",
    "relais-context-store",
    "relais-bot",
    "relais-router",
    "relais-agent-gateway",
    "relais-channels",
}


def image_violation(image: str) -> str | None:
    name, _, digest = image.partition("@")
    if digest:
        return None if digest.startswith("sha256:") else f"image {image}: malformed digest"
    last = name.rsplit("/", 1)[-1]
    if ":" not in last:
        return f"image {image}: no tag (means latest)"
    if last.rsplit(":", 1)[1] == "latest":
        return f"image {image}: latest tag"
    return None


def container_violations(workload: Manifest) -> list[str]:
    """What a workload breaks of the container policy; empty when it follows it."""
    pod = pod_template(workload)
    pod_security = pod.get("securityContext", {})
    found = []
    for c in pod.get("initContainers", []) + pod["containers"]:
        where = f"{workload['metadata']['name']}/{c['name']}"
        security = c.get("securityContext", {})
        if violation := image_violation(c["image"]):
            found.append(f"{where}: {violation}")
        for probe in ("readinessProbe", "livenessProbe"):
            if probe not in c:
                found.append(f"{where}: no {probe}")
        for bound in ("requests", "limits"):
            missing = {"cpu", "memory"} - set(c.get("resources", {}).get(bound, {}))
            if missing:
                found.append(f"{where}: no {bound} for {sorted(missing)}")
        if not security.get("runAsNonRoot", pod_security.get("runAsNonRoot")):
            found.append(f"{where}: may run as root (runAsNonRoot)")
        if security.get("runAsUser", pod_security.get("runAsUser")) == 0:
            found.append(f"{where}: runs as uid 0")
        if security.get("readOnlyRootFilesystem") is not True:
            found.append(f"{where}: writable root filesystem")
        if security.get("allowPrivilegeEscalation") is not False or security.get("privileged"):
            found.append(f"{where}: may escalate privileges")
        if "ALL" not in security.get("capabilities", {}).get("drop", []):
            found.append(f"{where}: capabilities not dropped")
    return found


def settings_env_names(settings: type[ServiceSettings]) -> set[str]:
    """The environment variables a settings class reads."""
    names = set()
    for field_name, field in settings.model_fields.items():
        alias = field.validation_alias
        if isinstance(alias, AliasChoices):
            names.update(str(choice) for choice in alias.choices)
        else:
            names.add(f"RELAIS_{field_name.upper()}")
    return names


def settings_from(
    settings: type[ServiceSettings], env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> ServiceSettings:
    """The settings a service would read from exactly this environment."""
    for name in [n for n in os.environ if n.startswith("RELAIS_")] + ["KAFKA_BOOTSTRAP_SERVERS", "REDIS_URL"]:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, str(value))
    return settings()
