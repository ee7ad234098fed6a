"""Fixtures for the function tests: node health endpoints and an emulator running func.py."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ocisim import Emulator
from ocisim.emulator import DEFAULT_TOPOLOGY
from tests.support.function_emulator import ALARM_IDS, FunctionEmulator, nodes_config
from tests.support.health_servers import PROBE_TIMEOUT, NodeVerdictServer
from tests.support.paths import REPO


@pytest.fixture
def nodes() -> Iterator[dict[str, NodeVerdictServer]]:
    # node-c for the three-node topology (multi.json); the others configure only node-a and node-b.
    health = {name: NodeVerdictServer(name) for name in ("node-a", "node-b", "node-c")}
    yield health
    for node in health.values():
        node.close()


@pytest.fixture
def start_function(nodes: dict[str, NodeVerdictServer]) -> Iterator[Callable[..., FunctionEmulator]]:
    """Start the emulator with this repo's function attached; keyword args are config overrides
    (``topology``: another topology file)."""
    started: list[Emulator] = []

    def start(*, topology: Path = DEFAULT_TOPOLOGY, **config: str) -> FunctionEmulator:
        function_config = {
            "NODES": nodes_config(nodes, topology),
            "COOLDOWN_SECONDS": "60",
            "PROBE_TIMEOUT_SECONDS": str(PROBE_TIMEOUT),
            "RETRY_DEADLINE_SECONDS": "20",
            "ALARM_IDS": ALARM_IDS,
            **config,
        }
        emu = Emulator.start(topology=topology, state=None, function_dir=REPO, function_config=function_config)
        started.append(emu)
        return FunctionEmulator(emu)

    yield start
    for emu in started:
        emu.stop()
