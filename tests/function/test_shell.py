"""The shell with its OCI adapter swapped for an in-memory one (the transport, not internals):
several VIPs moving together, and a write that fails for one of them."""

from __future__ import annotations

import json
from dataclasses import replace

from hypothesis import given, settings

from failover.decide import Health
from failover.network import ApiError, Network, VipState
from failover.probe import ProbeResult
from failover.runtime import Runtime
from failover.shell import handle
from tests.support.function_env import VNIC_A, VNIC_B, config
from tests.support.junk import junk_bodies

VIP2 = "ocid1.privateip.oc1.iad.abuwcljrvip2"


class MemoryNetwork(Network):
    """VIPs in a dict; only what the shell calls is served (the OCI client is never built)."""

    def __init__(self, states: dict[str, VipState], failing: set[str] = frozenset()) -> None:
        self.states, self.failing, self.writes = states, failing, []

    def read(self, private_ip_id, deadline):
        return self.states[private_ip_id]

    def move(self, state, vnic_id, tags, deadline):
        if state.private_ip_id in self.failing:
            raise ApiError("UpdatePrivateIp", 500, "InternalServerError", "boom", "req-fail")
        self.states[state.private_ip_id] = replace(
            state, vnic_id=vnic_id, etag=state.etag + "'", freeform_tags=dict(tags)
        )
        self.writes.append(state.private_ip_id)
        return f"req-{len(self.writes)}"

    def public_ip(self, private_ip_id, deadline):
        return None


def runtime(failing=frozenset()):
    cfg = config(VIP_PRIVATE_IP_IDS=f"ocid1.privateip.oc1.iad.abuwcljrvip,{VIP2}", ROLE="operator")
    states = {
        vip: VipState(vip, f"10.0.0.{4 + i}", VNIC_A, False, "e1", {"owner": "ops"})
        for i, vip in enumerate(cfg.vip_private_ip_ids)
    }
    net = MemoryNetwork(states, set(failing))
    probes = {"node-a": ProbeResult(Health.DOWN, "HTTP 503"), "node-b": ProbeResult(Health.HEALTHY, "HTTP 200")}
    return Runtime(
        config=cfg, network=net, prober=lambda nodes, timeout, connect_timeout: probes, clock=lambda: 1000.0
    ), net


def test_several_vips_move_together():
    rt, net = runtime()
    answer = handle(json.dumps({"source": "keepalived", "node": "node-b", "state": "MASTER"}).encode(), rt)
    assert answer["decision"] == "moved" and len(answer["moved"]) == 2
    assert answer["opc_request_ids"] == ["req-1", "req-2"]
    assert all(s.vnic_id == VNIC_B and s.freeform_tags["owner"] == "ops" for s in net.states.values())


def test_partial_move_says_exactly_which_moved():
    rt, net = runtime(failing={VIP2})
    answer = handle(b'{"action": "failover"}', rt)
    assert answer["decision"] == "partial" and answer["ok"] is False
    assert answer["moved"] == ["ocid1.privateip.oc1.iad.abuwcljrvip"]
    failed = [v for v in answer["vips"] if v["decision"] == "failed"]
    assert [v["private_ip_id"] for v in failed] == [VIP2] and "boom" in failed[0]["reason"]


VIP1 = "ocid1.privateip.oc1.iad.abuwcljrvip"
VIP6 = "ocid1.ipv6.oc1.iad.abuwcljrvip6"


NODE_B_HEALTHY = ProbeResult(Health.HEALTHY, "HTTP 200")


def grouped(failing=frozenset(), node_b=NODE_B_HEALTHY):
    """Two IPv4 VIPs in one group and an IPv6 VIP in another, all on node-a, node-a down."""
    cfg = config(
        VIP_PRIVATE_IP_IDS=f"{VIP1},{VIP2}",
        VIP_IPV6_IDS=VIP6,
        VIP_GROUPS=json.dumps([[VIP1, VIP2], [VIP6]]),
        ROLE="operator",
    )
    addresses = {VIP1: "10.0.0.4", VIP2: "10.0.0.5", VIP6: "fd00:10:0:1::4"}
    net = MemoryNetwork({v: VipState(v, a, VNIC_A, False, "e1") for v, a in addresses.items()}, set(failing))
    probes = {"node-a": ProbeResult(Health.DOWN, "HTTP 503"), "node-b": node_b}
    return Runtime(config=cfg, network=net, prober=lambda nodes, t, c: probes, clock=lambda: 1000.0), net


def notice(node, state, vips=None):
    body = {"source": "keepalived", "node": node, "state": state}
    return json.dumps(body if vips is None else {**body, "vips": vips}).encode()


def test_a_notice_for_the_ipv6_instance_moves_only_the_ipv6_group():
    rt, net = grouped()
    answer = handle(notice("node-b", "MASTER", [VIP6]), rt)
    assert (answer["decision"], answer["moved"], net.writes) == ("moved", [VIP6], [VIP6])
    assert [(v["family"], v["ip_address"], v["to"]) for v in answer["vips"]] == [("ipv6", "fd00:10:0:1::4", "node-b")]
    assert net.states[VIP1].vnic_id == net.states[VIP2].vnic_id == VNIC_A
    everything = handle(notice("node-b", "MASTER"), rt)
    assert sorted(everything["moved"]) == sorted([VIP1, VIP2]), "no vips: every group; vip6 is not rewritten"


def test_a_notice_that_splits_a_group_is_refused_and_moves_nothing():
    rt, net = grouped()
    answer = handle(notice("node-b", "MASTER", [VIP1]), rt)
    assert (answer["error"], answer["ok"], net.writes) == ("bad_request", False, [])
    assert "only part of the VIP group" in answer["reason"] and VIP2 in answer["reason"]


def test_a_node_serving_ipv6_only_takes_the_ipv6_group_and_not_the_ipv4_one():
    # node-b's vip_ipv6 instance took the alias first: 503 overall, but it serves IPv6.
    report = {"node": "node-b", "serving": False, "serving_families": {"ipv4": False, "ipv6": True}}
    rt, net = grouped(node_b=ProbeResult(Health.DOWN, "HTTP 503", report))
    six = handle(notice("node-b", "MASTER", [VIP6]), rt)
    assert six["moved"] == [VIP6]
    four = handle(notice("node-b", "MASTER", [VIP1, VIP2]), rt)
    assert four["decision"] == "refused" and net.writes == [VIP6] and "no healthy node" in four["reason"]


def test_a_partial_group_move_is_completed_by_the_next_event_without_rewriting_what_moved():
    rt, net = grouped(failing={VIP2})
    first = handle(notice("node-b", "MASTER", [VIP1, VIP2]), rt)
    assert (first["decision"], first["moved"], first["not_moved"]) == ("partial", [VIP1], [VIP2])
    net.failing.clear()
    second = handle(notice("node-b", "MASTER", [VIP1, VIP2]), rt)
    assert (second["decision"], second["moved"], net.writes) == ("moved", [VIP2], [VIP1, VIP2])
    assert "completing the VIP group" in second["reason"]
    third = handle(notice("node-b", "MASTER", [VIP1, VIP2]), rt)
    assert (third["decision"], net.writes) == ("no_change", [VIP1, VIP2])


junk = junk_bodies(
    ["action", "to", "source", "node", "state", "dedupeKey", "type", "alarmMetaData", "x"],
    max_bytes=200,
    max_text=10,
    max_keys=4,
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(junk)
def test_bad_input_never_raises_and_never_writes(body):
    rt, net = runtime()
    answer = handle(body, rt)
    assert isinstance(answer["reason"], str) and answer["decision"]
    if answer.get("error") == "bad_request":
        assert net.writes == []
