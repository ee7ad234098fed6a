"""What keepalived's notify_master runs, per failover method compared in the lab.

    fast_path    the node agent's notify invokes the failover function (this project)
    alarm_path   nothing: the probes' metrics, the alarm and Notifications call the function
    seed_script  the seed's way: a Python script that imports oci and calls UpdatePrivateIp
    oci_cli      ClusterLabs `ocivip`'s way: `oci network vnic assign-private-ip
                 --unassign-if-already-assigned` with the OCI command-line client
    floor        no cloud at all: the lab's fabric route is moved directly (the physical limit)

Every command bounds its own run time: keepalived never times out a notify script.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lab.network import vip_route_command
from lab.plan import PYTHON, REPO, Node
from lab.state import LabState

NOTIFY_TIMEOUT_SECONDS = 30


def node_env(state: LabState, node: Node) -> list[str]:
    """The environment a node's own Python programs get: the repo importable, and the instance
    metadata service that the emulator serves for this node (instance principals)."""
    return [f"PYTHONPATH={REPO}", f"OCI_METADATA_BASE_URL={state.emulator['endpoint']}/imds/{node.name}/opc/v2"]


def _python(state: LabState, node: Node, module: str, *args: str) -> str:
    return " ".join(
        [
            "/usr/bin/timeout",
            str(NOTIFY_TIMEOUT_SECONDS),
            "/usr/bin/env",
            *node_env(state, node),
            str(PYTHON),
            "-m",
            module,
            *args,
        ]
    )


def notify_master_command(state: LabState, node: Node) -> str:
    plan, emulator, facts = state.plan, state.emulator, state.facts
    if state.method == "fast_path":
        return _python(
            state, node, "health_probe.notify", "--config", str(plan.path(node, "node-agent.yaml")), "--state", "MASTER"
        )
    if state.method == "alarm_path":
        return "/bin/true"
    if state.method == "seed_script":
        return _python(
            state,
            node,
            "lab.seed_notify",
            emulator["oci_config_file"],
            emulator["endpoint"],
            facts.vip_private_ip_id,
            facts.vnic_ids[node.name],
        )
    if state.method == "oci_cli":
        return " ".join(
            [
                "/usr/bin/timeout",
                str(NOTIFY_TIMEOUT_SECONDS),
                str(REPO / ".venv" / "bin" / "oci"),
                "--config-file",
                emulator["oci_config_file"],
                "--endpoint",
                emulator["endpoint"],
                "network",
                "vnic",
                "assign-private-ip",
                "--vnic-id",
                facts.vnic_ids[node.name],
                "--ip-address",
                plan.cloud_vip,
                "--unassign-if-already-assigned",
            ]
        )
    if state.method == "floor":
        return "/usr/sbin/" + " ".join(vip_route_command(plan, node))
    raise ValueError(f"unknown method {state.method!r}")


# Booted nodes --------------------------------------------------------------------------------
# A booted node runs keepalived with the notify terraform's cloud-init deployed: the fast path.
# For another method the bench changes, inside the node, what that method's users change on a
# real node: the method's notify script, the API key config it signs with, and the notify lines
# of /etc/keepalived/keepalived.conf; then `systemctl reload keepalived` inside the machine.

KEEPALIVED_CONF = "/etc/keepalived/keepalived.conf"
BENCH_NOTIFY = "/usr/local/sbin/vip-bench-notify"  # the baseline's notify_master script on a node
SEED_SCRIPT = "/usr/local/lib/vip-bench/seed_notify.py"
NODE_OCI_CONFIG = "/etc/oci/config"  # the baselines' API key config on a node (how they sign)
NODE_OCI_KEY = "/etc/oci/api_key.pem"
NODE_PYTHON = "/opt/oci-vip-failover/.venv/bin/python"  # the deployed venv: it has the oci SDK
OCI_CLI_VENV = "/opt/oci-cli"  # where an ocivip user pip-installs the oci command-line client
FLOOR_PORT = 8490  # lab/floor_route.py on the control address
# What a running notify looks like inside a node (pgrep -f): the deployed one and the bench's.
NOTIFY_PROCESSES = f"health_probe.notify|{BENCH_NOTIFY}"
_MASTER_LINE = re.compile(r'^(\s*)(notify_master|notify_master_rx_lower_pri) ".*"$', re.M)
_RELEASE_LINE = re.compile(r'^\s*(notify_backup|notify_fault|notify_stop) ".*"\n', re.M)


@dataclass(frozen=True)
class NodeFile:
    path: str
    content: str
    mode: int


@dataclass(frozen=True)
class NodeChange:
    """Everything a method changes on one booted node: files written, then keepalived.conf."""

    files: tuple[NodeFile, ...]
    keepalived_conf: str


def swap_notify(conf: str, master_command: str | None) -> str:
    """The deployed keepalived.conf with another method's notify_master (and
    notify_master_rx_lower_pri, which re-asserts a MASTER after a split brain) and without the
    fast path's BACKUP/FAULT/STOP notices, which no baseline has; `None`: the deployed file
    unchanged. Raises ValueError for a file without the deployed notify lines (pure)."""
    if master_command is None:
        return conf
    if '"' in master_command:
        raise ValueError(f"a notify command cannot contain a double quote: {master_command!r}")
    if len(_MASTER_LINE.findall(conf)) != 2:
        raise ValueError("keepalived.conf lacks the deployed notify_master and notify_master_rx_lower_pri lines")
    swapped = _MASTER_LINE.sub(lambda m: f'{m.group(1)}{m.group(2)} "{master_command}"', conf)
    return _RELEASE_LINE.sub("", swapped)


def _script(*lines: str) -> str:
    return "\n".join(["#!/bin/bash", *lines]) + "\n"


def node_change(
    method: str,
    deployed_conf: str,
    *,
    control_ip: str,
    endpoint: str,
    vip_private_ip_id: str,
    vnic_id: str,
    cloud_vip: str,
    seed_script: str,
) -> NodeChange:
    """What `method`'s users change on a node whose keepalived.conf is `deployed_conf` (pure).
    Every script bounds its own run time: keepalived never times out a notify."""
    timeout = f"/usr/bin/timeout {NOTIFY_TIMEOUT_SECONDS}"
    if method == "fast_path":
        return NodeChange((), deployed_conf)
    if method == "alarm_path":
        return NodeChange((), swap_notify(deployed_conf, "/bin/true"))
    if method == "floor":  # a node cannot reach the fabric: one datagram asks the host to move the route
        body = _script(
            "# floor: no cloud call; lab/floor_route.py moves the fabric's route to the sender.",
            f"echo master > /dev/udp/{control_ip}/{FLOOR_PORT}",
        )
        files: tuple[NodeFile, ...] = (NodeFile(BENCH_NOTIFY, body, 0o755),)
    elif method == "seed_script":
        body = _script(
            "# the seed's notify_master: one UpdatePrivateIp with the oci SDK, API key config.",
            f"exec {timeout} {NODE_PYTHON} {SEED_SCRIPT} {NODE_OCI_CONFIG} {endpoint} {vip_private_ip_id} {vnic_id}",
        )
        files = (NodeFile(SEED_SCRIPT, seed_script, 0o644), NodeFile(BENCH_NOTIFY, body, 0o755))
    elif method == "oci_cli":
        body = _script(
            "# ClusterLabs ocivip's move: the oci command-line client, API key config.",
            f"exec {timeout} {OCI_CLI_VENV}/bin/oci --config-file {NODE_OCI_CONFIG} --endpoint {endpoint} "
            f"network vnic assign-private-ip --vnic-id {vnic_id} --ip-address {cloud_vip} "
            "--unassign-if-already-assigned",
        )
        files = (NodeFile(BENCH_NOTIFY, body, 0o755),)
    else:
        raise ValueError(f"unknown method {method!r}")
    return NodeChange(files, swap_notify(deployed_conf, BENCH_NOTIFY))


def node_oci_config(host_config: str) -> str:
    """The emulator's API key config as a baseline's user installs it on a node: the same
    profile, its key_file at NODE_OCI_KEY (pure)."""
    lines = [f"key_file={NODE_OCI_KEY}" if line.startswith("key_file=") else line for line in host_config.splitlines()]
    return "\n".join(lines) + "\n"
