"""The embedded default probes only loopback: the simulated node health endpoints."""

from __future__ import annotations

import json

import oci
import requests

from ocisim import Emulator


def test_simulated_node_answers_200_then_503_when_set_down(emulator: Emulator) -> None:
    url = f"{emulator.endpoint}/_sim/nodes/node-a/healthz"
    assert requests.get(url, timeout=5).status_code == 200
    emulator.set_node_health("node-a", False)
    assert requests.get(url, timeout=5).status_code == 503
    answer = requests.put(f"{emulator.endpoint}/_admin/nodes/node-a", json={"healthy": True}, timeout=5)
    assert answer.json() == {"name": "node-a", "healthy": True}
    assert requests.get(url, timeout=5).status_code == 200


def test_unknown_node_and_bad_switch_are_oci_errors(emulator: Emulator) -> None:
    missing = requests.get(f"{emulator.endpoint}/_sim/nodes/node-z/healthz", timeout=5)
    assert (missing.status_code, missing.json()["code"]) == (404, "NotAuthorizedOrNotFound")
    bad = requests.put(f"{emulator.endpoint}/_admin/nodes/node-a", json={"healthy": "yes"}, timeout=5)
    assert (bad.status_code, bad.json()["code"]) == (400, "InvalidParameter")


def test_default_function_probes_the_simulated_nodes(tmp_path) -> None:
    """The shipped topology + the real function: status shows both simulated nodes, and an
    operator's failover (the operators' function) moves the IP once node-a's simulated health
    endpoint fails."""
    with Emulator.start(function_dir=".", state=tmp_path / "state.json") as emu:
        config = oci.config.from_file(emu.oci_config_file, emu.oci_profile)
        invoke = oci.functions.FunctionsInvokeClient(config, service_endpoint=emu.endpoint)
        fn = emu.functions["vip-failover-operator"]

        def call(body: dict) -> dict:
            return json.loads(invoke.invoke_function(fn, invoke_function_body=json.dumps(body)).data.text)

        status = call({"action": "status"})
        assert {n: h["health"] for n, h in status["health"].items()} == {"node-a": "healthy", "node-b": "healthy"}
        emu.set_node_health("node-a", False)
        moved = call({"action": "failover"})
        assert (moved["decision"], moved["from"], moved["to"]) == ("moved", "node-a", "node-b")
