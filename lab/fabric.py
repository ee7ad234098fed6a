"""`python -m lab.fabric RUN_DIR`: makes the lab's fabric deliver each floating IP where the
emulator says it is, as OCI's VCN delivers a private IP (or an IPv6 address) only to the VNIC it
is assigned to, and route the route-target path through the VNIC its route rule's target is on.

It long-polls the emulator's audit log and, whenever a call leaves a floating IP on a VNIC,
points the fabric's route for that address at the node of that VNIC (and, for the route
rule's target, the route-target path too). It never looks at the nodes: what they claim
(keepalived's alias, gratuitous ARP or neighbour advertisements) does not move a route. Runs
until the lab goes down (or the emulator stays unreachable), bounded by MAX_LIFETIME_SECONDS.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import requests

from lab import cloud, network
from lab.plan import Node, Vip, load_plan
from lab.state import LabState

MAX_LIFETIME_SECONDS = 7 * 24 * 3600
POLL_WAIT_SECONDS = 20.0
MAX_CONSECUTIVE_ERRORS = 100


def holder_vnic(entry: dict[str, Any], vip_id: str) -> str | None:
    """The VNIC an audit entry leaves a floating IP on, if the entry moved or touched it."""
    after = entry.get("after")
    if entry.get("resource_id") != vip_id or not isinstance(after, dict):
        return None
    return after.get("vnicId")


def log(**fields: Any) -> None:
    print(json.dumps({"time": time.time(), **fields}), flush=True)


def next_hop_vnic(hops: list[dict[str, Any]], destination: str) -> str | None:
    """The VNIC the emulator's route rule for `destination` sends traffic to now (pure)."""
    return next((hop.get("vnicId") for hop in hops if hop.get("destination") == destination), None)


def moves(entry: dict[str, Any], state: LabState, node_of_vnic: dict[str, Node]) -> list[tuple[Vip, Node]]:
    """The floating IPs an audit entry leaves on a lab node's VNIC, with that node (pure)."""
    placed = [(vip, holder_vnic(entry, state.facts.vip_id(vip.name))) for vip in state.plan.vips]
    return [(vip, node_of_vnic[vnic]) for vip, vnic in placed if vnic in node_of_vnic]


def follow(state: LabState) -> None:
    plan, facts = state.plan, state.facts
    node_of_vnic = {vnic: plan.node(name) for name, vnic in facts.vnic_ids.items()}
    endpoint = state.emulator["endpoint"]

    def place_transit(reason: str, **fields: Any) -> None:
        """The route-target path through the node of the route rule's effective next hop."""
        assert plan.transit is not None
        vnic = next_hop_vnic(cloud.next_hops(endpoint, facts.route_table_id), plan.transit.cloud_destination)
        if vnic in node_of_vnic:
            network.route_transit(plan, node_of_vnic[vnic])
            log(event="transit", holder=node_of_vnic[vnic].name, reason=reason, **fields)

    seq = max((entry["seq"] for entry in cloud.audit(endpoint)), default=0)
    for vip in plan.vips:
        holder = cloud.vip_holder(state.emulator, facts, vip.name)
        network.route_vip(plan, plan.node(holder), vip)
        log(event="route", vip=vip.name, holder=holder, reason="at start")
    if plan.transit:
        place_transit("at start")
    target = facts.vip_id(plan.transit.target) if plan.transit else None

    errors = 0
    deadline = time.monotonic() + MAX_LIFETIME_SECONDS
    while time.monotonic() < deadline and errors < MAX_CONSECUTIVE_ERRORS:
        try:
            entries = cloud.audit(endpoint, after=seq, wait=POLL_WAIT_SECONDS)
            errors = 0
        except requests.RequestException as exc:
            errors += 1
            log(event="audit_unreachable", error=str(exc), consecutive=errors)
            time.sleep(0.5)
            continue
        for entry in entries:
            seq = max(seq, entry["seq"])
            when = {"seq": entry["seq"], "audit_time": entry["time"]}
            for vip, node in moves(entry, state, node_of_vnic):
                network.route_vip(plan, node, vip)
                log(event="route", vip=vip.name, holder=node.name, reason=entry["operation"], **when)
            if entry.get("resource_id") in (target, facts.route_table_id):  # the next hop may have moved
                place_transit(entry["operation"], **when)
    log(event="stop", reason="emulator unreachable" if errors else "lifetime reached")


def main(argv: list[str]) -> int:
    follow(LabState.load(load_plan(Path(argv[0]))))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
