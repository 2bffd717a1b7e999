"""Test-wide fixtures (real Kafka and Redis, see relais_platform.testing) and the marker rule."""

import os

import pytest
from hypothesis import settings

pytest_plugins = ["relais_platform.testing"]

TIERS = ("unit", "integration", "e2e")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test declares its tier, so `-m unit` never silently skips or includes one."""
    unmarked = [item.nodeid for item in items if not any(item.get_closest_marker(t) for t in TIERS)]
    if unmarked:
        raise pytest.UsageError(f"tests without a tier marker ({', '.join(TIERS)}): {unmarked}")


# Property tests draw the same examples on every run (derived from each test's source): a red CI run
# reproduces anywhere, and a green main stays green. `make explore` draws new random ones, round after
# round (CI once failed on a draw no earlier run had made).
settings.register_profile("default", derandomize=True, print_blob=True)
settings.register_profile("explore", derandomize=False, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
