"""Namespaces, cables and routes: a routed fabric that behaves like an OCI VCN.

Each node hangs off the fabric namespace on its own veth ("VNIC"); the fabric routes a /32 per
node and answers ARP for the others (proxy ARP, no delay). The floating IP is one more /32 route,
`vip via <holder>`, set from the emulator's state, never from what the nodes claim: gratuitous
ARP from a node cannot move it, as on OCI, so a failover needs both the OS alias (keepalived) and
the cloud move (UpdatePrivateIp).
"""

from __future__ import annotations

import json
import os
import shutil
import uuid

from lab.plan import GATEWAY_V6, LAB_V4, LAB_V6, NODES_V6, Node, Plan, Transit, Vip
from lab.shell import in_netns, run

FAULT_TABLE = "lab_faults"
TRANSIT_TABLES = (101, 102)  # the fabric's routes for traffic from the route-target client, and back


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
    if plan.dual_stack:
        commands += [in_netns(fabric, "sysctl", "-q", "-w", "net.ipv6.conf.all.forwarding=1")]
    for node in plan.nodes:
        commands += [
            [
                "ip",
                "link",
                "add",
                node.fabric_if,
                "netns",
                fabric,
                "type",
                "veth",
                "peer",
                "name",
                "eth0",
                "netns",
                node.netns,
            ],
            ["ip", "-n", node.netns, "addr", "add", f"{node.ip}/{plan.node_prefix_len}", "dev", "eth0"],
            ["ip", "-n", node.netns, "link", "set", "eth0", "up"],
            ["ip", "-n", node.netns, "route", "add", "default", "via", plan.node_gateway],
            ["ip", "-n", fabric, "addr", "add", f"{plan.node_gateway}/32", "dev", node.fabric_if],
            ["ip", "-n", fabric, "link", "set", node.fabric_if, "up"],
            ["ip", "-n", fabric, "route", "add", f"{node.ip}/32", "dev", node.fabric_if],
            in_netns(fabric, "sysctl", "-q", "-w", f"net.ipv4.conf.{node.fabric_if}.proxy_arp=1"),
            in_netns(fabric, "sysctl", "-q", "-w", f"net.ipv4.neigh.{node.fabric_if}.proxy_delay=0"),
        ]
        if node.ip6:
            commands += _ipv6_cable(plan, node)
    commands += [
        [
            "ip",
            "link",
            "add",
            "to-client",
            "netns",
            fabric,
            "type",
            "veth",
            "peer",
            "name",
            "eth0",
            "netns",
            plan.client_netns,
        ],
        ["ip", "-n", plan.client_netns, "addr", "add", f"{plan.client_ip}/24", "dev", "eth0"],
        ["ip", "-n", plan.client_netns, "link", "set", "eth0", "up"],
        ["ip", "-n", plan.client_netns, "route", "add", "default", "via", plan.client_gateway],
        ["ip", "-n", fabric, "addr", "add", f"{plan.client_gateway}/24", "dev", "to-client"],
        ["ip", "-n", fabric, "link", "set", "to-client", "up"],
    ]
    if plan.dual_stack:
        commands += [
            ["ip", "-n", plan.client_netns, "addr", "add", f"{plan.client_ip6}/64", "dev", "eth0", "nodad"],
            ["ip", "-n", plan.client_netns, "-6", "route", "add", "default", "via", plan.client_gateway6],
            ["ip", "-n", fabric, "addr", "add", f"{plan.client_gateway6}/64", "dev", "to-client", "nodad"],
        ]
    if plan.transit:
        commands += transit_commands(plan, plan.transit)
    commands += [
        ["ip", "link", "add", plan.control_if, "type", "veth", "peer", "name", "to-cp", "netns", fabric],
        ["ip", "addr", "add", f"{plan.control_ip}/24", "dev", plan.control_if],
        ["ip", "link", "set", plan.control_if, "up"],
        ["ip", "-n", fabric, "addr", "add", f"{plan.control_gateway}/24", "dev", "to-cp"],
        ["ip", "-n", fabric, "link", "set", "to-cp", "up"],
    ]
    commands += [
        ["ip", "route", "add", prefix, "via", plan.control_gateway, "dev", plan.control_if]
        for prefix in plan.lab_prefixes
    ]
    # A guard: the fabric forwards nothing that leaves the lab's ranges (a node never reaches
    # 169.254.169.254 or the outside, whatever it is configured with).
    commands += [
        in_netns(fabric, "nft", command)
        for command in (
            "add table inet lab_guard",
            "add chain inet lab_guard forward { type filter hook forward priority -10 ; }",
            f"add rule inet lab_guard forward meta nfproto ipv4 ip daddr != {LAB_V4} drop",
            f"add rule inet lab_guard forward meta nfproto ipv6 ip6 daddr != {LAB_V6} drop",
        )
    ]
    return commands + vcn_rules(plan)


def vcn_rules(plan: Plan) -> list[list[str]]:
    """What OCI's VCN enforces per VNIC, in the fabric (pure): the source/destination check (a
    node whose VNIC does not skip it sends and receives only packets of its own addresses or a
    floating IP: it cannot forward), and, on route-target topologies, a counter per node of the
    packets it forwarded to the destination behind the pair (`transit_counts`)."""
    rules = ["add table inet lab_vcn", "add chain inet lab_vcn forward { type filter hook forward priority -5 ; }"]
    for node in plan.nodes:
        if not node.skip_source_dest_check:
            for family, key, own in (("ip", "4", node.ip), ("ip6", "6", node.ip6)):
                addresses = ", ".join([own, *(v.address for v in plan.vips if str(v.family) == key)] if own else [])
                if addresses:
                    rules += [
                        f"add rule inet lab_vcn forward iifname {node.fabric_if} {family} saddr != {{ {addresses} }} drop",
                        f"add rule inet lab_vcn forward oifname {node.fabric_if} {family} daddr != {{ {addresses} }} drop",
                    ]
        if plan.transit:
            rules.append(
                f"add rule inet lab_vcn forward iifname {node.fabric_if} ip daddr {plan.transit.destination} "
                f'counter comment "{node.name}"'
            )
    return [in_netns(plan.fabric_netns, "nft", rule) for rule in rules]


def _ipv6_cable(plan: Plan, node: Node) -> list[list[str]]:
    """The IPv6 half of a node's cable: its address in the nodes' /64, the fabric's fe80::1 as
    the gateway, a /128 route per node, and the fabric answering neighbour solicitations for the
    other nodes and the IPv6 VIPs (proxy NDP: the IPv6 twin of the proxy ARP above). Neither side
    runs duplicate address detection: keepalived's VIP would otherwise be found "in use" on the
    link the fabric answers for. The node keeps its IPv6 addresses while its link is down, as it
    keeps its IPv4 ones (the kernel's default flushes them): a `link-down` fault is a cut cable,
    and after `heal` the node must be on both families again, not on IPv4 only."""
    fabric = plan.fabric_netns
    commands = [
        *(
            in_netns(node.netns, "sysctl", "-q", "-w", f"net.ipv6.conf.{scope}.accept_dad=0")
            for scope in ("all", "default", "eth0")
        ),
        in_netns(node.netns, "sysctl", "-q", "-w", "net.ipv6.conf.eth0.keep_addr_on_down=1"),
        in_netns(fabric, "sysctl", "-q", "-w", f"net.ipv6.conf.{node.fabric_if}.accept_dad=0"),
        in_netns(fabric, "sysctl", "-q", "-w", f"net.ipv6.conf.{node.fabric_if}.proxy_ndp=1"),
        ["ip", "-n", node.netns, "addr", "add", f"{node.ip6}/{NODES_V6.prefixlen}", "dev", "eth0", "nodad"],
        ["ip", "-n", fabric, "addr", "add", f"{GATEWAY_V6}/64", "dev", node.fabric_if, "scope", "link", "nodad"],
        ["ip", "-n", node.netns, "-6", "route", "add", "default", "via", GATEWAY_V6, "dev", "eth0"],
        ["ip", "-n", fabric, "-6", "route", "add", f"{node.ip6}/128", "dev", node.fabric_if],
    ]
    answered = [n.ip6 for n in plan.others(node)] + [v.address for v in plan.vips if v.family == 6]
    return commands + [
        ["ip", "-n", fabric, "-6", "neigh", "add", "proxy", address, "dev", node.fabric_if] for address in answered
    ]


def transit_commands(plan: Plan, transit: Transit) -> list[list[str]]:
    """The route-target path (pure): a client subnet and the destination subnet behind the
    pair, each on its own cable, and a routing table for each that the fabric consults for the
    traffic between them (`route_transit` points both at the route target's holder)."""
    fabric = plan.fabric_netns
    prefix = transit.destination.split("/")[1]
    commands: list[list[str]] = []
    for netns, fabric_if, address, gateway, length in (
        (transit.client_netns, transit.client_if, transit.client_ip, transit.client_gateway, "24"),
        (transit.server_netns, transit.server_if, transit.server_ip, transit.server_gateway, prefix),
    ):
        commands += [
            ["ip", "link", "add", fabric_if, "netns", fabric, "type", "veth", "peer", "name", "eth0", "netns", netns],
            ["ip", "-n", netns, "addr", "add", f"{address}/{length}", "dev", "eth0"],
            ["ip", "-n", netns, "link", "set", "eth0", "up"],
            ["ip", "-n", netns, "route", "add", "default", "via", gateway],
            ["ip", "-n", fabric, "addr", "add", f"{gateway}/{length}", "dev", fabric_if],
            ["ip", "-n", fabric, "link", "set", fabric_if, "up"],
        ]
    for fabric_if, table in ((transit.client_if, TRANSIT_TABLES[0]), (transit.server_if, TRANSIT_TABLES[1])):
        commands.append(
            ["ip", "-n", fabric, "rule", "add", "iif", fabric_if, "lookup", str(table), "priority", str(table)]
        )
    return commands


def setup(plan: Plan) -> None:
    for command in setup_commands(plan):
        run(command)


def enable_forwarding(plan: Plan) -> None:
    """IP forwarding in the nodes whose VNIC skips the source/destination check (the route
    target's appliances), for host-process nodes; a booted node's own cloud-init turns it on."""
    for node in plan.nodes:
        if node.skip_source_dest_check:
            run(in_netns(node.netns, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1"))


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


def vip_route_command(plan: Plan, holder: Node, vip: Vip | None = None) -> list[str]:
    """The fabric's route that delivers a floating IP (the first by default) to `holder` (~6 ms)."""
    vip = vip or plan.vips[0]
    via = holder.ip if vip.family == 4 else holder.ip6
    return ["ip", "-n", plan.fabric_netns, "route", "replace", vip.prefix, "via", via, "dev", holder.fabric_if]


def route_vip(plan: Plan, holder: Node, vip: Vip | None = None) -> None:
    run(vip_route_command(plan, holder, vip))


def vip_route_holder(plan: Plan, vip: Vip | None = None) -> Node | None:
    """The node the fabric delivers a floating IP (the first by default) to now, if any."""
    vip = vip or plan.vips[0]
    out = run(["ip", "-n", plan.fabric_netns, f"-{vip.family}", "route", "show", vip.prefix]).stdout
    return next((n for n in plan.nodes if f"dev {n.fabric_if} " in out + " "), None)


def alias_holders(plan: Plan, vip: Vip | None = None) -> list[str]:
    """Nodes whose OS holds a floating IP (the first by default) as an address (keepalived's half
    of a failover)."""
    vip = vip or plan.vips[0]
    family, inet = ("-4", "inet") if vip.family == 4 else ("-6", "inet6")
    return [
        n.name
        for n in plan.nodes
        if f"{inet} {vip.address}/"
        in run(["ip", "-n", n.netns, family, "addr", "show", "dev", "eth0"], check=False).stdout
    ]


def route_transit(plan: Plan, holder: Node) -> None:
    """The route-target path through `holder`: the client subnet's traffic to the destination,
    and the destination's answers, both go to that node's VNIC, which forwards them."""
    assert plan.transit is not None
    for table, prefix in zip(
        TRANSIT_TABLES, (plan.transit.destination, f"{plan.transit.client_ip.rsplit('.', 1)[0]}.0/24"), strict=True
    ):
        run(
            [
                "ip",
                "-n",
                plan.fabric_netns,
                "route",
                "replace",
                prefix,
                "via",
                holder.ip,
                "dev",
                holder.fabric_if,
                "table",
                str(table),
            ]
        )


def transit_counts(plan: Plan) -> dict[str, int]:
    """Packets each node has forwarded to the destination behind the pair, as the fabric counted
    them coming back from the node's VNIC."""
    listed = json.loads(run(in_netns(plan.fabric_netns, "nft", "-j", "list", "table", "inet", "lab_vcn")).stdout)
    counts = {}
    for item in listed["nftables"]:
        rule = item.get("rule")
        if rule and "comment" in rule:
            counts[rule["comment"]] = next(e["counter"]["packets"] for e in rule["expr"] if "counter" in e)
    return counts


def transit_holder(plan: Plan) -> Node | None:
    """The node the fabric sends the route-target client's traffic through now, if any."""
    out = run(["ip", "-n", plan.fabric_netns, "route", "show", "table", str(TRANSIT_TABLES[0])], check=False).stdout
    return next((n for n in plan.nodes if f"dev {n.fabric_if} " in out + " "), None)


def link(plan: Plan, node: Node, up: bool) -> None:
    """A node's cable cut or mended; mended, its default routes (the kernel drops a down link's
    routes, not its addresses) are back for both families."""
    run(["ip", "-n", node.netns, "link", "set", "eth0", "up" if up else "down"])
    if up:
        run(["ip", "-n", node.netns, "route", "replace", "default", "via", plan.node_gateway])
        if node.ip6:
            run(["ip", "-n", node.netns, "-6", "route", "replace", "default", "via", GATEWAY_V6, "dev", "eth0"])


def clear_fault_rules(plan: Plan) -> None:
    """Remove every packet-dropping fault (VRRP, health port) from the fabric."""
    run(in_netns(plan.fabric_netns, "nft", "delete", "table", "inet", FAULT_TABLE), check=False)


def _drop_in_fabric(plan: Plan, *match: str) -> None:
    """Add one drop rule to the fabric's forward chain (table and chain made on first use)."""
    table = ["inet", FAULT_TABLE]
    for command in (
        ["add", "table", *table],
        ["add", "chain", *table, "forward", "{ type filter hook forward priority 0 ; }"],
        ["add", "rule", *table, "forward", *match, "drop"],
    ):
        run(in_netns(plan.fabric_netns, "nft", *command))


def block_vrrp(plan: Plan) -> None:
    """Split brain on demand: the fabric drops VRRP (IP protocol 112, over IPv4 and IPv6) between
    the nodes."""
    _drop_in_fabric(plan, "meta", "l4proto", "vrrp")


def block_outside(plan: Plan) -> None:
    """What only the outside view sees: the fabric drops the client subnet's traffic to the
    floating IP (as an NSG, security list or route in front of the nodes would), while the nodes
    still see each other and the function still reaches both."""
    _drop_in_fabric(plan, "ip", "saddr", plan.client_ip, "ip", "daddr", plan.vip)


def block_health(plan: Plan, node: Node, port: int) -> None:
    """The control plane (root namespace: the function's probes) cannot reach `node`'s health
    port, while the client and the peer still can: the fabric drops only those packets."""
    _drop_in_fabric(plan, "ip", "saddr", plan.control_ip, "ip", "daddr", node.ip, "tcp", "dport", str(port))
