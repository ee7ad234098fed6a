"""The `floor` method's host half on booted nodes: a node cannot reach the fabric's namespace, so
its notify_master sends one UDP datagram to this listener on the control address, which moves
the fabric's route for the floating IP to the node that sent it. No cloud call: one datagram
and one `ip route replace`, the lab's physical limit.

    python -m lab.floor_route RUN_DIR

The sender is known by its source address only (a node can move the route to itself, nothing
else); datagrams from anywhere else are ignored. Each is read with a bounded size and handled
at once, so a flood costs at most one route change per datagram.
"""

from __future__ import annotations

import json
import socket
import sys
import time
from pathlib import Path

from lab.methods import FLOOR_PORT
from lab.network import route_vip
from lab.plan import Node, Plan, load_plan
from lab.shell import LabError

MAX_DATAGRAM = 64


def sender_node(plan: Plan, address: str) -> Node | None:
    """The lab node whose primary IP is `address`, if any (pure)."""
    return next((node for node in plan.nodes if node.ip == address), None)


def main(argv: list[str]) -> int:
    (run_dir,) = argv
    plan = load_plan(Path(run_dir))
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((plan.control_ip, FLOOR_PORT))
        print(json.dumps({"event": "listening", "address": plan.control_ip, "port": FLOOR_PORT}), flush=True)
        while True:
            _data, (address, _port) = sock.recvfrom(MAX_DATAGRAM)
            node = sender_node(plan, address)
            if node is None:
                print(json.dumps({"event": "ignored", "reason": "not a lab node", "from": address}), flush=True)
                continue
            try:
                route_vip(plan, node)
            except LabError as exc:
                print(json.dumps({"event": "route not moved", "to": node.name, "reason": str(exc)}), flush=True)
                continue
            print(json.dumps({"event": "route moved", "to": node.name, "time": time.time()}), flush=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
