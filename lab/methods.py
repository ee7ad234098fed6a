"""What keepalived's notify_master runs, per failover method compared in the lab.

    fast_path    the node agent's notify invokes the failover function (this project)
    alarm_path   nothing: the probes' metrics, the alarm and Notifications call the function
    seed_script  the seed's way: a Python script that imports oci, builds an instance-principal
                 signer and calls UpdatePrivateIp
    oci_cli      ClusterLabs `ocivip`'s way: `oci network vnic assign-private-ip
                 --unassign-if-already-assigned` with the OCI command-line client and
                 `--auth instance_principal`
    floor        no cloud at all: the lab's fabric route is moved directly (the physical limit)

The baselines sign as they do on OCI, with the node's instance principal, under the grant each
documents (BASELINE_VERBS); the SDK is pointed at the emulator's metadata service and
federation endpoint by the node's environment, never at 169.254.169.254 or a region's.
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
    metadata service and federation endpoint that the emulator serves for this node (instance
    principals)."""
    endpoint = state.emulator["endpoint"]
    return [
        f"PYTHONPATH={REPO}",
        f"OCI_METADATA_BASE_URL={endpoint}/imds/{node.name}/opc/v2",
        f"OCI_FEDERATION_ENDPOINT={endpoint}/v1/x509",
    ]


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
            state, node, "lab.seed_notify", emulator["endpoint"], facts.vip_private_ip_id, facts.vnic_ids[node.name]
        )
    if state.method == "oci_cli":
        return " ".join(
            [
                "/usr/bin/timeout",
                str(NOTIFY_TIMEOUT_SECONDS),
                "/usr/bin/env",
                *node_env(state, node),
                str(REPO / ".venv" / "bin" / "oci"),
                *oci_cli_arguments(
                    emulator["endpoint"], f"{emulator['endpoint']}/v1/x509", facts.vnic_ids[node.name], plan.cloud_vip
                ),
            ]
        )
    if state.method == "floor":
        return "/usr/sbin/" + " ".join(vip_route_command(plan, node))
    raise ValueError(f"unknown method {state.method!r}")


# Booted nodes --------------------------------------------------------------------------------
# A booted node runs keepalived with the notify terraform's cloud-init deployed: the fast path.
# For another method the bench changes, inside the node, what that method's users change on a
# real node: the method's notify script (signing with the node's instance principal) and the
# notify lines of /etc/keepalived/keepalived.conf; then `systemctl reload keepalived` inside the
# machine.

KEEPALIVED_CONF = "/etc/keepalived/keepalived.conf"
BENCH_NOTIFY = "/usr/local/sbin/vip-bench-notify"  # the baseline's notify_master script on a node
SEED_SCRIPT = "/usr/local/lib/vip-bench/seed_notify.py"
# Where cloud-init put the node's pointers at the emulator (OCI_METADATA_BASE_URL,
# OCI_FEDERATION_ENDPOINT): terraform/modules/node_config; empty on OCI.
NODE_ENVIRONMENT = "/etc/default/vip-failover"
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
            "# the seed's notify_master: a new instance-principal signer, one UpdatePrivateIp with the oci SDK.",
            *_node_environment(),
            f"exec {timeout} {NODE_PYTHON} {SEED_SCRIPT} {endpoint} {vip_private_ip_id} {vnic_id}",
        )
        files = (NodeFile(SEED_SCRIPT, seed_script, 0o644), NodeFile(BENCH_NOTIFY, body, 0o755))
    elif method == "oci_cli":
        arguments = oci_cli_arguments(endpoint, '"$OCI_FEDERATION_ENDPOINT"', vnic_id, cloud_vip)
        body = _script(
            "# ClusterLabs ocivip's move: the oci command-line client with instance principals.",
            *_node_environment(),
            f"exec {timeout} {OCI_CLI_VENV}/bin/oci {' '.join(arguments)}",
        )
        files = (NodeFile(BENCH_NOTIFY, body, 0o755),)
    else:
        raise ValueError(f"unknown method {method!r}")
    return NodeChange(files, swap_notify(deployed_conf, BENCH_NOTIFY))


def _node_environment() -> tuple[str, ...]:
    """Script lines that export the node's pointers at the emulator, as keepalived's unit has them."""
    return ("set -a", f". {NODE_ENVIRONMENT}", "set +a")


def oci_cli_arguments(endpoint: str, federation_endpoint: str, vnic_id: str, cloud_vip: str) -> list[str]:
    """ocivip's move as `oci` arguments: instance principals (ocivip exports
    OCI_CLI_AUTH=instance_principal), the emulator's endpoints given explicitly (pure)."""
    return [
        "--auth",
        "instance_principal",
        "--federation-endpoint",
        federation_endpoint,
        "--endpoint",
        endpoint,
        "network",
        "vnic",
        "assign-private-ip",
        "--vnic-id",
        vnic_id,
        "--ip-address",
        cloud_vip,
        "--unassign-if-already-assigned",
    ]


# The grant each baseline documents for its nodes' instance principals (the seed's README:
# `manage virtual-network-family`; ocivip's prerequisites: `use virtual-network-family`), in the
# compartment. The project's nodes may only post metrics and invoke the function.
BASELINE_VERBS = {"seed_script": "manage", "oci_cli": "use"}


def baseline_policy_tf(method: str) -> str:
    """A terraform file with `method`'s documented grant to the deployed nodes' dynamic group, for
    the emulator to read beside the deployed policies (lab/cloud.py EmulatorSetup); "" for a
    method without one (pure)."""
    verb = BASELINE_VERBS.get(method)
    if verb is None:
        return ""
    return (
        f"# The grant {method} documents, for the bench's lab of that method only.\n"
        f'resource "oci_identity_policy" "bench_{method}" {{\n'
        "  compartment_id = var.compartment_ocid\n"
        f'  name           = "bench-{method}"\n'
        '  statements     = ["Allow dynamic-group id ${oci_identity_dynamic_group.nodes.id} to '
        f'{verb} virtual-network-family ${{local.compartment_scope}}"]\n'
        "}\n"
    )
