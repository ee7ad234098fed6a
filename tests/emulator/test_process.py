"""The emulator as users run it: persisted state across restarts, `python -m ocisim serve`,
the ready line, SIGTERM, and the `oci` command-line client against it."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from contextlib import suppress
from pathlib import Path
from typing import Any

import oci
import pytest
import requests

from ocisim import Emulator
from ocisim.emulator import DEFAULT_TOPOLOGY
from tests.support.clients import move
from tests.support.emulator_process import READY_TIMEOUT_SECONDS, client, serve, stop
from tests.support.paths import REPO
from tests.support.topology import Topology, two_node


def test_state_survives_a_restart_through_the_python_api(tmp_path: Path, topo: Topology) -> None:
    state = tmp_path / "state.json"
    with Emulator.start(topology=DEFAULT_TOPOLOGY, state=state) as emu:
        move(client(emu.ready_line), topo.vip_id, topo.vnic_b)
        before = client(emu.ready_line).get_private_ip(topo.vip_id)  # a move's own etag is not the final one
    with Emulator.start(topology=DEFAULT_TOPOLOGY, state=state) as emu:
        got = client(emu.ready_line).get_private_ip(topo.vip_id)
        assert got.data.vnic_id == topo.vnic_b
        assert got.headers["etag"] == before.headers["etag"]
        assert [e["after"]["vnicId"] for e in emu.audit()] == [topo.vnic_b]


def follow_audit(admin: str) -> None:
    """A lab-style audit follower, pending while the emulator stops: it must not delay it."""
    with suppress(requests.ConnectionError):
        requests.get(f"{admin}/audit", params={"after": 1, "wait": 30}, timeout=35)


def test_serve_prints_one_ready_line_stops_on_sigterm_and_resumes(tmp_path: Path, topo: Topology) -> None:
    state = tmp_path / "state.json"
    with serve("--topology", str(DEFAULT_TOPOLOGY), "--state", str(state), "--port", "0") as (process, ready):
        assert ready["endpoint"].startswith("http://127.0.0.1:")
        assert (ready["region"], ready["oci_profile"]) == ("us-ashburn-1", "DEFAULT")
        assert ready["compartment_id"].startswith("ocid1.compartment.oc1..")
        assert ready["functions"]["vip-failover"] == topo.function_id
        assert set(ready["functions"]) == {"vip-failover", "vip-failover-operator"}  # every deployed function
        admin = f"{ready['endpoint']}/_admin"
        requests.post(f"{admin}/faults", json={"operation": "GetPrivateIp", "drop": True}, timeout=5).raise_for_status()
        with pytest.raises(oci.exceptions.RequestException):
            client(ready).get_private_ip(topo.vip_id)
        move(client(ready), topo.vip_id, topo.vnic_b)
        follower = threading.Thread(target=follow_audit, args=(admin,), daemon=True)
        follower.start()
        stdout, stderr, took = stop(process)
    assert process.returncode == 0 and took < 5
    assert stdout == "", "the ready line is the only stdout output"
    events = [json.loads(line)["event"] for line in stderr.splitlines()]
    assert "ready" in events and events[-1] == "stopped"

    with serve("--topology", str(DEFAULT_TOPOLOGY), "--state", str(state), "--port", "0") as (process, ready):
        assert client(ready).get_private_ip(topo.vip_id).data.vnic_id == topo.vnic_b
        stop(process)


def test_oci_cli_reads_and_moves_the_floating_ip(emulator: Emulator, topo: Topology) -> None:
    """Also the ClusterLabs `ocivip` way: assign-private-ip --unassign-if-already-assigned."""

    def oci_cli(*args: str) -> dict[str, Any]:
        done = subprocess.run(
            [
                str(Path(sys.executable).parent / "oci"),
                "--config-file",
                emulator.oci_config_file,
                "--endpoint",
                emulator.endpoint,
                *args,
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        assert "Warning" not in done.stderr
        return json.loads(done.stdout)

    got = oci_cli("network", "private-ip", "get", "--private-ip-id", topo.vip_id)
    assert got["data"]["vnic-id"] == topo.vnic_a and got["etag"]

    moved = oci_cli(
        "network",
        "vnic",
        "assign-private-ip",
        "--vnic-id",
        topo.vnic_b,
        "--ip-address",
        topo.vip_address,
        "--unassign-if-already-assigned",
    )

    assert moved["data"]["vnic-id"] == topo.vnic_b
    assert [e["operation"] for e in emulator.audit()] == ["UpdatePrivateIp"]


def test_a_failed_start_stops_what_had_started_and_logs_only_json(tmp_path: Path) -> None:
    """The alarm loop starts before the health checks; when they refuse to start, the services
    already running are stopped, not left as tasks destroyed while pending at exit."""
    topology = two_node()
    topology.setdefault("healthChecks", {})["vantageNetns"] = "no-such-namespace"
    path = tmp_path / "topology.json"
    path.write_text(json.dumps(topology))
    done = subprocess.run(
        [
            sys.executable,
            "-X",
            "dev",
            "-m",
            "ocisim",
            "serve",
            "--topology",
            str(path),
            "--state",
            str(tmp_path / "state.json"),
            "--port",
            "0",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=READY_TIMEOUT_SECONDS,
    )
    assert done.returncode == 1 and done.stdout == ""
    assert "Task was destroyed" not in done.stderr and "unclosed" not in done.stderr
    assert json.loads(done.stderr.splitlines()[-1])["event"] == "failed to start"
