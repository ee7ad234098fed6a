"""python -m lab up|fault NODE KIND|heal|down (docs/lab.md); each prints one JSON line."""

from __future__ import annotations

import argparse
import json
import signal
import sys

from lab import cloud, control, topology
from lab.state import METHODS


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    up = commands.add_parser("up", help="build the lab and start everything; returns when ready")
    up.add_argument("--method", choices=METHODS, default="fast_path", help="what keepalived's notify_master does")
    up.add_argument("--no-agents", action="store_true", help="do not run the health probe on the nodes")
    up.add_argument("--clock-scale", type=float, default=1.0, help="the emulator's clock speed (alarm path)")
    up.add_argument(
        "--failback-policy", choices=("never", "preferred"), default="never", help="the function's FAILBACK_POLICY"
    )
    up.add_argument(
        "--processes",
        action="store_true",
        help="run haproxy, keepalived and the agent as host processes instead of booting each node "
        "from terraform's cloud-init (faster; needed for the methods other than fast_path)",
    )
    up.add_argument(
        "--topology",
        choices=topology.TOPOLOGIES,
        default="two-node",
        help="the emulator topology (ocisim/topologies/<name>.json): multi has three nodes, two IPv4 "
        "VIPs, an IPv6 VIP and a route rule targeting a VIP",
    )
    up.add_argument(
        "--fast-path-mode",
        choices=cloud.FAST_PATH_MODE_VALUES,
        help="terraform's fast_path_mode: direct (the agent runs the function's core itself with the node's "
        "instance principal, granted the function's move rights) or function (the agent invokes the failover "
        f"function); default: terraform's ({cloud.DEFAULT_FAST_PATH_MODE}) for the fast path, function for the "
        "other methods",
    )
    up.add_argument("--nodes", type=int, help="this many nodes (more than the topology has: derived from its last)")
    fault = commands.add_parser("fault", help="break a node")
    fault.add_argument("node")
    fault.add_argument("kind", choices=control.FAULTS)
    commands.add_parser("heal", help="undo every fault")
    commands.add_parser("down", help="remove every namespace, link and process of the lab")
    args = parser.parse_args(argv)
    # SIGTERM, like Ctrl-C, unwinds through `up`, which then tears down what it built.
    signal.signal(signal.SIGTERM, lambda signum, _frame: sys.exit(128 + signum))
    try:
        if args.command == "up":
            result = control.up(
                args.method,
                agents=not args.no_agents,
                clock_scale=args.clock_scale,
                failback_policy=args.failback_policy,
                booted=not args.processes,
                topology_name=args.topology,
                nodes=args.nodes,
                fast_path_mode=args.fast_path_mode,
            )
        elif args.command == "fault":
            result = control.fault(args.node, args.kind)
        elif args.command == "heal":
            result = control.heal()
        else:
            result = control.down()
    except control.LabError as exc:
        print(f"lab {args.command}: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
