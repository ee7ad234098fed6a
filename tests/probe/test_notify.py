"""keepalived's notify on the new MASTER invokes the real function (fast path), bounded in time.

Here no node agent runs, so its relay's port is closed and notify invokes the function directly
(the fallback); tests/probe/test_relay.py covers the relay."""

from __future__ import annotations

import socket
from pathlib import Path

import oci
import pytest

from ocisim import Emulator
from tests.support.node_agent import agent_config, notifying_config, run_keepalived_notify, run_notify


def test_notify_master_moves_the_vip_to_this_node(function_emulator: Emulator, health_servers, tmp_path: Path) -> None:
    emu = function_emulator
    health_servers["node-a"].healthy = False  # node-a's haproxy failed: keepalived made node-b MASTER
    config = notifying_config(
        emu,
        health_servers,
        "node-b",
    )
    status, lines, _ = run_notify(config, tmp_path)
    assert status == 0
    (answer,) = [line for line in lines if line["event"] == "notify_answered"]
    assert (answer["decision"], answer["to"], answer["node"], answer["path"]) == ("moved", "node-b", "node-b", "direct")
    vip = emu.topology["functions"][0]["config"]["VIP_PRIVATE_IP_IDS"]
    network = oci.core.VirtualNetworkClient(oci.config.from_file(emu.oci_config_file), service_endpoint=emu.endpoint)
    node_b = next(i for i in emu.topology["instances"] if i["displayName"] == "node-b")
    assert network.get_private_ip(vip).data.vnic_id == node_b["vnics"][0]["id"]


def test_notify_stop_from_the_holder_that_no_longer_serves_moves_the_vip_away(
    function_emulator: Emulator, health_servers, tmp_path: Path
) -> None:
    emu = function_emulator
    health_servers["node-a"].healthy = False  # keepalived stopped on node-a: alias gone, endpoint 503
    config = notifying_config(
        emu,
        health_servers,
        "node-a",
    )
    status, lines, _ = run_notify(config, tmp_path, state="STOP")
    assert status == 0
    (answer,) = [line for line in lines if line["event"] == "notify_answered"]
    assert (answer["state"], answer["decision"], answer["to"]) == ("STOP", "moved", "node-b")
    assert "after keepalived STOP from node-a" in answer["reason"]


def test_notify_gives_up_within_its_timeout_when_the_function_is_unreachable(
    emulator: Emulator, health_servers, tmp_path: Path
) -> None:
    with socket.socket() as holder:  # a loopback port nobody answers on
        holder.bind(("127.0.0.1", 0))
        holder.listen(0)
        endpoint = f"http://127.0.0.1:{holder.getsockname()[1]}"
        config = agent_config(
            emulator,
            health_servers,
            "node-b",
            function_id=emulator.functions["vip-failover"],
            invoke_endpoint=endpoint,
            notify_timeout_seconds=2,
        )
        status, lines, elapsed = run_notify(config, tmp_path)
    assert status == 1 and elapsed < 2 + 5  # the bound plus interpreter start-up
    assert [line["event"] for line in lines] == ["relay_unavailable", "notify_failed"] and lines[1]["reason"]
    assert "ConnectionRefused" in lines[0]["reason"] and lines[1]["path"] == "direct"


def test_notify_without_a_function_is_a_configuration_error(emulator: Emulator, health_servers, tmp_path: Path) -> None:
    status, _, _ = run_notify(agent_config(emulator, health_servers, "node-b"), tmp_path)
    assert status == 2


def test_keepalived_args_name_the_instance_and_its_state() -> None:
    from health_probe.notify import keepalived_args

    assert keepalived_args(["INSTANCE", "vip_ipv6", "MASTER", "100"]) == ("INSTANCE", "vip_ipv6", "MASTER")
    assert keepalived_args(["INSTANCE", "vip_ipv4", "DELETED", "90"])[2] == "STOP"
    assert keepalived_args(["GROUP", "all", "BACKUP", "0"])[0] == "GROUP"
    for bad in (["MASTER"], ["INSTANCE", "vip_ipv4"], ["PEER", "x", "MASTER", "1"], ["INSTANCE", "x", "PRIMARY", "1"]):
        with pytest.raises(ValueError):
            keepalived_args(bad)


def test_the_command_line_is_keepalived_s_and_the_relay_an_ip_address() -> None:
    from health_probe.notify import Usage, command_line, relay_address

    assert command_line(["--config", "f", "--relay=127.0.0.1:8406", "INSTANCE", "vip_ipv4", "MASTER", "100"]) == (
        {"--config": "f", "--relay": "127.0.0.1:8406"},
        ["INSTANCE", "vip_ipv4", "MASTER", "100"],
    )
    assert relay_address("127.0.0.1:8406") == ("127.0.0.1", 8406)
    assert relay_address("[::1]:8406") == relay_address("::1:8406") == ("::1", 8406)
    for bad in (["--state", "MASTER"], ["--config", "f", "--config", "g"], ["--config"], ["--config", "f", "-x"]):
        with pytest.raises(Usage):
            command_line(bad)
    for address in ("localhost:8406", "127.0.0.1", "127.0.0.1:0", "127.0.0.1:65536", ":8406"):
        with pytest.raises(Usage):
            relay_address(address)  # a name would need a resolver before the notice is sent


def test_a_generic_notify_for_a_mapped_instance_moves_its_vips(
    function_emulator: Emulator, health_servers, tmp_path: Path
) -> None:
    emu = function_emulator
    vip = emu.topology["functions"][0]["config"]["VIP_PRIVATE_IP_IDS"]
    health_servers["node-a"].healthy = False
    config = notifying_config(
        emu,
        health_servers,
        "node-b",
        vrrp_instances={"vip_ipv4": [vip]},
    )
    status, lines, _ = run_keepalived_notify(config, tmp_path, "INSTANCE", "vip_other", "MASTER", "90")
    assert status == 2 and lines[-1]["event"] == "notify_failed"
    assert "'vip_other' is not in vrrp_instances" in lines[-1]["reason"]
    assert not [e for e in emu.audit() if e["operation"] == "UpdatePrivateIp"], "an unmapped instance moves nothing"
    status, lines, _ = run_keepalived_notify(config, tmp_path, "GROUP", "vips", "MASTER", "90")
    assert (status, lines[-1]["event"]) == (0, "notify_ignored")
    status, lines, _ = run_keepalived_notify(config, tmp_path, "INSTANCE", "vip_ipv4", "MASTER", "90")
    assert status == 0
    (answer,) = [line for line in lines if line["event"] == "notify_answered"]
    assert (answer["instance"], answer["decision"], answer["to"], answer["path"]) == (
        "vip_ipv4",
        "moved",
        "node-b",
        "direct",
    )
