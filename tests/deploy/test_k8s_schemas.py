"""Every overlay renders, and every object in it is valid: Kubernetes objects against the Kubernetes schemas
(kubernetes-validate, offline), custom resources against their CRD schemas in deploy/k8s/crds/."""

import copy
import functools
import json
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from relais_contracts import topics
from relais_platform.settings import ServiceSettings
from tests.deploy.rendering import K8S, OVERLAYS, SERVICES, Manifest, of_kind, render

pytestmark = pytest.mark.unit

# The oldest Kubernetes release still commonly run, and the newest schemas kubernetes-validate ships.
KUBERNETES_VERSIONS = ("1.30.0", kubernetes_validate.latest_version())
CRDS = K8S / "crds"


def closed(schema: Any) -> Any:
    """The schema with every open object closed, as strict field validation would reject unknown fields.

    The API server prunes what a CRD schema does not declare without a word, so a misspelt field would
    vanish in the cluster; here it fails the test instead.
    """
    if isinstance(schema, list):
        return [closed(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: closed(v) for k, v in schema.items()}
    if (
        "properties" in schema
        and "additionalProperties" not in schema
        and not schema.get("x-kubernetes-preserve-unknown-fields")
    ):
        out["additionalProperties"] = False
    return out


@functools.cache
def crd_schemas() -> dict[tuple[str, str], dict[str, Any]]:
    """(apiVersion, kind) -> the schema to validate that custom resource against."""
    schemas: dict[tuple[str, str], dict[str, Any]] = {}
    for path in sorted((CRDS / "strimzi").glob("*.yaml")):
        crd = yaml.safe_load(path.read_text())
        group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
        for version in crd["spec"]["versions"]:
            schemas[(f"{group}/{version['name']}", kind)] = closed(version["schema"]["openAPIV3Schema"])
    for path in sorted((CRDS / "monitoring.coreos.com").glob("*.schema.json")):
        schema = json.loads(path.read_text())
        props = schema["properties"]
        schemas[(props["apiVersion"]["const"], props["kind"]["const"])] = schema
    return schemas


def crd_errors(obj: Manifest) -> list[str]:
    schema = crd_schemas()[(obj["apiVersion"], obj["kind"])]
    validator = jsonschema.Draft7Validator(schema)
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(obj)]


def kubernetes_errors(obj: Manifest, version: str) -> list[str]:
    try:
        kubernetes_validate.validate(obj, version, strict=True)
    except kubernetes_validate.ValidationError as exc:
        return [f"{'/'.join(map(str, exc.path))}: {exc.message}"]
    return []


def name_of(obj: Manifest) -> str:
    return f"{obj['kind']}/{obj['metadata']['name']}"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_each_overlay_has_every_piece_of_every_service(overlay: str) -> None:
    objects = render(overlay)
    present = {(o["kind"], o["metadata"]["name"]) for o in objects}
    kinds = (
        "Deployment", "Service", "ConfigMap", "ServiceAccount", "PodDisruptionBudget",
        "HorizontalPodAutoscaler",
    )  # fmt: skip
    missing = [(k, s) for s in SERVICES for k in kinds if (k, s) not in present]
    assert not missing
    namespaces = {o["metadata"].get("namespace") for o in objects if o["kind"] != "Namespace"}
    (namespace,) = of_kind(objects, "Namespace")
    assert namespaces == {namespace["metadata"]["name"]}, "every object lands in the overlay's namespace"


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_kubernetes_objects_match_the_kubernetes_schemas(overlay: str, version: str) -> None:
    objects = [o for o in render(overlay) if (o["apiVersion"], o["kind"]) not in crd_schemas()]
    assert objects
    errors = {name_of(o): errs for o in objects if (errs := kubernetes_errors(o, version))}
    assert not errors


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_custom_resources_match_their_crd_schemas(overlay: str) -> None:
    custom = [o for o in render(overlay) if (o["apiVersion"], o["kind"]) in crd_schemas()]
    errors = {name_of(o): errs for o in custom if (errs := crd_errors(o))}
    assert not errors


def test_every_custom_resource_kind_is_rendered_and_checked_somewhere() -> None:
    """A CRD schema no overlay uses, or an overlay using a kind without schema, is a gap in the checks."""
    rendered = {(o["apiVersion"], o["kind"]) for overlay in OVERLAYS for o in render(overlay)}
    assert set(crd_schemas()) <= rendered
    unknown = set()
    for api_version, kind in rendered - set(crd_schemas()):
        try:
            kubernetes_validate.validate({"apiVersion": api_version, "kind": kind}, KUBERNETES_VERSIONS[-1])
        except kubernetes_validate.SchemaNotFoundError:
            unknown.add((api_version, kind))
        except kubernetes_validate.ValidationError:
            pass  # the schema exists: the empty object is just invalid
    assert not unknown


def test_the_schema_checks_reject_a_misspelt_or_missing_field() -> None:
    dev = render("dev")
    deployment = copy.deepcopy(of_kind(dev, "Deployment")[0])
    deployment["spec"]["template"]["spec"]["containers"][0]["readinesProbe"] = {}
    assert kubernetes_errors(deployment, KUBERNETES_VERSIONS[-1])

    topic = copy.deepcopy(of_kind(dev, "KafkaTopic")[0])
    topic["spec"]["partition"] = topic["spec"].pop("partitions")
    assert crd_errors(topic)

    pool = copy.deepcopy(of_kind(dev, "KafkaNodePool")[0])
    del pool["spec"]["roles"]
    assert crd_errors(pool)

    rule = copy.deepcopy(of_kind(render("prod"), "PrometheusRule")[0])
    del rule["spec"]["groups"][0]["rules"][0]["expr"]
    assert crd_errors(rule)


@pytest.mark.parametrize("overlay", [o for o in OVERLAYS if of_kind(render(o), "KafkaTopic")])
def test_in_cluster_kafka_declares_every_contract_topic(overlay: str) -> None:
    objects = render(overlay)
    declared = {t["spec"]["topicName"]: t["spec"] for t in of_kind(objects, "KafkaTopic")}
    assert set(declared) == set(topics.ALL)

    (common,) = [c for c in of_kind(objects, "ConfigMap") if c["metadata"]["name"] == "relais-common"]
    default_partitions = int(
        common["data"].get("RELAIS_KAFKA_DEFAULT_PARTITIONS", ServiceSettings().kafka_default_partitions)
    )
    (pool,) = of_kind(objects, "KafkaNodePool")
    for name, spec in declared.items():
        assert spec["partitions"] == default_partitions, name
        assert "retention.ms" in spec["config"], name
        min_insync = spec["config"]["min.insync.replicas"]
        assert 1 <= min_insync <= spec["replicas"] <= pool["spec"]["replicas"], name
    # The conversation log is the system of record that the Redis views are rebuilt from.
    assert declared[topics.CONVERSATIONS]["config"]["retention.ms"] == -1

    # The services reach the cluster the component declares, on its listener: TLS, SCRAM-SHA-512.
    (kafka,) = of_kind(objects, "Kafka")
    (listener,) = kafka["spec"]["kafka"]["listeners"]
    bootstrap = f"{kafka['metadata']['name']}-kafka-bootstrap:{listener['port']}"
    assert common["data"]["RELAIS_KAFKA_BOOTSTRAP_SERVERS"] == bootstrap
    assert common["data"]["RELAIS_KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL"
    assert common["data"]["RELAIS_KAFKA_SASL_MECHANISM"] == listener["authentication"]["type"].upper()
