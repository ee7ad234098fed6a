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

from lab.network import vip_route_command
from lab.plan import PYTHON, REPO, Node
from lab.state import LabState

NOTIFY_TIMEOUT_SECONDS = 30


def node_env(state: LabState, node: Node) -> list[str]:
    """The environment a node's own Python programs get: the repo importable, and the instance
    metadata service that the emulator serves for this node (instance principals)."""
    return [f"PYTHONPATH={REPO}",
            f"OCI_METADATA_BASE_URL={state.emulator['endpoint']}/imds/{node.name}/opc/v2"]


def _python(state: LabState, node: Node, module: str, *args: str) -> str:
    return " ".join(["/usr/bin/timeout", str(NOTIFY_TIMEOUT_SECONDS), "/usr/bin/env", *node_env(state, node),
                     str(PYTHON), "-m", module, *args])


def notify_master_command(state: LabState, node: Node) -> str:
    plan, emulator, facts = state.plan, state.emulator, state.facts
    if state.method == "fast_path":
        return _python(state, node, "health_probe.notify", "--config", str(plan.path(node, "node-agent.yaml")), "--state", "MASTER")
    if state.method == "alarm_path":
        return "/bin/true"
    if state.method == "seed_script":
        return _python(state, node, "lab.seed_notify", emulator["oci_config_file"], emulator["endpoint"],
                       facts.vip_private_ip_id, facts.vnic_ids[node.name])
    if state.method == "oci_cli":
        return " ".join([
            "/usr/bin/timeout", str(NOTIFY_TIMEOUT_SECONDS), str(REPO / ".venv" / "bin" / "oci"),
            "--config-file", emulator["oci_config_file"], "--endpoint", emulator["endpoint"],
            "network", "vnic", "assign-private-ip", "--vnic-id", facts.vnic_ids[node.name],
            "--ip-address", plan.cloud_vip, "--unassign-if-already-assigned",
        ])
    if state.method == "floor":
        return "/usr/sbin/" + " ".join(vip_route_command(plan, node))
    raise ValueError(f"unknown method {state.method!r}")
