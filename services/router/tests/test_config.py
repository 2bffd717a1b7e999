"""Routing configuration: what a tenant's file may say, and the precise reasons a file is refused."""

from pathlib import Path

import pytest
from pydantic import ValidationError

from relais_router.adapters.config_files import read_configs
from relais_router.domain import RoutingConfig
from relais_router.domain.config import OpeningHours

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[3]


def test_the_shipped_example_is_valid() -> None:
    configs, errors = read_configs(REPO / "deploy" / "k8s" / "base" / "router" / "routing")
    assert errors == []
    assert [c.tenant for c in configs] == ["demo"]
    assert RoutingConfig.model_validate(configs[0].config).queue("care").priority == 50


@pytest.mark.parametrize(
    ("config", "reason"),
    [
        ({"queues": {"a": {"overflow": [{"after_s": 10, "move_to": "nowhere"}]}}}, "unknown queue 'nowhere'"),
        ({"queues": {"a": {"overflow": [{"after_s": 10, "move_to": "a"}]}}}, "overflows into itself"),
        (
            {"queues": {"a": {}, "b": {"overflow": [{"after_s": 10, "move_to": "a", "add_agents_of": "a"}]}}},
            "exactly one of",
        ),
        ({"queues": {"a": {"overflow": [{"after_s": 10, "lower_skill": "x"}]}}}, "needs to_proficiency"),
        (
            {
                "queues": {
                    "a": {},
                    "b": {"overflow": [{"after_s": 20, "move_to": "a"}, {"after_s": 10, "move_to": "a"}]},
                }
            },
            "increasing after_s",
        ),
        ({"queues": {"a": {"skills": {"x": 6}}}}, "less than or equal to 5"),
        ({"queues": {"a": {"hours": {"timezone": "Mars/Olympus", "weekly": {}}}}}, "unknown time zone"),
        ({"queues": {"a": {"hours": {"weekly": {"mon": ["18:00-08:00"]}}}}}, "ends before it starts"),
        ({"queues": {"a": {"hours": {"weekly": {"mon": ["8h-12h"]}}}}}, "not HH:MM-HH:MM"),
        ({"queues": {"a": {"hours": {"weekly": {}, "closed_action": "move"}}}}, "closed_queue is required"),
        ({"agent_order": ["idle", "idle"]}, "twice"),
        ({"queues": {"a": {"skils": {}}}}, "Extra inputs are not permitted"),
    ],
)
def test_a_wrong_configuration_is_refused_with_its_reason(config: dict[str, object], reason: str) -> None:
    with pytest.raises(ValidationError, match=reason):
        RoutingConfig.model_validate(config)


def test_a_broken_file_is_reported_and_the_others_still_load(tmp_path: Path) -> None:
    (tmp_path / "good.yaml").write_text("queues: {general: {priority: 1}}")
    (tmp_path / "bad.yaml").write_text("queues: {general: {priority: -1}}")
    (tmp_path / "not yaml.yaml").write_text("{")
    (tmp_path / "notes.txt").write_text("ignored")
    configs, errors = read_configs(tmp_path)
    assert [c.tenant for c in configs] == ["good"]
    assert errors[0].startswith("bad.yaml: queues.general.priority:")
    assert errors[1].startswith("not yaml.yaml: ")


def test_digests_change_only_with_the_content(tmp_path: Path) -> None:
    (tmp_path / "t.yaml").write_text("queues: {a: {priority: 1}}\n")
    first = read_configs(tmp_path)[0][0].digest
    (tmp_path / "t.yaml").write_text("# a comment\nqueues:\n  a: {priority: 1}\n")
    assert read_configs(tmp_path)[0][0].digest == first
    (tmp_path / "t.yaml").write_text("queues: {a: {priority: 2}}\n")
    assert read_configs(tmp_path)[0][0].digest != first


def test_an_opening_interval_must_last() -> None:
    with pytest.raises(ValidationError, match="ends before it starts"):
        OpeningHours(weekly={"mon": ("10:00-10:00",)})  # type: ignore[dict-item]
