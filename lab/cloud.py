"""The lab's control plane: the emulator process (with the function attached) and what the lab
reads from it. The emulator runs in the root namespace on the lab's control-plane address, so
the nodes reach it through the fabric and the function reaches the nodes' health ports.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import oci
import requests

from lab.outside_in import variable_default, with_outside_in
from lab.plan import HTTP_PORT, PYTHON, REPO, Cloud, ConfigObject, Plan
from lab.processes import spawn

TOPOLOGY = REPO / "ocisim" / "topologies" / "two-node.json"
READY_TIMEOUT_SECONDS = 60.0
# The lab moves the IP back and forth between trials within seconds; the topology's 60 s
# cooldown would refuse every second move.
LAB_FUNCTION_CONFIG = {"COOLDOWN_SECONDS": "2"}
# terraform's fast_path_mode (terraform/variables.tf): who handles keepalived's MASTER notice;
# the lab deploys terraform's default unless told otherwise.
FAST_PATH_MODE_VALUES = ("function", "direct")
DEFAULT_FAST_PATH_MODE: str = variable_default("fast_path_mode")
# The events function's keys the controller keeps from the nodes in direct mode (its output
# direct_fast_path_config): the nodes get no grant for the events topic or the metrics.
WITHHELD_FROM_NODES = ("EVENTS_TOPIC_ID", "COMPARTMENT_ID")


@dataclass(frozen=True)
class Facts:
    """The topology's OCIDs the lab needs: nodes' by node name, floating IPs' by the Vip's name."""

    vip_private_ip_id: str  # the first IPv4 floating IP's
    vnic_ids: dict[str, str]
    instance_ids: dict[str, str]
    function_name: str
    compartment_id: str
    vip_ids: dict[str, str] = field(default_factory=dict)  # every floating IP's (private IP or IPv6)
    route_table_id: str = ""  # the table whose rule targets a floating IP (route-target topologies)

    def vip_id(self, name: str | None) -> str:
        return self.vip_ids[name] if name else self.vip_private_ip_id


@dataclass(frozen=True)
class EmulatorSetup:
    """What a lab's emulator starts with beyond the lab's topology, for a measurement that needs
    it (the bench): the timing profile (`serve --profile`, docs/emulator.md "Cold starts and
    token latency"), one more IAM policy file read with the deployed ones (a baseline's own
    documented grant; the emulator takes IAM from its topology at start only), and keys set on
    every function of the topology (e.g. `provisionedConcurrencyConfig`)."""

    profile: str = "fast"
    extra_policy_tf: str = ""
    function_keys: tuple[tuple[str, Any], ...] = ()


DEFAULT_SETUP = EmulatorSetup()  # the topology as it is, the `fast` profile
EXTRA_POLICY_FILE = "extra-policy.tf"


def _deployed_iam_dir(topology: dict[str, Any]) -> Path:
    directory = Path(topology["iam"]["terraform_dir"])
    return directory if directory.is_absolute() else REPO / directory


def with_setup(topology: dict[str, Any], setup: EmulatorSetup, iam_dir: Path) -> dict[str, Any]:
    """The topology as `setup` changes it (pure): its function keys set; with an extra policy,
    its IAM read from `iam_dir` (which `iam_module` fills), the deployed module's own files
    still found where they are (`path.module` bound to the deployed directory)."""
    changed = json.loads(json.dumps(topology))
    for function in changed.get("functions", []):
        function.update(dict(setup.function_keys))
    if setup.extra_policy_tf:
        iam = changed["iam"]
        iam["bindings"] = {**iam.get("bindings", {}), "path.module": str(_deployed_iam_dir(topology))}
        iam["terraform_dir"] = str(iam_dir)
    return changed


def iam_module(topology: dict[str, Any], setup: EmulatorSetup, iam_dir: Path) -> None:
    """`iam_dir` as the emulator reads it for `with_setup`'s topology: the deployed module's .tf
    files (linked, not copied) and the setup's extra policy file."""
    if not setup.extra_policy_tf:
        return
    iam_dir.mkdir(parents=True, exist_ok=True)
    for tf in sorted(_deployed_iam_dir(topology).glob("*.tf")):
        (iam_dir / tf.name).symlink_to(tf.resolve())
    (iam_dir / EXTRA_POLICY_FILE).write_text(setup.extra_policy_tf)


def lab_topology(
    plan: Plan, topology: dict[str, Any], failback_policy: str = "never", fast_path_mode: str = DEFAULT_FAST_PATH_MODE
) -> dict[str, Any]:
    """The topology with the function's health URLs pointing at the lab's nodes, and
    terraform's outside-in option on: its monitor probes the floating IP from the client
    namespace (the internet's stand-in), its alarm goes to the node alarms' topic. Its IAM is
    the controller's policies with `fast_path_mode` bound, as terraform applies them: in
    "direct" mode the nodes' dynamic group holds the function's move grants."""
    lab = with_outside_in(topology, plan.vip, port=HTTP_PORT, vantage_netns=plan.client_netns)
    lab["iam"]["bindings"]["var.fast_path_mode"] = fast_path_mode
    for function in lab.get("functions", []):
        config = function["config"]
        nodes = json.loads(config["NODES"])
        for node in nodes:
            node["health_url"] = plan.node(node["name"]).health_url
        config["NODES"] = json.dumps(nodes)
        config.update(LAB_FUNCTION_CONFIG, FAILBACK_POLICY=failback_policy)
    return lab


def facts(topology: dict[str, Any]) -> Facts:
    function = topology["functions"][0]
    nodes = json.loads(function["config"]["NODES"])
    floating = {
        *function["config"]["VIP_PRIVATE_IP_IDS"].split(","),
        *function["config"].get("VIP_IPV6_IDS", "").split(","),
    }
    names = {
        p["id"]: p["displayName"] for p in [*topology["privateIps"], *topology.get("ipv6s", [])] if p["id"] in floating
    }
    tables = [
        t["id"]
        for t in topology.get("routeTables", [])
        if any(r.get("networkEntityId") in names for r in t.get("routeRules", []))
    ]
    return Facts(
        vip_private_ip_id=function["config"]["VIP_PRIVATE_IP_IDS"].split(",")[0].strip(),
        vnic_ids={n["name"]: n["vnic_id"] for n in nodes},
        instance_ids={i["displayName"]: i["id"] for i in topology["instances"]},
        function_name=function["name"],
        compartment_id=function["compartmentId"],
        vip_ids={name: ocid for ocid, name in names.items()},
        route_table_id=tables[0] if tables else "",
    )


def direct_fast_path_config(topology: dict[str, Any], endpoint: str) -> dict[str, str]:
    """node-agent.yaml's fast_path_direct in direct mode, as the controller's output
    direct_fast_path_config gives it (pure): the events function's configuration without the
    keys the nodes are not granted, with the SDK pointed at the emulator (`endpoint`), as the
    Functions service points the function's (OCI_SERVICE_ENDPOINT; absent on OCI)."""
    function = next(f for f in topology["functions"] if f["config"].get("ROLE", "events") == "events")
    config = {key: value for key, value in function["config"].items() if key not in WITHHELD_FROM_NODES}
    return {**config, "OCI_SERVICE_ENDPOINT": endpoint}


def cloud_for_nodes(
    ready: dict[str, Any], lab_facts: Facts, auth: str = "config_file", fast_path_direct: dict[str, str] | None = None
) -> Cloud:
    return Cloud(
        endpoint=ready["endpoint"],
        region=ready["region"],
        compartment_id=lab_facts.compartment_id,
        function_id=ready["functions"][lab_facts.function_name],
        oci_config_file=ready["oci_config_file"],
        instance_ids=lab_facts.instance_ids,
        vip_private_ip_id=lab_facts.vip_private_ip_id,
        auth=auth,
        vip_ids=lab_facts.vip_ids,
        fast_path_direct=dict(fast_path_direct or {}),
    )


def start_emulator(plan: Plan, topology_file: Path, clock_scale: float, profile: str = "fast") -> dict[str, Any]:
    """Start `python -m ocisim serve` with the function attached; return its ready line."""
    out = plan.path(None, "emulator.out")
    out.unlink(missing_ok=True)
    command = [
        str(PYTHON),
        "-m",
        "ocisim",
        "serve",
        "--topology",
        str(topology_file),
        "--state",
        str(plan.path(None, "emulator-state.json")),
        "--host",
        plan.control_ip,
        "--port",
        "0",
        "--function-dir",
        str(REPO),
        "--clock-scale",
        str(clock_scale),
        "--profile",
        profile,
    ]
    process = spawn(command, plan.path(None, "emulator.log"), plan.path(None, "emulator.pid"), stdout=out)
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        line = out.read_text().strip()
        if line:
            return json.loads(line.splitlines()[0])
        if process.poll() is not None:
            raise RuntimeError(f"the emulator exited ({process.returncode}); see {plan.path(None, 'emulator.log')}")
        time.sleep(0.1)
    raise RuntimeError(f"the emulator was not ready within {READY_TIMEOUT_SECONDS:.0f} s")


def audit(endpoint: str, after: int = 0, wait: float = 0.0) -> list[dict[str, Any]]:
    """Audit entries after `after`, long-polling up to `wait` seconds for the first one."""
    reply = requests.get(f"{endpoint}/_admin/audit", params={"after": after, "wait": wait}, timeout=wait + 5)
    reply.raise_for_status()
    return reply.json()


def next_hops(endpoint: str, route_table_id: str) -> list[dict[str, Any]]:
    """The emulator's effective next hop of each rule of a route table (its admin API): for a
    rule whose target is a private IP, the VNIC (and instance) that IP is on now."""
    reply = requests.get(f"{endpoint}/_sim/route-tables/{route_table_id}/next-hops", timeout=5)
    reply.raise_for_status()
    return reply.json()


def set_latency(endpoint: str, latency: dict[str, float]) -> None:
    for operation, seconds in latency.items():
        requests.post(
            f"{endpoint}/_admin/latency", json={"operation": operation, "seconds": seconds}, timeout=5
        ).raise_for_status()


def _network_client(emulator: dict[str, Any]) -> oci.core.VirtualNetworkClient:
    config = oci.config.from_file(emulator["oci_config_file"], emulator["oci_profile"])
    return oci.core.VirtualNetworkClient(config, service_endpoint=emulator["endpoint"])


def vip_holder(emulator: dict[str, Any], lab_facts: Facts, vip: str | None = None) -> str:
    """The node whose VNIC holds a floating IP (the first IPv4 one by default; else by name) in
    the emulator, read with GetPrivateIp or GetIpv6."""
    client, ocid = _network_client(emulator), lab_facts.vip_id(vip)
    found = client.get_ipv6(ocid) if ocid.startswith("ocid1.ipv6.") else client.get_private_ip(ocid)
    return next(name for name, vnic_id in lab_facts.vnic_ids.items() if vnic_id == found.data.vnic_id)


def nodes_listing_vip(emulator: dict[str, Any], lab_facts: Facts) -> list[str]:
    """Nodes whose VNIC lists the floating IP (ListPrivateIps): exactly one, or OCI is broken."""
    client = _network_client(emulator)
    return [
        name
        for name, vnic_id in lab_facts.vnic_ids.items()
        if any(ip.id == lab_facts.vip_private_ip_id for ip in client.list_private_ips(vnic_id=vnic_id).data)
    ]


def move_vip(emulator: dict[str, Any], lab_facts: Facts, node_name: str, vip: str | None = None) -> None:
    """Put a floating IP on a node's VNIC as the operator would (housekeeping only)."""
    client, ocid, vnic = _network_client(emulator), lab_facts.vip_id(vip), lab_facts.vnic_ids[node_name]
    if ocid.startswith("ocid1.ipv6."):
        client.update_ipv6(ocid, oci.core.models.UpdateIpv6Details(vnic_id=vnic))
    else:
        client.update_private_ip(ocid, oci.core.models.UpdatePrivateIpDetails(vnic_id=vnic))


def _object_storage_client(emulator: dict[str, Any]) -> oci.object_storage.ObjectStorageClient:
    config = oci.config.from_file(emulator["oci_config_file"], emulator["oci_profile"])
    return oci.object_storage.ObjectStorageClient(config, service_endpoint=emulator["endpoint"])


def running_topology(plan: Plan) -> dict[str, Any]:
    """The topology the lab's emulator was started with (lab_topology's, saved by `up`)."""
    return json.loads(plan.path(None, "topology.json").read_text())


def node_config_location(emulator: dict[str, Any], topology: dict[str, Any]) -> ConfigObject:
    """Where terraform's bucket for the nodes' node-agent.yaml is: GetNamespace, and the bucket
    the topology binds to the controller's node_config_buckets (as terraform passes it)."""
    bucket = topology["iam"]["bindings"]["var.node_config_buckets"][0]
    return ConfigObject(namespace=_object_storage_client(emulator).get_namespace().data, bucket=bucket)


def put_object(emulator: dict[str, Any], location: ConfigObject, name: str, body: str) -> None:
    """PutObject, as terraform's oci_objectstorage_object does for each node's configuration."""
    _object_storage_client(emulator).put_object(location.namespace, location.bucket, name, body.encode())
