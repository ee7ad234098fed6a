"""Clients and resource ids for the emulator tests, taken the way a user takes them.

The ids come from the topology file the emulator was seeded with (tests.support.topology); every call goes through the
real `oci` SDK clients signed with the config file the emulator wrote.
"""

from __future__ import annotations

from typing import Any

import oci
import pytest

from ocisim import Emulator
from tests.support.topology import Topology, read_topology


@pytest.fixture(scope="session")
def topo() -> Topology:
    return read_topology()


@pytest.fixture
def config(emulator: Emulator) -> dict[str, Any]:
    return oci.config.from_file(emulator.oci_config_file, emulator.oci_profile)


@pytest.fixture
def net(emulator: Emulator, config: dict[str, Any]) -> oci.core.VirtualNetworkClient:
    return oci.core.VirtualNetworkClient(config, service_endpoint=emulator.endpoint)


@pytest.fixture
def compute(emulator: Emulator, config: dict[str, Any]) -> oci.core.ComputeClient:
    return oci.core.ComputeClient(config, service_endpoint=emulator.endpoint)
