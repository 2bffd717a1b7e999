"""The NetworkPolicies of every overlay: only the agent gateway and the channels service are reachable from
outside the namespace (and Prometheus, for /metrics); each service reaches DNS, Kafka and Redis, the only
service calls are the agent gateway's reads of the context store (timelines) and the router (supervisor
views), and only the channels service reaches out of the cluster (its webhooks, never a private range)."""

from urllib.parse import urlparse

import pytest

from tests.deploy.rendering import OVERLAYS, SERVICES, Manifest, of_kind, render, service_deployment

pytestmark = pytest.mark.unit

PUBLIC = {"agent-gateway", "channels"}
# Services that call integrators' webhooks: HTTP(S) to public addresses only.
WEBHOOKS = {"channels"}
PRIVATE = {"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16", "127.0.0.0/8"}
DNS_PORT = 53
MONITORING = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}
KUBE_SYSTEM = {"kubernetes.io/metadata.name": "kube-system"}
# Service -> the services it may call over HTTP, with their ports.
CALLS = {"agent-gateway": {"context-store": 8081, "router": 8083}}


def selects(policy: Manifest, labels: dict[str, str]) -> bool:
    selector = policy["spec"]["podSelector"]
    assert "matchExpressions" not in selector, "the checks below only read matchLabels"
    return selector.get("matchLabels", {}).items() <= labels.items()


def policies_for(objects: tuple[Manifest, ...], labels: dict[str, str]) -> list[Manifest]:
    return [p for p in of_kind(objects, "NetworkPolicy") if selects(p, labels)]


def pod_labels(objects: tuple[Manifest, ...], service: str) -> dict[str, str]:
    labels: dict[str, str] = service_deployment(objects, service)["spec"]["template"]["metadata"]["labels"]
    return labels


def rules(policies: list[Manifest], direction: str) -> list[Manifest]:
    kind = direction.capitalize()
    return [r for p in policies if kind in p["spec"]["policyTypes"] for r in p["spec"].get(direction, [])]


def endpoints(objects: tuple[Manifest, ...]) -> tuple[set[int], set[int]]:
    """The Kafka and Redis ports the services are configured with."""
    (common,) = [c for c in of_kind(objects, "ConfigMap") if c["metadata"]["name"] == "relais-common"]
    servers = common["data"]["RELAIS_KAFKA_BOOTSTRAP_SERVERS"].split(",")
    kafka = {int(server.rsplit(":", 1)[1]) for server in servers}
    # In prod the Redis URL is a Secret: the port is Redis' own unless that Secret says otherwise.
    redis = {urlparse(common["data"].get("RELAIS_REDIS_URL", "redis://redis:6379")).port or 6379}
    return kafka, redis


@pytest.mark.parametrize("overlay", OVERLAYS)
@pytest.mark.parametrize("service", SERVICES)
def test_everything_not_allowed_is_denied(overlay: str, service: str) -> None:
    objects = render(overlay)
    policies = policies_for(objects, pod_labels(objects, service))
    deny_all = [
        p for p in policies
        if set(p["spec"]["policyTypes"]) == {"Ingress", "Egress"} and not p["spec"].get("ingress")
        and not p["spec"].get("egress")
    ]  # fmt: skip
    assert deny_all


@pytest.mark.parametrize("overlay", OVERLAYS)
@pytest.mark.parametrize("service", SERVICES)
def test_who_may_reach_a_service(overlay: str, service: str) -> None:
    objects = render(overlay)
    ingress = rules(policies_for(objects, pod_labels(objects, service)), "ingress")
    assert ingress, f"nothing may reach {service}: not even its probes' peers"
    for rule in ingress:
        assert [p["port"] for p in rule["ports"]] == ["http"]
        if service in PUBLIC:
            continue
        assert rule.get("from"), f"{service} is open to every address"
        for peer in rule["from"]:
            assert "ipBlock" not in peer
            if "namespaceSelector" in peer:
                # The only other namespace: Prometheus', for /metrics.
                assert peer == MONITORING
    if service in PUBLIC:
        assert any("from" not in r for r in ingress), f"{service} serves browsers or integrators"


@pytest.mark.parametrize("overlay", OVERLAYS)
@pytest.mark.parametrize("service", SERVICES)
def test_a_service_reaches_dns_kafka_redis_and_the_services_it_reads_only(overlay: str, service: str) -> None:
    objects = render(overlay)
    kafka_ports, redis_ports = endpoints(objects)
    egress = rules(policies_for(objects, pod_labels(objects, service)), "egress")
    reached: set[str] = set()
    for rule in egress:
        assert rule.get("to"), f"{service} may reach every address"
        ports = {p["port"] for p in rule["ports"]}
        for peer in rule["to"]:
            selected = peer.get("podSelector", {}).get("matchLabels", {})
            callee = selected.get("app.kubernetes.io/name")
            if callee in SERVICES:
                allowed = CALLS.get(service, {})
                assert callee in allowed, f"{service} may not call {callee}"
                assert ports == {allowed[callee]}, f"{service} reaches {callee} on its http port only"
                assert "namespaceSelector" not in peer
                reached.add(callee)
                continue
            if service in WEBHOOKS and "ipBlock" in peer and ports == {80, 443}:
                assert peer["ipBlock"]["cidr"] == "0.0.0.0/0"
                assert set(peer["ipBlock"]["except"]) >= PRIVATE, "webhooks may not reach the cluster"
                reached.add("webhooks")
                continue
            if ports == {DNS_PORT}:
                assert peer["namespaceSelector"]["matchLabels"] == KUBE_SYSTEM
                assert selected == {"k8s-app": "kube-dns"}
                reached.add("dns")
            elif ports <= kafka_ports:
                assert "ipBlock" in peer or selected.get("strimzi.io/broker-role") == "true"
                reached.add("kafka")
            elif ports <= redis_ports:
                assert "ipBlock" in peer or selected == {"app.kubernetes.io/name": "redis"}
                reached.add("redis")
            else:
                pytest.fail(f"{service} may reach ports {ports} of {peer}")
            assert "namespaceSelector" not in peer or ports == {DNS_PORT}
    webhooks = {"webhooks"} if service in WEBHOOKS else set()
    assert reached == {"dns", "kafka", "redis", *CALLS.get(service, {}), *webhooks}


@pytest.mark.parametrize(
    "overlay",
    [
        o
        for o in OVERLAYS
        if any(d["metadata"]["name"] == "relais-redis" for d in of_kind(render(o), "Deployment"))
    ],
)
def test_the_dev_redis_serves_the_services_only(overlay: str) -> None:
    objects = render(overlay)
    (redis,) = [d for d in of_kind(objects, "Deployment") if d["metadata"]["name"] == "relais-redis"]
    ingress = rules(policies_for(objects, redis["spec"]["template"]["metadata"]["labels"]), "ingress")
    assert ingress
    for rule in ingress:
        assert rule["from"] == [{"podSelector": {"matchLabels": {"app.kubernetes.io/part-of": "relais"}}}]
        assert [p["port"] for p in rule["ports"]] == [6379]
