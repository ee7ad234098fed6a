"""`lab up --topology multi`: ocisim/topologies/multi.json (one lab for the module, its nodes
as host processes running what terraform's templates render: a booted lab of three would add
minutes to every run; `python -m lab up --topology multi` boots them): three nodes, two IPv4
VIPs that move as one group, an IPv6 VIP in its own VRRP instance, and the route-target path
through the appliance nodes. Sorts after test_teardown.py, when the session's lab is down."""

from __future__ import annotations

import ipaddress
import json
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from lab import cloud, control, network, trial
from lab.plan import LAB_V6, REPO, Node
from lab.state import LabState
from tests.support.module_lab import own_lab

pytestmark = [pytest.mark.lab, pytest.mark.timeout(900)]

CLIENT_SECONDS = 15.0


@pytest.fixture(scope="module")
def multi_lab() -> Iterator[tuple[LabState, dict[str, Any]]]:
    yield from own_lab(topology_name="multi", booted=False)


def health(node: Node) -> dict[str, Any]:
    """The node agent's answer to the function's probe."""
    with requests.Session() as session:
        session.trust_env = False
        return session.get(node.health_url, timeout=2).json()


def holders(state: LabState) -> dict[str, str]:
    """Each VIP's holder in the emulator, by VIP name."""
    return {vip.name: cloud.vip_holder(state.emulator, state.facts, vip.name) for vip in state.plan.vips}


def transit_get(state: LabState) -> str:
    transit = state.plan.transit
    assert transit is not None
    return control.client_get(state.plan, 1.0, transit.server_ip, transit.client_netns)


def test_up_lists_the_three_nodes_and_every_vip(multi_lab: tuple[LabState, dict[str, Any]]) -> None:
    state, info = multi_lab
    plan = state.plan
    assert list(info["nodes"]) == ["node-a", "node-b", "node-c"]
    assert info["vip"] == plan.vips[0].address == info["vips"]["vip"]
    assert set(info["vips"]) == {"vip", "vip-2", "vip6"}
    assert ipaddress.ip_address(info["vips"]["vip6"]) in LAB_V6
    assert info["transit"]["via"] == "vip-2"


def test_every_vip_and_the_route_target_path_reach_node_a(multi_lab: tuple[LabState, dict[str, Any]]) -> None:
    state, _ = multi_lab
    plan = state.plan
    for vip in plan.vips:
        assert "Hello from node-a" in control.client_get(plan, host=vip.url_host), vip
        assert network.alias_holders(plan, vip) == ["node-a"]
    assert set(holders(state).values()) == {"node-a"}
    before = network.transit_counts(plan)
    assert transit_get(state) == control.TRANSIT_ANSWER.strip()
    after = network.transit_counts(plan)
    assert after["node-a"] > before["node-a"] and after["node-b"] == before["node-b"]
    # The node agent's answer covers the IPv6 VIP: node-a holds both families, node-b neither.
    six = next(v.address for v in plan.vips if v.family == 6)
    a, b = health(plan.node("node-a")), health(plan.node("node-b"))
    assert a["serving"] and a["vip_alias"][six] and a["serving_families"] == {"ipv4": True, "ipv6": True}
    assert not b["serving"] and not b["vip_alias"][six] and b["serving_families"]["ipv6"] is False


def clients(state: LabState, until: str) -> dict[str, subprocess.Popen[str]]:
    """Bounded clients of the IPv4 VIP, the IPv6 VIP and the route-target path, all running."""
    plan, survivor = state.plan, state.plan.node(until)
    started = {
        target: subprocess.Popen(
            trial.client_command(plan, target, survivor, CLIENT_SECONDS, 20),
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        for target in trial.TARGETS
    }
    time.sleep(trial.BASELINE_SECONDS)
    return started


def answers(client: subprocess.Popen[str]) -> list[dict[str, Any]]:
    out, _ = client.communicate(timeout=CLIENT_SECONDS + 10)
    return sorted((json.loads(line) for line in out.splitlines() if line.strip()), key=lambda a: a["sent"])


def test_a_crashed_holder_moves_every_vip_to_the_next_priority_healthy_node(
    multi_lab: tuple[LabState, dict[str, Any]],
) -> None:
    """node-b, next in priority, cannot serve (haproxy stopped): when node-a crashes, both IPv4
    VIPs (one group) and the IPv6 VIP go to node-c, and the route-target path follows vip-2."""
    state, _ = multi_lab
    plan = state.plan
    control.fault("node-b", "haproxy-stop", plan)
    control.wait_for(lambda: trial.keepalived_state(plan, plan.node("node-b")) == "FAULT", 10, "node-b in FAULT")
    control.wait_for(lambda: not control.notify_running(plan), 20, "node-b's notices to finish")
    assert set(holders(state).values()) == {"node-a"}  # a BACKUP's fault moves nothing
    seq = max((e["seq"] for e in cloud.audit(state.emulator["endpoint"])), default=0)
    counted = network.transit_counts(plan)
    running = clients(state, "node-c")

    fault_time = control.fault("node-a", "crash", plan)["time"]

    got = {target: answers(client) for target, client in running.items()}
    assert holders(state) == {"vip": "node-c", "vip-2": "node-c", "vip6": "node-c"}
    moves = [
        e
        for e in cloud.audit(state.emulator["endpoint"], after=seq)
        if e["operation"] in ("UpdatePrivateIp", "UpdateIpv6")
    ]
    assert {e["resource_id"] for e in moves} == set(state.facts.vip_ids.values())
    assert {e["after"]["vnicId"] for e in moves} == {state.facts.vnic_ids["node-c"]}
    for target in ("vip", "vip6"):
        first = [a["done"] for a in got[target] if a["node"] == "node-c"]
        assert first, f"the client of {target} never got an answer from node-c"
        print(f"\n{target}: answered by node-c {min(first) - fault_time:.2f} s after node-a crashed")
    assert "Hello from node-c" in control.client_get(plan, host=plan.vip_named("vip-2").url_host)
    moved = trial.transit_moved(plan, fault_time, plan.node("node-a"))
    assert moved is not None and moved[1] == "node-c", f"the route-target path was routed {moved}, not to node-c"
    path = got["route-target"]
    assert any(a["node"] for a in path if a["sent"] >= moved[0]), "no answer through node-c"
    assert network.transit_counts(plan)["node-c"] > counted["node-c"]
    assert network.transit_holder(plan) == plan.node("node-c")
    print(
        f"route-target: through node-c {moved[0] - fault_time:.2f} s after the crash, "
        f"{sum(1 for a in path if a['error'])} of {len(path)} requests failed"
    )


def haproxy_up(node: Node) -> bool:
    try:
        return health(node)["haproxy"] == "up"
    except requests.RequestException:
        return False


def test_a_node_whose_link_was_cut_and_mended_takes_the_ipv6_vip_again(
    multi_lab: tuple[LabState, dict[str, Any]],
) -> None:
    """A cut cable costs a node neither family: after node-a's link-down and heal it still has
    its IPv6 address and route, and when the holder (node-c, after the crash above) crashes in
    turn with node-b unable to serve, node-a takes every VIP, the IPv6 one included, and answers
    on it."""
    state, _ = multi_lab
    plan = state.plan
    control.heal(plan)
    control.wait_for(lambda: all(haproxy_up(n) for n in plan.nodes), 60, "every node's haproxy up", interval=0.5)
    node_a = plan.node("node-a")
    assert set(holders(state).values()) == {"node-c"}
    control.fault("node-a", "link-down", plan)
    time.sleep(2)
    control.heal(plan)
    addresses = subprocess.run(
        ["ip", "-n", node_a.netns, "-6", "-o", "addr", "show", "dev", "eth0", "scope", "global"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    route = subprocess.run(
        ["ip", "-n", node_a.netns, "-6", "route", "show", "default"], capture_output=True, text=True, check=True
    ).stdout
    assert f" {node_a.ip6}/" in addresses and "default via" in route
    control.fault("node-b", "haproxy-stop", plan)
    control.wait_for(lambda: trial.keepalived_state(plan, plan.node("node-b")) == "FAULT", 10, "node-b in FAULT")
    control.fault("node-c", "crash", plan)
    control.wait_for(lambda: set(holders(state).values()) == {"node-a"}, 30, "every VIP on node-a", interval=0.5)
    six = plan.vip_named("vip6")
    control.wait_for(
        lambda: "Hello from node-a" in control.client_get(plan, host=six.url_host),
        10,
        "node-a answering on vip6",
        interval=0.5,
    )
    control.heal(plan)
