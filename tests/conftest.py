"""Shared fixtures for every test area: a fresh emulator on a free loopback port.

Each test gets its own in-memory emulator (starting takes ~0.2 s), so tests never see each
other's moves, faults or audit entries. Area-specific fixtures live in tests/<area>/conftest.py;
the stand-ins they build on, in tests/support/.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ocisim import Emulator
from ocisim.emulator import DEFAULT_TOPOLOGY


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    """The two-node topology, in memory; stopped (and its temp config removed) afterwards."""
    with Emulator.start(topology=DEFAULT_TOPOLOGY, state=None) as emu:
        yield emu


# Fixtures of the shared stand-ins, for every area: the booted lab, once per session (booting both
# nodes from terraform's cloud-init takes a minute or two, so tests/lab and the lab chaos subset
# share one), and haproxy's monitor-uri of each node (the node agent's targets).
pytest_plugins = ["tests.support.booted_lab", "tests.support.health_servers"]
