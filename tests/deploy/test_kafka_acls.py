"""The in-cluster Kafka lets only known users in, and each user's ACLs are exactly the documented matrix
(deploy/k8s/README.md, "Kafka users and ACLs"): every topic it reads or writes, nothing more, nothing less."""

import re
from collections import defaultdict

import pytest

from relais_agent_gateway.app import create_app as gateway_app
from relais_bot.app import create_app as bot_app
from relais_channels.app import create_app as channels_app
from relais_context_store.app import create_app as context_store_app
from relais_contracts import topics
from relais_platform.runtime import Runtime
from relais_router.app import create_app as router_app
from tests.deploy.policy import SETTINGS
from tests.deploy.rendering import K8S, OVERLAYS, Manifest, of_kind, render, service_deployment

pytestmark = pytest.mark.unit

README = K8S / "README.md"
MARKER = "<!-- kafka-acls:"
READ = frozenset({"Read", "Describe"})
WRITE = frozenset({"Write", "Describe"})

# (resource type, name, pattern type) -> operations
Grants = dict[tuple[str, str, str], frozenset[str]]


def documented_matrix() -> dict[str, Grants]:
    """The table under the kafka-acls marker of deploy/k8s/README.md, as the grants it means."""
    lines = README.read_text().split(MARKER, 1)[1].splitlines()[1:]
    rows = [line for line in lines[2 : next(i for i, x in enumerate(lines) if not x.strip())]]
    matrix: dict[str, Grants] = {}
    for row in rows:
        user, reads, writes, groups = (re.findall(r"`([^`]+)`", cell) for cell in row.strip("|").split("|"))
        grants: dict[tuple[str, str, str], set[str]] = defaultdict(set)
        for topic in reads:
            grants[("topic", topic, "literal")] |= READ
        for topic in writes:
            grants[("topic", topic, "literal")] |= WRITE
        for prefix in groups:
            grants[("group", prefix, "prefix")] |= {"Read"}
        matrix[user[0]] = {k: frozenset(v) for k, v in grants.items()}
    return matrix


def rendered_grants(user: Manifest) -> Grants:
    """What a KafkaUser's ACLs allow; a deny rule, a host restriction or an unknown field fails the test."""
    grants: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    authorization = user["spec"]["authorization"]
    assert authorization["type"] == "simple"
    for acl in authorization["acls"]:
        assert acl.get("type", "allow") == "allow", acl
        assert acl.get("host", "*") == "*", acl
        resource = acl["resource"]
        key = (resource["type"], resource.get("name", ""), resource.get("patternType", "literal"))
        grants[key] |= set(acl["operations"])
    return {k: frozenset(v) for k, v in grants.items()}


STRIMZI_OVERLAYS = [o for o in OVERLAYS if of_kind(render(o), "KafkaUser")]


def test_the_in_cluster_kafka_is_rendered_somewhere() -> None:
    assert STRIMZI_OVERLAYS


def test_the_documented_matrix_covers_every_service_and_an_integrator() -> None:
    matrix = documented_matrix()
    assert {f"relais-{s}" for s in SETTINGS} | {"relais-integrator-example"} == set(matrix)
    integrator = matrix["relais-integrator-example"]
    assert {k for k in integrator if k[0] == "topic"} == {
        ("topic", topics.INBOUND, "literal"),
        ("topic", topics.OUTBOUND, "literal"),
    }
    assert integrator[("topic", topics.INBOUND, "literal")] == WRITE
    assert integrator[("topic", topics.OUTBOUND, "literal")] == READ
    every_topic = {k[1] for grants in matrix.values() for k in grants if k[0] == "topic"}
    assert every_topic <= set(topics.ALL)


@pytest.mark.parametrize("overlay", STRIMZI_OVERLAYS)
def test_each_kafka_user_has_exactly_the_documented_acls(overlay: str) -> None:
    users = {u["metadata"]["name"]: u for u in of_kind(render(overlay), "KafkaUser")}
    matrix = documented_matrix()
    assert set(users) == set(matrix)
    for name, expected in matrix.items():
        actual = rendered_grants(users[name])
        # Topic by topic, both ways, so the message names what is missing or extra.
        for resource in sorted(set(expected) | set(actual)):
            assert actual.get(resource) == expected.get(resource), (name, resource)


@pytest.mark.parametrize("overlay", STRIMZI_OVERLAYS)
def test_every_listener_authenticates_and_the_brokers_authorize(overlay: str) -> None:
    (kafka,) = of_kind(render(overlay), "Kafka")
    assert kafka["spec"]["kafka"]["authorization"] == {"type": "simple"}
    for listener in kafka["spec"]["kafka"]["listeners"]:
        assert listener["tls"] is True, listener["name"]
        assert listener["authentication"]["type"] in ("scram-sha-512", "tls"), listener["name"]
    assert "userOperator" in kafka["spec"]["entityOperator"]


@pytest.mark.parametrize("overlay", STRIMZI_OVERLAYS)
@pytest.mark.parametrize("service", sorted(SETTINGS))
def test_each_service_logs_in_as_its_own_user(overlay: str, service: str) -> None:
    objects = render(overlay)
    env = {
        e["name"]: e
        for e in service_deployment(objects, service)["spec"]["template"]["spec"]["containers"][0]["env"]
    }
    user = f"relais-{service}"
    assert env["RELAIS_KAFKA_SASL_USERNAME"]["value"] == user
    assert env["RELAIS_KAFKA_SASL_PASSWORD"]["valueFrom"]["secretKeyRef"] == {"name": user, "key": "password"}
    (common,) = [c for c in of_kind(objects, "ConfigMap") if c["metadata"]["name"] == "relais-common"]
    assert common["data"]["RELAIS_KAFKA_CREATE_TOPICS"] == "false"  # its user could not create them


APPS = {
    "agent-gateway": gateway_app,
    "bot": bot_app,
    "context-store": context_store_app,
    "router": router_app,
    "channels": channels_app,
}


@pytest.mark.parametrize("service", sorted(SETTINGS))
def test_the_matrix_gives_each_service_what_its_consumers_read(service: str) -> None:
    """The reads and groups of the matrix are those of the consumers the service registers (its app is
    built, never started: nothing connects)."""
    settings = SETTINGS[service](env="test")  # type: ignore[call-arg]
    runtime: Runtime = APPS[service](settings).state.runtime  # type: ignore[arg-type]
    grants = documented_matrix()[f"relais-{service}"]
    reads = {name for (kind, name, _), ops in grants.items() if kind == "topic" and "Read" in ops}
    assert reads == {t for s in runtime.subscriptions for t in s.topics}
    (prefix,) = [name for kind, name, _ in grants if kind == "group"]
    assert runtime.subscriptions
    assert all(s.group.startswith(prefix) for s in runtime.subscriptions)
