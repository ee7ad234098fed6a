"""The shell with its OCI adapter swapped for an in-memory one (the transport, not internals):
several VIPs moving together, and a write that fails for one of them."""

from __future__ import annotations

import json
from dataclasses import replace

from hypothesis import given, settings

from failover.decide import Health
from failover.network import ApiError, VipState
from failover.probe import ProbeResult
from failover.runtime import Runtime
from failover.shell import handle
from tests.support.function_env import VNIC_A, VNIC_B, config
from tests.support.junk import junk_bodies

VIP2 = "ocid1.privateip.oc1.iad.abuwcljrvip2"


class MemoryNetwork:
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
