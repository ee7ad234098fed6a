"""The emulator as users run it: persisted state across restarts, `python -m ocisim serve`,
the ready line, SIGTERM, and the `oci` command-line client against it."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import oci
import pytest
import requests

from ocisim import Emulator
from ocisim.emulator import DEFAULT_TOPOLOGY
from tests.emulator.conftest import Topology, move

REPO = Path(__file__).resolve().parents[2]
READY_TIMEOUT_SECONDS = 30


def client(ready: dict[str, Any]) -> oci.core.VirtualNetworkClient:
    config = oci.config.from_file(ready["oci_config_file"], ready["oci_profile"])
    return oci.core.VirtualNetworkClient(config, service_endpoint=ready["endpoint"])


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


@contextmanager
def serve(state: Path, topology: Path = DEFAULT_TOPOLOGY,
          *options: str) -> Iterator[tuple[subprocess.Popen[str], dict[str, Any]]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "ocisim", "serve", "--topology", str(topology),
         "--state", str(state), "--port", "0", *options],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.append(process.stdout.readline()), daemon=True)
    reader.start()
    reader.join(READY_TIMEOUT_SECONDS)
    try:
        assert lines and lines[0], f"no ready line; stderr: {process.stderr.read() if process.poll() is not None else ''}"
        yield process, json.loads(lines[0])
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(5)


def follow_audit(admin: str) -> None:
    """A lab-style audit follower, pending while the emulator stops: it must not delay it."""
    try:
        requests.get(f"{admin}/audit", params={"after": 1, "wait": 30}, timeout=35)
    except requests.ConnectionError:
        pass


def stop(process: subprocess.Popen[str]) -> tuple[str, str, float]:
    started = time.monotonic()
    process.send_signal(signal.SIGTERM)
    stdout, stderr = process.communicate(timeout=10)
    return stdout, stderr, time.monotonic() - started


def test_serve_prints_one_ready_line_stops_on_sigterm_and_resumes(tmp_path: Path, topo: Topology) -> None:
    state = tmp_path / "state.json"
    with serve(state) as (process, ready):
        assert ready["endpoint"].startswith("http://127.0.0.1:")
        assert (ready["region"], ready["oci_profile"]) == ("us-ashburn-1", "DEFAULT")
        assert ready["compartment_id"].startswith("ocid1.compartment.oc1..")
        assert ready["functions"]["vip-failover"] == topo.function_id
        assert set(ready["functions"]) == {"vip-failover", "vip-failover-operator"}  # every deployed function
        admin = f"{ready['endpoint']}/_admin"
        requests.post(f"{admin}/faults", json={"operation": "GetPrivateIp", "drop": True},
                      timeout=5).raise_for_status()
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

    with serve(state) as (process, ready):
        assert client(ready).get_private_ip(topo.vip_id).data.vnic_id == topo.vnic_b
        stop(process)


def test_oci_cli_reads_and_moves_the_floating_ip(emulator: Emulator, topo: Topology) -> None:
    """Also the ClusterLabs `ocivip` way: assign-private-ip --unassign-if-already-assigned."""
    def oci_cli(*args: str) -> dict[str, Any]:
        done = subprocess.run([str(Path(sys.executable).parent / "oci"), "--config-file",
                               emulator.oci_config_file, "--endpoint", emulator.endpoint, *args],
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        assert "Warning" not in done.stderr
        return json.loads(done.stdout)

    got = oci_cli("network", "private-ip", "get", "--private-ip-id", topo.vip_id)
    assert got["data"]["vnic-id"] == topo.vnic_a and got["etag"]

    moved = oci_cli("network", "vnic", "assign-private-ip", "--vnic-id", topo.vnic_b,
                    "--ip-address", topo.vip_address, "--unassign-if-already-assigned")

    assert moved["data"]["vnic-id"] == topo.vnic_b
    assert [e["operation"] for e in emulator.audit()] == ["UpdatePrivateIp"]
