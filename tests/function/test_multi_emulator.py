"""The function on ocisim/topologies/multi.json, called through the real FunctionsInvokeClient (fdk
on its unix socket, resource principals, the emulator's IAM): three nodes, the group [vip, vip-2]
with their reserved public IPs, and the IPv6 VIP vip6 in a group of its own."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import oci
import pytest

from tests.support.doctor import agents_post, doctor
from tests.support.function_emulator import FunctionEmulator, nodes_config
from tests.support.paths import REPO

MULTI = REPO / "ocisim" / "topologies" / "multi.json"
TOPOLOGY = json.loads(MULTI.read_text())
CONFIG = TOPOLOGY["functions"][0]["config"]
VIP, VIP2 = CONFIG["VIP_PRIVATE_IP_IDS"].split(",")
VIP6 = CONFIG["VIP_IPV6_IDS"]
VNICS = {n["name"]: n["vnic_id"] for n in json.loads(CONFIG["NODES"])}
WRITES = ("UpdatePrivateIp", "UpdateIpv6")


def on(fn: FunctionEmulator) -> dict[str, str]:
    """Which node each VIP is on, read back as a user would (GetPrivateIp / GetIpv6)."""
    network = oci.core.VirtualNetworkClient(fn.emu.oci_config(), service_endpoint=fn.emu.endpoint)
    names = {vnic: name for name, vnic in VNICS.items()}
    found = {v: network.get_private_ip(v).data.vnic_id for v in (VIP, VIP2)}
    found[VIP6] = network.get_ipv6(VIP6).data.vnic_id
    return {v: names.get(vnic, vnic) for v, vnic in found.items()}


def writes(fn: FunctionEmulator) -> list[dict[str, Any]]:
    return [e for e in fn.emu.audit() if e["operation"] in WRITES]


def logged(fn: FunctionEmulator, event: str) -> list[dict[str, Any]]:
    """The events function's JSON log lines of ``event`` (its container's stderr)."""
    lines = fn.emu.function_log(fn.function_id).read_text().splitlines()
    entries = [json.loads(line) for line in lines if line.startswith("{")]
    return [e for e in entries if e.get("event") == event]


@pytest.fixture
def multi(start_function: Callable[..., FunctionEmulator]) -> Callable[[], FunctionEmulator]:
    return lambda: start_function(topology=MULTI)


def notice(node: str, state: str = "MASTER", vips: list[str] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"source": "keepalived", "node": node, "state": state}
    return body if vips is None else {**body, "vips": vips}


def test_manual_failover_moves_both_groups_and_status_covers_the_ipv6_vip(multi, nodes):
    fn = multi()
    status = fn.invoke({"action": "status"})
    assert [(v["family"], v["ip_address"], v["public_ip"], v["from"]) for v in status["vips"]] == [
        ("ipv4", "10.0.0.4", "203.0.113.10", "node-a"),
        ("ipv4", "10.0.0.5", "203.0.113.11", "node-a"),
        ("ipv6", "fd00:10:0:1::4", None, "node-a"),
    ]
    moved = fn.operate({"action": "failover", "to": "node-c"})
    assert (moved["decision"], moved["ok"], sorted(moved["moved"])) == ("moved", True, sorted([VIP, VIP2, VIP6]))
    assert on(fn) == {VIP: "node-c", VIP2: "node-c", VIP6: "node-c"}
    assert sorted(w["operation"] for w in writes(fn)) == ["UpdateIpv6", "UpdatePrivateIp", "UpdatePrivateIp"]
    assert all(w["principal"]["id"] == fn.operator_id for w in writes(fn))
    after = fn.invoke({"action": "status"})
    assert [v["last_move"]["to"] for v in after["vips"]] == ["node-c"] * 3, "the IPv6 VIP keeps its record too"


def test_the_vip_ipv6_instances_notice_moves_only_the_ipv6_vip(multi, nodes):
    fn = multi()
    nodes["node-a"].state = "down"
    six = fn.invoke(notice("node-b", vips=[VIP6]))
    assert (six["decision"], six["moved"], six["to"]) == ("moved", [VIP6], "node-b")
    assert on(fn) == {VIP: "node-a", VIP2: "node-a", VIP6: "node-b"}
    [write] = writes(fn)
    assert (write["operation"], write["resource_id"], write["principal"]["id"]) == ("UpdateIpv6", VIP6, fn.function_id)
    four = fn.invoke(notice("node-b", vips=[VIP, VIP2]))
    assert sorted(four["moved"]) == sorted([VIP, VIP2]) and on(fn)[VIP2] == "node-b"
    again = fn.invoke(notice("node-b"))  # no vips: every group, all already there
    assert again["decision"] == "no_change" and len(writes(fn)) == 3


def test_a_notice_that_splits_the_group_is_refused(multi, nodes):
    fn = multi()
    nodes["node-a"].state = "down"
    answer = fn.invoke(notice("node-b", vips=[VIP2]))
    assert (answer["ok"], answer["error"]) == (False, "bad_request")
    assert "only part of the VIP group" in answer["reason"] and VIP in answer["reason"]
    assert writes(fn) == []


def test_a_partial_group_move_names_what_moved_and_the_next_event_completes_it(multi, nodes):
    fn = multi()
    nodes["node-a"].state = "down"
    # The group's first write is refused (not retried: 400); vip-2's goes through.
    fn.emu.inject_fault("UpdatePrivateIp", status=400, code="InvalidParameter", count=1)
    partial = fn.invoke(notice("node-b", vips=[VIP, VIP2]))
    assert (partial["decision"], partial["ok"]) == ("partial", False)
    assert (partial["moved"], partial["not_moved"]) == ([VIP2], [VIP])
    assert on(fn)[VIP] == "node-a" and on(fn)[VIP2] == "node-b"
    assert [(e["moved"], e["not_moved"]) for e in logged(fn, "answer")][-1:] == [([VIP2], [VIP])]
    done = fn.invoke(notice("node-b", vips=[VIP, VIP2]))
    assert (done["decision"], done["moved"]) == ("moved", [VIP]) and "completing the VIP group" in done["reason"]
    assert [w["resource_id"] for w in writes(fn)] == [VIP2, VIP], "vip-2 is not rewritten"


def test_a_failed_ipv6_move_is_repaired_by_the_next_event(multi, nodes):
    fn = multi()
    nodes["node-a"].state = "down"
    fn.emu.inject_fault("UpdateIpv6", status=400, code="InvalidParameter", count=1)
    failed = fn.invoke(notice("node-b", vips=[VIP6]))
    assert (failed["decision"], failed["not_moved"], on(fn)[VIP6]) == ("failed", [VIP6], "node-a")
    repaired = fn.invoke(notice("node-b", vips=[VIP6]))
    assert (repaired["decision"], on(fn)[VIP6]) == ("moved", "node-b")


def test_three_nodes_fail_over_to_the_best_serving_node(multi, nodes):
    fn = multi()
    nodes["node-a"].state = "down"
    nodes["node-b"].state = "down"
    answer = fn.invoke(notice("node-a", "FAULT"))
    assert (answer["decision"], answer["to"]) == ("moved", "node-c")
    assert set(on(fn).values()) == {"node-c"}


def test_an_ipv6_etag_mismatch_is_read_again_and_decided_again(multi, nodes):
    fn = multi()
    nodes["node-a"].state = "down"
    fn.emu.inject_fault("UpdateIpv6", status=412, code="NoEtagMatch", count=1)
    answer = fn.invoke(notice("node-b", vips=[VIP6]))
    assert (answer["decision"], answer["moved"], on(fn)[VIP6]) == ("moved", [VIP6], "node-b")
    assert [e["vip"] for e in logged(fn, "etag_mismatch")] == [VIP6]
    assert len(logged(fn, "decision")) == 2, "decided again on what it read again"


def test_the_doctor_checks_every_vip_of_every_group(multi, nodes, tmp_path):
    fn = multi()
    agents_post(fn.emu, names=tuple(VNICS))
    env = tmp_path / "fn-config.json"
    env.write_text(
        json.dumps({**CONFIG, "NODES": json.loads(nodes_config(nodes, MULTI)), "PROBE_TIMEOUT_SECONDS": "0.3"})
    )
    code, out = doctor(fn.emu, env, "--json")
    answer = json.loads(out)
    assert code == 0 and answer["ok"] is True, out
    names = [c["name"] for c in answer["checks"]]
    assert answer["checks"][0]["detail"] == "3 VIP(s) in 2 group(s), 3 nodes"
    assert {"vip 10.0.0.5: public IP", "vip fd00:10:0:1::4: readable", "node node-c: metrics"} <= set(names)
    assert "vip fd00:10:0:1::4: public IP" not in names, "IPv6 has no public IP to check"
    assert writes(fn) == []
