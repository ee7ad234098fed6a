"""Namespaces, cables and routes: a routed fabric that behaves like an OCI VCN.

Each node hangs off the fabric namespace on its own veth ("VNIC"); the fabric routes a /32 per
node and answers ARP for the others (proxy ARP, no delay). The floating IP is one more /32 route,
`vip via <holder>`, set from the emulator's state, never from what the nodes claim: gratuitous
ARP from a node cannot move it, as on OCI, so a failover needs both the OS alias (keepalived) and
the cloud move (UpdatePrivateIp).
"""
from __future__ import annotations

import os
import shutil
import uuid

from lab.plan import Node, Plan
from lab.shell import in_netns, run

FAULT_TABLE = "lab_faults"


def setup_commands(plan: Plan) -> list[list[str]]:
    """Every command that builds the lab's network, in order (pure: returns them)."""
    fabric = plan.fabric_netns
    commands: list[list[str]] = [["ip", "netns", "add", ns] for ns in plan.netns_names]
    commands += [["ip", "-n", ns, "link", "set", "lo", "up"] for ns in plan.netns_names]
    commands += [
        in_netns(fabric, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1"),
        in_netns(fabric, "sysctl", "-q", "-w", "net.ipv4.conf.all.rp_filter=0"),
        in_netns(fabric, "sysctl", "-q", "-w", "net.ipv4.conf.default.rp_filter=0"),
    ]
    for node in plan.nodes:
        commands += [
            ["ip", "link", "add", node.fabric_if, "netns", fabric, "type", "veth", "peer", "name", "eth0", "netns", node.netns],
            ["ip", "-n", node.netns, "addr", "add", f"{node.ip}/{plan.node_prefix_len}", "dev", "eth0"],
            ["ip", "-n", node.netns, "link", "set", "eth0", "up"],
            ["ip", "-n", node.netns, "route", "add", "default", "via", plan.node_gateway],
            ["ip", "-n", fabric, "addr", "add", f"{plan.node_gateway}/32", "dev", node.fabric_if],
            ["ip", "-n", fabric, "link", "set", node.fabric_if, "up"],
            ["ip", "-n", fabric, "route", "add", f"{node.ip}/32", "dev", node.fabric_if],
            in_netns(fabric, "sysctl", "-q", "-w", f"net.ipv4.conf.{node.fabric_if}.proxy_arp=1"),
            in_netns(fabric, "sysctl", "-q", "-w", f"net.ipv4.neigh.{node.fabric_if}.proxy_delay=0"),
        ]
    commands += [
        ["ip", "link", "add", "to-client", "netns", fabric, "type", "veth", "peer", "name", "eth0", "netns", plan.client_netns],
        ["ip", "-n", plan.client_netns, "addr", "add", f"{plan.client_ip}/24", "dev", "eth0"],
        ["ip", "-n", plan.client_netns, "link", "set", "eth0", "up"],
        ["ip", "-n", plan.client_netns, "route", "add", "default", "via", plan.client_gateway],
        ["ip", "-n", fabric, "addr", "add", f"{plan.client_gateway}/24", "dev", "to-client"],
        ["ip", "-n", fabric, "link", "set", "to-client", "up"],
        ["ip", "link", "add", plan.control_if, "type", "veth", "peer", "name", "to-cp", "netns", fabric],
        ["ip", "addr", "add", f"{plan.control_ip}/24", "dev", plan.control_if],
        ["ip", "link", "set", plan.control_if, "up"],
        ["ip", "-n", fabric, "addr", "add", f"{plan.control_gateway}/24", "dev", "to-cp"],
        ["ip", "-n", fabric, "link", "set", "to-cp", "up"],
    ]
    commands += [["ip", "route", "add", prefix, "via", plan.control_gateway, "dev", plan.control_if] for prefix in plan.lab_prefixes]
    # A guard: the fabric forwards nothing that leaves the lab's range (a node never reaches
    # 169.254.169.254 or the outside, whatever it is configured with).
    commands += [in_netns(fabric, "nft", command) for command in (
        "add table inet lab_guard",
        "add chain inet lab_guard forward { type filter hook forward priority -10 ; }",
        "add rule inet lab_guard forward ip daddr != 198.18.0.0/15 drop",
        "add rule inet lab_guard forward meta nfproto ipv6 drop",
    )]
    return commands


def setup(plan: Plan) -> None:
    for command in setup_commands(plan):
        run(command)


def netns_unavailable() -> str | None:
    """Why network namespaces cannot be created here (not root, no iproute2, a sandbox
    without CAP_SYS_ADMIN), or None when they can: a throwaway namespace is made and removed."""
    if os.geteuid() != 0:
        return "the lab needs root to create network namespaces"
    if shutil.which("ip") is None:
        return "iproute2 is not installed (make lab-deps)"
    probe = f"lab-probe-{uuid.uuid4().hex[:8]}"
    done = run(["ip", "netns", "add", probe], check=False)
    if done.returncode != 0:
        return f"network namespaces cannot be created here: {done.stderr.strip()}"
    run(["ip", "netns", "del", probe], check=False)
    return None


def existing_netns(plan: Plan) -> list[str]:
    listed = run(["ip", "netns", "list"]).stdout.split()
    return [ns for ns in plan.netns_names if ns in listed]


def teardown(plan: Plan) -> None:
    """Remove the lab's links and namespaces; callers kill the processes inside first."""
    run(["ip", "link", "del", plan.control_if], check=False)
    for ns in existing_netns(plan):
        run(["ip", "netns", "del", ns], check=False)


def vip_route_command(plan: Plan, holder: Node) -> list[str]:
    """The fabric's route that delivers the floating IP to `holder` (~6 ms to apply)."""
    return ["ip", "-n", plan.fabric_netns, "route", "replace", f"{plan.vip}/32", "via", holder.ip, "dev", holder.fabric_if]


def route_vip(plan: Plan, holder: Node) -> None:
    run(vip_route_command(plan, holder))


def vip_route_holder(plan: Plan) -> Node | None:
    """The node the fabric delivers the floating IP to now, if any."""
    out = run(["ip", "-n", plan.fabric_netns, "route", "show", f"{plan.vip}/32"]).stdout
    return next((n for n in plan.nodes if f"via {n.ip} " in out + " "), None)


def alias_holders(plan: Plan) -> list[str]:
    """Nodes whose OS holds the floating IP as an address (keepalived's half of a failover)."""
    return [n.name for n in plan.nodes if f"inet {plan.vip}/" in run(["ip", "-n", n.netns, "-4", "addr", "show", "dev", "eth0"], check=False).stdout]


def link(plan: Plan, node: Node, up: bool) -> None:
    run(["ip", "-n", node.netns, "link", "set", "eth0", "up" if up else "down"])
    if up:
        run(["ip", "-n", node.netns, "route", "replace", "default", "via", plan.node_gateway])


def clear_fault_rules(plan: Plan) -> None:
    """Remove every packet-dropping fault (VRRP, health port) from the fabric."""
    run(in_netns(plan.fabric_netns, "nft", "delete", "table", "inet", FAULT_TABLE), check=False)


def _drop_in_fabric(plan: Plan, *match: str) -> None:
    """Add one drop rule to the fabric's forward chain (table and chain made on first use)."""
    table = ["inet", FAULT_TABLE]
    for command in (["add", "table", *table],
                    ["add", "chain", *table, "forward", "{ type filter hook forward priority 0 ; }"],
                    ["add", "rule", *table, "forward", *match, "drop"]):
        run(in_netns(plan.fabric_netns, "nft", *command))


def block_vrrp(plan: Plan) -> None:
    """Split brain on demand: the fabric drops VRRP (IP protocol 112) between the nodes."""
    _drop_in_fabric(plan, "ip", "protocol", "vrrp")


def block_outside(plan: Plan) -> None:
    """What only the outside view sees: the fabric drops the client subnet's traffic to the
    floating IP (as an NSG, security list or route in front of the nodes would), while the nodes
    still see each other and the function still reaches both."""
    _drop_in_fabric(plan, "ip", "saddr", plan.client_ip, "ip", "daddr", plan.vip)


def block_health(plan: Plan, node: Node, port: int) -> None:
    """The control plane (root namespace: the function's probes) cannot reach `node`'s health
    port, while the client and the peer still can: the fabric drops only those packets."""
    _drop_in_fabric(plan, "ip", "saddr", plan.control_ip, "ip", "daddr", node.ip, "tcp", "dport", str(port))
