"""Test-wide fixtures (real Kafka and Redis, see relais_platform.testing) and the marker rule."""

import pytest

pytest_plugins = ["relais_platform.testing"]

TIERS = ("unit", "integration", "e2e")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test declares its tier, so `-m unit` never silently skips or includes one."""
    unmarked = [item.nodeid for item in items if not any(item.get_closest_marker(t) for t in TIERS)]
    if unmarked:
        raise pytest.UsageError(f"tests without a tier marker ({', '.join(TIERS)}): {unmarked}")
