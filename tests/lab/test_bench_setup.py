"""The emulator as the bench's labs start it (lab/bench.py lab_setup): the `realistic` profile's
cold start for the default fast path, and for fast_path_provisioned the topology's provisioned
concurrency, which keeps the function's containers hot through an idle-out. The real emulator
with the function under fdk, called with the real SDK."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import oci
import pytest

from lab import bench, cloud
from lab.plan import REPO
from ocisim import Emulator
from tests.support.topology import FUNCTION, two_node


@pytest.fixture
def emulator(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Emulator]:
    setup = bench.lab_setup(request.param).emulator
    topology = tmp_path / "topology.json"
    topology.write_text(json.dumps(cloud.with_setup(two_node(), setup, tmp_path / "iam")))
    with Emulator.start(topology=topology, function_dir=REPO, profile=setup.profile) as emu:
        yield emu


def status_call(emu: Emulator) -> None:
    client = oci.functions.FunctionsInvokeClient(emu.oci_config(), service_endpoint=emu.endpoint)
    client.invoke_function(emu.functions[FUNCTION["name"]], invoke_function_body=bench.STATUS)


@pytest.mark.parametrize("emulator", ["fast_path_provisioned"], indirect=True)
def test_provisioned_concurrency_keeps_containers_hot_through_an_idle_out(emulator: Emulator) -> None:
    function_id = emulator.functions[FUNCTION["name"]]
    after = emulator.force_idle(function_id)
    assert (after["stopped"], after["provisioned"], after["containers"]) == (0, bench.WARM_CONTAINERS, 2)
    status_call(emulator)
    assert emulator.function_containers(function_id)["calls"] == {"cold": 0, "warm": 1}


@pytest.mark.parametrize("emulator", ["fast_path"], indirect=True)
def test_the_default_fast_path_meets_the_profiles_cold_start(emulator: Emulator) -> None:
    function_id = emulator.functions[FUNCTION["name"]]
    pool = emulator.force_idle(function_id)
    assert (pool["containers"], pool["coldStart"]["delaySeconds"]) == (0, 17.0)
