"""Clients and resource ids for the emulator tests, taken the way a user takes them.

The ids come from the topology file the emulator was seeded with (tests.support.topology); every call goes through the
real `oci` SDK clients signed with the config file the emulator wrote.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import oci
import pytest

from ocisim import Emulator
from tests.support.topology import MULTI_TOPOLOGY, Multi, Topology, read_multi, read_topology


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


@pytest.fixture(scope="session")
def multi() -> Multi:
    return read_multi()


@pytest.fixture
def multi_emulator() -> Iterator[Emulator]:
    """The multi topology, in memory, IAM as its topology says (API-key calls are not restricted)."""
    with Emulator.start(topology=MULTI_TOPOLOGY, state=None) as emu:
        yield emu


@pytest.fixture
def multi_net(multi_emulator: Emulator) -> oci.core.VirtualNetworkClient:
    config = oci.config.from_file(multi_emulator.oci_config_file, multi_emulator.oci_profile)
    return oci.core.VirtualNetworkClient(config, service_endpoint=multi_emulator.endpoint)
