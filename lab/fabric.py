"""`python -m lab.fabric RUN_DIR`: makes the lab's fabric deliver the floating IP where the
emulator says it is, as OCI's VCN delivers a private IP only to the VNIC it is assigned to.

It long-polls the emulator's audit log and, whenever a call leaves the floating private IP on a
VNIC, points the fabric's /32 route at the node of that VNIC. It never looks at the nodes: what
they claim (keepalived's alias, gratuitous ARP) does not move the route. Runs until the lab goes
down (or the emulator stays unreachable), bounded by MAX_LIFETIME_SECONDS.
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import requests

from lab import cloud, network
from lab.plan import Plan
from lab.state import LabState

MAX_LIFETIME_SECONDS = 7 * 24 * 3600
POLL_WAIT_SECONDS = 20.0
MAX_CONSECUTIVE_ERRORS = 100


def holder_vnic(entry: dict[str, Any], vip_private_ip_id: str) -> str | None:
    """The VNIC an audit entry leaves the floating IP on, if the entry moved or touched it."""
    after = entry.get("after")
    if entry.get("resource_id") != vip_private_ip_id or not isinstance(after, dict):
        return None
    return after.get("vnicId")


def log(**fields: Any) -> None:
    print(json.dumps({"time": time.time(), **fields}), flush=True)


def follow(state: LabState) -> None:
    plan, facts = state.plan, state.facts
    node_of_vnic = {vnic: plan.node(name) for name, vnic in facts.vnic_ids.items()}
    endpoint = state.emulator["endpoint"]
    seq = max((entry["seq"] for entry in cloud.audit(endpoint)), default=0)
    holder = cloud.vip_holder(state.emulator, facts)
    network.route_vip(plan, plan.node(holder))
    log(event="route", holder=holder, reason="GetPrivateIp at start")

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
            vnic = holder_vnic(entry, facts.vip_private_ip_id)
            if vnic in node_of_vnic:
                network.route_vip(plan, node_of_vnic[vnic])
                log(event="route", holder=node_of_vnic[vnic].name, reason=entry["operation"], seq=entry["seq"],
                    audit_time=entry["time"])
    log(event="stop", reason="emulator unreachable" if errors else "lifetime reached")


def main(argv: list[str]) -> int:
    follow(LabState.load(Plan(Path(argv[0]))))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
