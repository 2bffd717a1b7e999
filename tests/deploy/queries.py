"""The PromQL of the Grafana dashboard and of the alert rules, and the metric names it reads."""

import json
import re
from typing import Any

import promql_parser
from prometheus_client.parser import text_string_to_metric_families

from tests.deploy.rendering import REPO, of_kind, render

DASHBOARD = REPO / "deploy" / "grafana" / "relais.json"
# Grafana's own variables, replaced by what Grafana puts there before the query reaches Prometheus.
GRAFANA_VARIABLES = {"$__rate_interval": "1m", "$__interval": "30s", "$__range": "6h"}
# What a metric family of each type exposes, by suffix (the Prometheus and OpenMetrics text formats).
SERIES_SUFFIXES = {
    "counter": ("_total", "_created"),
    "gauge": ("",),
    "histogram": ("_bucket", "_count", "_sum", "_created"),
    "gaugehistogram": ("_bucket", "_gcount", "_gsum"),
    "summary": ("", "_count", "_sum", "_created"),
    "info": ("_info",),
    "stateset": ("",),
    "unknown": ("",),
}


def dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return loaded


def dashboard_queries() -> list[tuple[str, str]]:
    """(where, PromQL) of every panel target and every query variable of the dashboard."""
    found = [
        (f"panel {panel['title']!r} {target['refId']}", target["expr"])
        for panel in dashboard()["panels"]
        for target in panel.get("targets", [])
    ]
    for variable in dashboard()["templating"]["list"]:
        if variable["type"] == "query":
            # label_values(<series selector>, <label>): the selector is the PromQL part.
            match = re.fullmatch(r"label_values\((.+),\s*\w+\)", variable["query"]["query"])
            assert match, f"variable {variable['name']}: unexpected query {variable['query']}"
            found.append((f"variable {variable['name']}", match.group(1)))
    return found


def alert_rules() -> list[dict[str, Any]]:
    return [
        rule
        for rules in of_kind(render("prod"), "PrometheusRule")
        for group in rules["spec"]["groups"]
        for rule in group["rules"]
    ]


def alert_queries() -> list[tuple[str, str]]:
    return [(f"rule {rule.get('alert') or rule.get('record')}", rule["expr"]) for rule in alert_rules()]


def parse(expr: str) -> promql_parser.Expr:
    for variable, value in GRAFANA_VARIABLES.items():
        expr = expr.replace(variable, value)
    return promql_parser.parse(expr)


def metric_names(expr: str) -> set[str]:
    """The metric names a query selects; a selector without a plain name is refused, as it would escape."""
    names: set[str] = set()

    def visit(node: Any) -> bool:
        if isinstance(node, promql_parser.VectorSelector):
            assert node.name, f"selector without a metric name in {expr!r}"
            names.add(node.name)
        return True

    promql_parser.walk(parse(expr), visit)
    return names


def queried_metrics() -> dict[str, set[str]]:
    """Metric name -> where the dashboard and the alerts read it."""
    used: dict[str, set[str]] = {}
    for where, expr in dashboard_queries() + alert_queries():
        for name in metric_names(expr):
            used.setdefault(name, set()).add(where)
    return used


def exported_series(metrics_text: str) -> set[str]:
    """Every series name a /metrics page can carry, including families that have no sample yet."""
    names = set()
    for family in text_string_to_metric_families(metrics_text):
        names.update(family.name + suffix for suffix in SERIES_SUFFIXES[family.type])
        names.update(sample.name for sample in family.samples)
    return names
