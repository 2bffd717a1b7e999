"""Fixtures of the end-to-end tests: the four services started through their entry points."""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from relais_platform.testing import Infra
from tests.e2e.system import MODULES, System, start_system


@pytest.fixture
async def system(infra: Infra, tmp_path: Path) -> AsyncIterator[System]:
    """The four services, started through their entry points."""
    system = await start_system(infra, tmp_path, list(MODULES))
    try:
        yield system
    finally:
        system.stop()
