"""The Grafana dashboard and the alert rules: valid PromQL, every area ops watch covered, a sane layout."""

import promql_parser
import pytest

from tests.deploy.queries import (
    alert_queries,
    alert_rules,
    dashboard,
    dashboard_queries,
    exported_series,
    metric_names,
    parse,
    queried_metrics,
)

pytestmark = pytest.mark.unit

# What the issue asks each area of the dashboard to show, by the metric that shows it.
DASHBOARD_AREAS = {
    "queues: waiting": "relais_router_waiting",
    "queues: longest wait": "relais_router_longest_wait_seconds",
    "queues: service level": "relais_router_service_level",
    "queues: abandonment": "relais_router_abandoned_total",
    "agents: occupancy": "relais_router_agent_occupancy",
    "agents: states": "relais_router_agents",
    "bot: handled vs handed over": "relais_bot_messages_total",
    "bot: handoffs by reason": "relais_bot_handoffs_total",
    "pipeline: consumer lag": "relais_consumer_lag",
    "pipeline: dead letters": "relais_deadletters_total",
    "pipeline: end-to-end latency": "relais_context_reply_latency_seconds_bucket",
}
ALERTS = {
    "RelaisConsumerLagGrowing": {"relais_consumer_lag"},
    "RelaisDeadLetters": {"relais_deadletters_total"},
    "RelaisInfrastructureFaults": {"relais_infrastructure_retries_total"},
    "RelaisEventTimesClamped": {"relais_event_time_clamped_total"},
    "RelaisServiceLevelBreached": {"relais_router_service_level"},
    "RelaisQueueWithoutAgents": {"relais_router_waiting", "relais_router_eligible_agents"},
    "RelaisResponseBreachRate": {"relais_router_clock_breaches_total", "relais_router_offers_total"},
}


@pytest.mark.parametrize(("where", "expr"), dashboard_queries() + alert_queries())
def test_every_query_is_valid_promql(where: str, expr: str) -> None:
    parse(expr)
    assert metric_names(expr), f"{where} reads no metric"


def test_a_broken_query_or_a_nameless_selector_is_caught() -> None:
    with pytest.raises(ValueError, match=r".+"):
        parse("sum by (queue (relais_router_waiting)")
    with pytest.raises(AssertionError, match="without a metric name"):
        metric_names('sum({__name__=~"relais_.+"})')


def test_the_dashboard_covers_queues_agents_bot_and_pipeline() -> None:
    used = queried_metrics()
    missing = {area: metric for area, metric in DASHBOARD_AREAS.items() if metric not in used}
    assert not missing
    rows = [p["title"] for p in dashboard()["panels"] if p["type"] == "row"]
    assert rows == ["Queues", "Agents", "Bot", "Pipeline"]


def test_the_dashboard_layout_is_sound() -> None:
    panels = dashboard()["panels"]
    ids = [p["id"] for p in panels]
    assert len(ids) == len(set(ids))
    cells: set[tuple[int, int]] = set()
    for panel in panels:
        grid = panel["gridPos"]
        columns, lines = range(grid["x"], grid["x"] + grid["w"]), range(grid["y"], grid["y"] + grid["h"])
        assert set(columns) <= set(range(24)), f"{panel['title']} is wider than the dashboard"
        area = {(x, y) for x in columns for y in lines}
        assert not area & cells, f"{panel['title']} overlaps another panel"
        cells |= area
        if panel["type"] != "row":
            assert panel["targets"], panel["title"]
            assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
            assert panel.get("description"), f"{panel['title']}: say what it shows"


def test_the_alerts_ops_asked_for_exist_and_read_what_they_should() -> None:
    rules = {rule["alert"]: rule for rule in alert_rules()}
    for alert, metrics in ALERTS.items():
        assert metrics <= metric_names(rules[alert]["expr"]), alert
    for name, rule in rules.items():
        assert rule["labels"]["severity"] in {"warning", "critical"}, name
        assert rule["annotations"]["summary"], name
        # A rule comparing to nothing would fire on every series: each alert compares its result.
        assert isinstance(parse(rule["expr"]), promql_parser.BinaryExpr), name


def test_exported_series_include_the_suffixes_of_each_family_type() -> None:
    text = """# HELP a_total A counter
# TYPE a_total counter
# HELP b A histogram
# TYPE b histogram
b_bucket{le="+Inf"} 1.0
b_count 1.0
b_sum 0.5
# HELP c A gauge
# TYPE c gauge
"""
    series = exported_series(text)
    assert {"a_total", "b_bucket", "b_count", "b_sum", "c"} <= series
    assert "a" not in series
    assert "c_total" not in series
