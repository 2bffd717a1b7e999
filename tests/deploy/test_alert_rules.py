"""The alert rules through Prometheus's own promtool: they load, every alert has unit tests with input
series that make it fire on the situation it names and stay quiet otherwise, and the Kubernetes
PrometheusRule is the same rules as the local file (deploy/prometheus/rules.yml is the one source)."""

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from deploy.prometheus.render_rules import SOURCE, TARGET, prometheus_rule
from tests.deploy.queries import alert_rules

pytestmark = pytest.mark.unit

UNIT_TESTS = SOURCE.parent / "tests"


def promtool() -> str:
    """promtool from Debian's prometheus package, which `make install` installs; missing fails, not skips."""
    found = os.environ.get("PROMTOOL") or shutil.which("promtool")
    if not found:
        pytest.fail("promtool not found: run `make install` (deploy/local/prometheus.sh install)")
    return found


def run_promtool(*args: str) -> str:
    out = subprocess.run([promtool(), *args], capture_output=True, text=True, check=False)
    assert out.returncode == 0, f"promtool {' '.join(args)}:\n{out.stdout}\n{out.stderr}"
    return out.stdout


def source_alerts() -> list[str]:
    rules = yaml.safe_load(SOURCE.read_text())
    return [rule["alert"] for group in rules["groups"] for rule in group["rules"] if "alert" in rule]


def unit_test_cases(path: Path) -> list[dict[str, Any]]:
    return [case for group in yaml.safe_load(path.read_text())["tests"] for case in group["alert_rule_test"]]


def test_promtool_accepts_the_rules() -> None:
    assert f"SUCCESS: {len(source_alerts())} rules found" in run_promtool("check", "rules", str(SOURCE))


def test_every_alert_has_a_unit_test_where_it_fires_and_one_where_it_stays_quiet() -> None:
    alerts = source_alerts()
    files = {path.stem: path for path in UNIT_TESTS.glob("*.yml")}
    assert set(files) == set(alerts), "one deploy/prometheus/tests/<alert>.yml per alert, and no other"
    for alert, path in files.items():
        cases = [case for case in unit_test_cases(path) if case["alertname"] == alert]
        assert any(case["exp_alerts"] for case in cases), f"{path.name}: no case where {alert} fires"
        assert any(not case["exp_alerts"] for case in cases), f"{path.name}: no case where {alert} is quiet"


def test_the_unit_tests_pass() -> None:
    files = sorted(str(path) for path in UNIT_TESTS.glob("*.yml"))
    out = run_promtool("test", "rules", *files)
    assert out.count("SUCCESS") == len(files), out


def test_a_unit_test_that_expects_the_wrong_alert_fails(tmp_path: Path) -> None:
    """promtool's exit status is what the tests above rely on: a broken expectation must turn it red."""
    case = yaml.safe_load((UNIT_TESTS / "RelaisQueueWithoutAgents.yml").read_text())
    case["rule_files"] = [str(SOURCE)]
    case["tests"][1]["alert_rule_test"][0]["exp_alerts"] = [{"exp_labels": {"severity": "critical"}}]
    broken = tmp_path / "broken.yml"
    broken.write_text(yaml.safe_dump(case))
    out = subprocess.run([promtool(), "test", "rules", str(broken)], capture_output=True, text=True)
    assert out.returncode != 0
    assert "FAILED" in out.stdout + out.stderr


def test_the_prometheusrule_is_rendered_from_the_one_source() -> None:
    assert TARGET.read_text() == prometheus_rule(SOURCE.read_text()), "stale: run `make schemas`"
    source = yaml.safe_load(SOURCE.read_text())
    assert yaml.safe_load(TARGET.read_text())["spec"] == source
    # What a cluster receives, after kustomize: the same rules.
    assert alert_rules() == [rule for group in source["groups"] for rule in group["rules"]]


def test_a_rule_file_that_is_not_one_is_refused() -> None:
    with pytest.raises(ValueError, match="groups"):
        prometheus_rule("apiVersion: monitoring.coreos.com/v1\n")
