"""The direct fast path (terraform's ``fast_path_mode = "direct"``) through the real pieces:
``python -m health_probe`` with ``fast_path_direct``, signing as node-b's instance principal (the
emulator's metadata service and X.509 federation), under the emulator's IAM evaluating
terraform's iam.tf, and ``python -m health_probe.notify`` as keepalived runs it. No function is
attached: the agent runs the function's core itself.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import oci
import pytest

from health_probe.config import ConfigError, parse_config
from ocisim import Emulator
from tests.support.health_servers import MonitorUriServer
from tests.support.node_agent import agent_config, free_port, run_notify, spawn_agent, wait_for_event
from tests.support.topology import two_node

# The node whose keepalived becomes MASTER; node-a holds the VIP at the start.
NODE = "node-b"
Started = Callable[[str], tuple[dict[str, Any], Path, subprocess.Popen]]


def direct_settings(emu: Emulator, servers: dict[str, MonitorUriServer]) -> dict[str, str]:
    """The events function's configuration as terraform hands it to the nodes in direct mode
    (without the events topic and compartment), its nodes' health at ``servers``."""
    config = dict(emu.topology["functions"][0]["config"])
    for key in ("EVENTS_TOPIC_ID", "COMPARTMENT_ID"):
        config.pop(key)
    nodes = json.loads(config["NODES"])
    for node in nodes:
        node["health_url"] = servers[node["name"]].url
    return {**config, "NODES": json.dumps(nodes), "PROBE_TIMEOUT_SECONDS": "0.5", "OCI_SERVICE_ENDPOINT": emu.endpoint}


@pytest.fixture
def start_emulator(tmp_path: Path) -> Iterator[Callable[[str], Emulator]]:
    """An emulator whose IAM evaluates iam.tf with ``var.fast_path_mode`` bound as given."""
    started: list[Emulator] = []

    def start(mode: str) -> Emulator:
        topology = two_node()
        topology["iam"]["bindings"]["var.fast_path_mode"] = mode
        path = tmp_path / "topology.json"
        path.write_text(json.dumps(topology))
        started.append(Emulator.start(topology=path, state=None))
        return started[-1]

    yield start
    for emu in started:
        emu.stop()


@pytest.fixture
def direct_agent(
    start_emulator: Callable[[str], Emulator],
    health_servers: dict[str, MonitorUriServer],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[tuple[Emulator, Started]]:
    """(emulator in direct mode, a starter of node-b's agent in that mode with instance principals)."""
    emu = start_emulator("direct")
    processes: list[subprocess.Popen] = []
    # The agent and notify (its children) sign as node-b: the metadata service node-b would see.
    monkeypatch.setenv("OCI_METADATA_BASE_URL", f"{emu.endpoint}/imds/{NODE}/opc/v2")

    def start(ready: str = "relay_ready") -> tuple[dict[str, Any], Path, subprocess.Popen]:
        config = node_b_config(emu, health_servers)
        log, process = spawn_agent(config, tmp_path)
        processes.append(process)
        wait_for_event(log, ready, process)
        return config, log, process

    yield emu, start
    for process in processes:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
        assert process.returncode == 0


def node_b_config(emu: Emulator, servers: dict[str, MonitorUriServer]) -> dict[str, Any]:
    """node-b's node-agent.yaml in direct mode: instance principals, no function to invoke."""
    return agent_config(
        emu,
        servers,
        NODE,
        auth="instance_principal",
        oci_config_file="",
        federation_endpoint=f"{emu.endpoint}/v1/x509",
        notify_timeout_seconds=15,
        relay_port=free_port(),
        endpoint_address="127.0.0.1",
        endpoint_port=free_port(),
        haproxy_url=servers[NODE].url,
        floating_ips=["127.0.0.1"],
        fast_path_direct=direct_settings(emu, servers),
    )


def vip_writes(emu: Emulator) -> list[dict[str, Any]]:
    return [entry for entry in emu.audit() if entry["operation"] == "UpdatePrivateIp"]


def vip_vnic(emu: Emulator) -> str:
    """Where the VIP is, read as an operator would (their API key, not the node's principal)."""
    client = oci.core.VirtualNetworkClient(emu.oci_config(), service_endpoint=emu.endpoint)
    return client.get_private_ip(emu.topology["functions"][0]["config"]["VIP_PRIVATE_IP_IDS"]).data.vnic_id


def instance_of(emu: Emulator, name: str) -> dict[str, Any]:
    return next(i for i in emu.topology["instances"] if i["displayName"] == name)


def test_a_master_notice_moves_the_vip_to_this_node_with_one_write_by_its_instance_principal(
    direct_agent: tuple[Emulator, Started], health_servers: dict[str, MonitorUriServer], tmp_path: Path
) -> None:
    emu, start = direct_agent
    config, log, agent = start()
    health_servers["node-a"].healthy = False  # node-a's haproxy failed: keepalived made node-b MASTER
    status, lines, _ = run_notify(config, tmp_path)
    assert status == 0
    assert [line["event"] for line in lines] == ["notify_answered"]
    assert (lines[0]["path"], lines[0]["decision"], lines[0]["to"]) == ("relay", "moved", NODE)
    node_b = instance_of(emu, NODE)
    [write] = vip_writes(emu)
    assert write["principal"]["id"] == node_b["id"], "the node's own instance principal moved it"
    assert vip_vnic(emu) == node_b["vnics"][0]["id"]
    [relayed] = [line for line in wait_for_event(log, "relay_answered", agent) if line["event"] == "relay_answered"]
    assert (relayed["decision"], relayed["to"]) == ("moved", NODE)
    # keepalived's second MASTER notice (notify_master_rx_lower_pri): re-read, nothing written.
    status, lines, _ = run_notify(config, tmp_path)
    assert (status, lines[0]["decision"]) == (0, "no_change")
    assert len(vip_writes(emu)) == 1


def test_a_master_notice_moves_nothing_while_the_holder_still_serves(
    direct_agent: tuple[Emulator, Started], health_servers: dict[str, MonitorUriServer], tmp_path: Path
) -> None:
    emu, start = direct_agent
    config, _, _ = start()
    holder = vip_vnic(emu)
    status, lines, _ = run_notify(config, tmp_path)  # a split: both MASTER, node-a healthy
    assert status == 0
    assert (lines[0]["path"], lines[0]["decision"]) == ("relay", "no_change")
    assert "holder node-a is healthy" in lines[0]["reason"]
    assert vip_writes(emu) == [] and vip_vnic(emu) == holder


def test_a_concurrent_move_412_is_read_again_before_deciding(
    direct_agent: tuple[Emulator, Started], health_servers: dict[str, MonitorUriServer], tmp_path: Path
) -> None:
    """The function and a node may both write: on 412 the agent reads again and decides anew, as
    the function does, rather than overwrite what it did not see."""
    emu, start = direct_agent
    config, _, _ = start()
    health_servers["node-a"].healthy = False
    emu.inject_fault("UpdatePrivateIp", status=412, code="NoEtagMatch", count=1)
    status, lines, _ = run_notify(config, tmp_path)
    assert (status, lines[0]["decision"], lines[0]["to"]) == (0, "moved", NODE)
    assert len(vip_writes(emu)) == 1


def operator_moves(emu: Emulator, node: str) -> None:
    """An operator moves the VIP by hand (their API key): a write the agent did not see."""
    client = oci.core.VirtualNetworkClient(emu.oci_config(), service_endpoint=emu.endpoint)
    vip = emu.topology["functions"][0]["config"]["VIP_PRIVATE_IP_IDS"]
    details = oci.core.models.UpdatePrivateIpDetails(vnic_id=instance_of(emu, node)["vnics"][0]["id"])
    client.update_private_ip(vip, details)


def test_the_agent_writes_on_the_read_it_remembers_without_reading_first(
    direct_agent: tuple[Emulator, Started], health_servers: dict[str, MonitorUriServer], tmp_path: Path
) -> None:
    """The agent read the VIP when it started: a notice goes straight to the if-match write.
    Proof: with every GetPrivateIp failing from now on, the VIP still moves (only the read-back,
    after the write, cannot verify it)."""
    emu, start = direct_agent
    config, _, _ = start()
    health_servers["node-a"].healthy = False
    emu.inject_fault("GetPrivateIp", status=500, count=None)
    status, lines, _ = run_notify(config, tmp_path)
    emu.clear_faults()
    assert status == 0
    assert (lines[0]["path"], lines[0]["decision"]) == ("relay", "unverified")
    [write] = vip_writes(emu)
    assert write["principal"]["id"] == instance_of(emu, NODE)["id"]
    assert vip_vnic(emu) == instance_of(emu, NODE)["vnics"][0]["id"]


@pytest.mark.parametrize("remembered_on", [NODE, "node-a"])
def test_a_remembered_read_gone_stale_never_leaves_the_vip_on_a_dead_node(
    direct_agent: tuple[Emulator, Started],
    health_servers: dict[str, MonitorUriServer],
    tmp_path: Path,
    remembered_on: str,
) -> None:
    """The agent remembers the VIP on ``remembered_on``; an operator has since put it on node-a
    (moved it away and back), and node-a has failed. Remembered on this node: deciding on memory
    would say "already here, nothing to do" and leave the VIP on a dead node, so the agent reads
    again before deciding to write nothing. Remembered on node-a: the write carries a spent etag,
    is refused (412), and the agent reads again and moves it, overwriting nothing it did not see."""
    emu, start = direct_agent
    if remembered_on == NODE:
        operator_moves(emu, NODE)
    config, log, agent = start()
    if remembered_on == "node-a":
        operator_moves(emu, NODE)
    operator_moves(emu, "node-a")
    health_servers["node-a"].healthy = False
    status, lines, _ = run_notify(config, tmp_path)
    assert status == 0
    assert (lines[0]["decision"], lines[0]["to"]) == ("moved", NODE)
    assert vip_vnic(emu) == instance_of(emu, NODE)["vnics"][0]["id"]
    assert vip_writes(emu)[-1]["principal"]["id"] == instance_of(emu, NODE)["id"]
    events = [line["event"] for line in wait_for_event(log, "relay_answered", agent)]
    assert ("etag_mismatch" in events) == (remembered_on == "node-a")


def test_without_the_direct_mode_policy_the_node_moves_nothing(
    start_emulator: Callable[[str], Emulator],
    health_servers: dict[str, MonitorUriServer],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """fast_path_mode "function" deploys no move grant for the nodes: a node agent configured for
    direct mode anyway is refused by IAM (404, as OCI answers) and says so."""
    emu = start_emulator("function")
    monkeypatch.setenv("OCI_METADATA_BASE_URL", f"{emu.endpoint}/imds/{NODE}/opc/v2")
    health_servers["node-a"].healthy = False
    # No agent runs: notify's own fallback runs the core (cold: its own instance-principal token).
    status, lines, _ = run_notify(node_b_config(emu, health_servers), tmp_path)
    assert status == 0
    assert [line["event"] for line in lines] == ["relay_unavailable", "notify_answered"]
    assert (lines[1]["path"], lines[1]["decision"]) == ("direct", "error")
    assert "not found or not authorized (NotAuthorizedOrNotFound)" in lines[1]["reason"]
    assert vip_writes(emu) == []


def test_direct_mode_takes_the_events_functions_configuration_for_this_node_only(
    start_emulator: Callable[[str], Emulator], health_servers: dict[str, MonitorUriServer]
) -> None:
    emu = start_emulator("direct")
    raw = node_b_config(emu, health_servers)
    assert parse_config(raw).fast_path_direct == raw["fast_path_direct"]
    settings = raw["fast_path_direct"]
    refusals = {
        "ROLE must be 'events'": {**settings, "ROLE": "operator"},
        "unknown key(s) FORCE": {**settings, "FORCE": "true"},
        "every value must be a string": {**settings, "COOLDOWN_SECONDS": 60},
        "NODES: required": {k: v for k, v in settings.items() if k != "NODES"},
    }
    for message, bad in refusals.items():
        with pytest.raises(ConfigError, match=re.escape(message)):
            parse_config({**raw, "fast_path_direct": bad})
    with pytest.raises(ConfigError, match="NODES does not name this node"):
        parse_config({**raw, "node": "node-c", "fast_path_direct": settings})
