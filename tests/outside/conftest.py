"""Fixtures for the outside checks: clients nobody here wrote, driving the emulator."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from ocisim import Emulator
from ocisim.emulator import DEFAULT_TOPOLOGY
from tests.support.topology import two_node


@pytest.fixture(scope="module")
def shared_emulator() -> Iterator[Emulator]:
    """One emulator for a module whose tests only read, or undo what they change."""
    with Emulator.start(topology=DEFAULT_TOPOLOGY, state=None) as emu:
        yield emu


@pytest.fixture(scope="module")
def topology() -> dict[str, Any]:
    return two_node()
