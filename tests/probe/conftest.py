"""tests/probe fixtures: the emulator running the function, for the agent's notify and relay."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from ocisim import Emulator
from ocisim.emulator import DEFAULT_TOPOLOGY
from tests.support.health_servers import MonitorUriServer
from tests.support.paths import REPO
from tests.support.topology import function_nodes


@pytest.fixture
def function_emulator(health_servers: dict[str, MonitorUriServer]) -> Iterator[Emulator]:
    """The emulator with this repo's function attached, its nodes' health at ``health_servers``."""
    nodes = function_nodes()
    for node in nodes:
        node["health_url"] = health_servers[node["name"]].url
    with Emulator.start(
        topology=DEFAULT_TOPOLOGY, state=None, function_dir=REPO, function_config={"NODES": json.dumps(nodes)}
    ) as emu:
        yield emu
