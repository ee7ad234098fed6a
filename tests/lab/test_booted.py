"""The lab's nodes are machines booted the way OCI boots an instance: terraform's own cloud-init,
run for real by cloud-init on an image with the platform's default firewall."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from lab import cloud, machines, network, rootfs, sources, userdata
from lab.plan import ENDPOINT_PORT, HEALTH_PORT, HTTP_PORT, Node, Plan
from lab.shell import in_netns
from tests.support.booted_lab import MISSING_PACKAGE, BootedLab

pytestmark = [pytest.mark.lab, pytest.mark.timeout(900)]


def test_up_gives_each_node_a_root_where_cloud_init_finished_the_bootstrap(booted_lab: BootedLab) -> None:
    for name, node in booted_lab.up["nodes"].items():
        root = Path(node["root"])
        assert (root / "var" / "lib" / "cloud" / "instance" / "boot-finished").is_file()
        output = (root / "var" / "log" / "cloud-init-output.log").read_text()
        assert "Cloning into '/opt/oci-vip-failover'" in output
        fetched = f"vip-failover-node-config/node-agent/{name}.yaml"
        assert f"wrote /etc/oci-vip-failover/node-agent.yaml from {fetched}" in output
        # The packages came through the lab's apt proxy from Debian's archive, really installed.
        assert "Setting up keepalived" in output and "Setting up haproxy" in output
    print(f"\nbooted lab up in {booted_lab.up_seconds:.0f} s: {booted_lab.up['timings']}")


def test_each_node_is_its_own_machine(booted_lab: BootedLab) -> None:
    plan = booted_lab.state.plan
    for node in plan.nodes:
        # systemd is PID 1 of the node's own PID namespace, with the units cloud-init enabled.
        assert machines.run_in(plan, node, "cat", "/proc/1/comm").stdout.strip() == "systemd"
        assert all(machines.active(plan, node, unit) for unit in machines.SERVICES)
        assert machines.run_in(plan, node, "hostname").stdout.strip() == node.name
        assert machines.run_in(plan, node, "id", "-u", "ubuntu").returncode == 0
    a, b = plan.nodes
    assert machines.leader(plan, a) != machines.leader(plan, b)


def test_user_data_is_exactly_what_terraform_renders(booted_lab: BootedLab, tmp_path: Path) -> None:
    state = booted_lab.state
    plan = state.plan
    cloud_facts = cloud.cloud_for_nodes(state.emulator, state.facts, auth="instance_principal")
    location = cloud.node_config_location(state.emulator, cloud.running_topology(plan))
    rendered = userdata.render(tmp_path, plan, cloud_facts, sources.urls(plan), location)
    for node in plan.nodes:
        seed = (machines.root(plan, node) / "var" / "lib" / "cloud" / "seed" / "nocloud" / "user-data").read_text()
        assert seed == rendered[node.name].cloud_init
        assert seed.startswith("#cloud-config\n")
        # The node's config is the object terraform's part wrote, fetched with instance principals.
        on_node = (machines.root(plan, node) / "etc" / "oci-vip-failover" / "node-agent.yaml").read_text()
        assert on_node == rendered[node.name].node_agent_yaml
        assert yaml.safe_load(on_node)["auth"] == "instance_principal"


def test_a_failing_bootstrap_fails_up_with_cloud_init_s_reason_and_leaves_nothing(booted_lab: BootedLab) -> None:
    failure = booted_lab.failed_up
    assert failure.startswith("node-a: cloud-init failed:"), failure
    assert "status: error" in failure  # cloud-init status --long
    assert "last lines of /var/log/cloud-init-output.log" in failure
    assert MISSING_PACKAGE in failure  # pip's own words, from the node's log
    assert booted_lab.left_after_failed_up == []
    print(f"\nfailed up took {booted_lab.failed_up_seconds:.0f} s")


# The connect waits 5 s, through two SYN retransmits (at 1 s and 3 s): the kernel rate-limits
# the ICMP errors a REJECT sends (icmp_ratelimit, a token a second per peer after a burst of 6),
# so a SYN that meets an empty bucket is rejected only on its retransmit.
CONNECT = """
import errno, socket, sys
try:
    socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5).close()
    print("open")
except OSError as exc:
    print("rejected" if exc.errno == errno.EHOSTUNREACH else errno.errorcode.get(exc.errno or 0, repr(exc)))
"""


def test_an_interrupted_up_tears_down_what_it_built(booted_lab: BootedLab) -> None:
    assert booted_lab.interrupted_up_exit == 128 + 15  # SIGTERM unwinds through up's teardown
    assert booted_lab.left_after_interrupted_up == []


def connect(netns: str | None, node: Node, port: int) -> str:
    """'open', 'rejected' (EHOSTUNREACH: the host firewall's icmp-host-prohibited), or the errno
    of a TCP connect from `netns` (None: the control plane, where the function runs)."""
    command = [sys.executable, "-c", CONNECT, node.ip, str(port)]
    done = subprocess.run(
        in_netns(netns, *command) if netns else command, capture_output=True, text=True, timeout=10, check=True
    )
    return done.stdout.strip()


def reachability(plan: Plan, node: Node) -> dict[str, str]:
    peer = plan.peer(node)
    return {
        "client:80": connect(plan.client_netns, node, HTTP_PORT),
        "client:health": connect(plan.client_netns, node, HEALTH_PORT),
        "client:endpoint": connect(plan.client_netns, node, ENDPOINT_PORT),
        "peer:health": connect(peer.netns, node, HEALTH_PORT),
        "peer:endpoint": connect(peer.netns, node, ENDPOINT_PORT),
        "function:endpoint": connect(None, node, ENDPOINT_PORT),
    }


def firewall_state(plan: Plan, node: Node) -> str:
    """What decided the answers: the node's INPUT chain and its connection tracking's entries for
    the agent's port (an entry that saw both directions lets a SYN on its tuple past the REJECT)."""
    rules = machines.run_in(plan, node, "iptables", "-S", "INPUT").stdout
    tracked = subprocess.run(
        in_netns(node.netns, "cat", "/proc/net/nf_conntrack"), capture_output=True, text=True, timeout=10
    ).stdout
    entries = [line for line in tracked.splitlines() if f"dport={ENDPOINT_PORT} " in line]
    return f"INPUT of {node.name}:\n{rules}\nconntrack, port {ENDPOINT_PORT}:\n" + "\n".join(entries)


OPENED = {
    "client:80": "open",
    "client:health": "rejected",
    "client:endpoint": "rejected",
    "peer:health": "open",
    "peer:endpoint": "rejected",
    "function:endpoint": "open",
}


def test_the_image_firewall_rejects_and_the_deployed_one_opens_exactly_the_nsg_ports(booted_lab: BootedLab) -> None:
    plan = booted_lab.state.plan
    node = plan.nodes[1]  # the BACKUP
    assert reachability(plan, node) == OPENED
    # The image's own rules, as Oracle's Ubuntu images ship them (VRRP let in, so the pair
    # stays a pair while this runs): nothing but SSH and ICMP gets in.
    image_rules = (rootfs.image_path() / "etc" / "iptables" / "rules.v4").read_text()
    assert image_rules == rootfs.RULES_V4
    with_vrrp = image_rules.replace("-A INPUT -j REJECT", "-A INPUT -p vrrp -j ACCEPT\n-A INPUT -j REJECT", 1)
    subprocess.run(
        ["nsenter", "-t", str(machines.leader(plan, node)), "-a", "iptables-restore"],
        input=with_vrrp,
        text=True,
        check=True,
        timeout=30,
    )
    try:
        assert set(reachability(plan, node).values()) == {"rejected"}
    finally:
        machines.run_in(plan, node, "/usr/local/sbin/vip-failover-firewall")  # as cloud-init installed it
    assert reachability(plan, node) == OPENED, firewall_state(plan, node)
    saved = machines.run_in(plan, node, "cat", "/etc/iptables/rules.v4").stdout
    assert f"--dport {ENDPOINT_PORT}" in saved and ("-p vrrp" in saved or "-p 112" in saved), "persisted"
    assert network.alias_holders(plan) == [plan.nodes[0].name]
