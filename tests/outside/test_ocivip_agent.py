"""The ClusterLabs `ocivip` resource agent, run unmodified, against the emulator.

The agent and its OCF shell library are Debian's `resource-agents` package (`make test`
installs it through tests/outside/install-deps.sh). It calls the oci CLI with instance-principal auth;
the CLI reaches the emulator through its own environment variables (OCI_CLI_ENDPOINT,
OCI_CLI_FEDERATION_ENDPOINT) and the SDK's OCI_METADATA_BASE_URL. Two commands are wrapped
(tests/outside/fixtures/ocivip-shims): `curl`, because the agent hard-codes the metadata
address 169.254.169.254 (rewritten to this node's emulated IMDS, nothing ever sent there), and
`ip`, which runs for real inside a network namespace the test makes for each node (an
eth0 with the node's address and a default route), never on the host's interfaces.

OCF contract checked: monitor 0 (running) where the IP is assigned, 7 (not running) elsewhere;
start and stop 0 and idempotent; the IP and the address on the interface follow.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import oci
import pytest

from lab.network import netns_unavailable
from ocisim import Emulator
from tests.support.netns import scratch_netns
from tests.support.topology import two_node

AGENT = Path("/usr/lib/ocf/resource.d/heartbeat/ocivip")
OCF_ROOT = Path("/usr/lib/ocf")
FIXTURES = Path(__file__).parent / "fixtures"
SHIMS = FIXTURES / "ocivip-shims"
OCF_SUCCESS, OCF_NOT_RUNNING = 0, 7
VIP, PREFIX = "10.0.0.4", 25


def _why_not() -> str | None:
    if not AGENT.exists():
        return f"{AGENT} missing (Debian's resource-agents; make test installs it as root)"
    for command in ("jq", "curl"):
        if shutil.which(command) is None:
            return f"{command} missing"
    return netns_unavailable()


_CANNOT_RUN = _why_not()
pytestmark = pytest.mark.skipif(_CANNOT_RUN is not None, reason=_CANNOT_RUN or "")


@pytest.fixture
def nodes() -> Iterator[dict[str, str]]:
    """A network namespace per node: eth0 with the node's address, default route via the
    subnet's virtual router (so the agent finds its interface as on an instance)."""
    with ExitStack() as stack:
        made = {}
        for name, address in (("node-a", "10.0.0.2"), ("node-b", "10.0.0.3")):
            # a veth pair with both ends inside (no dummy driver needed): eth0 has a carrier
            setup = (
                ["link", "add", "eth0", "type", "veth", "peer", "name", "peer0"],
                ["link", "set", "peer0", "up"],
                ["link", "set", "eth0", "up"],
                ["addr", "add", f"{address}/{PREFIX}", "dev", "eth0"],
                ["route", "add", "default", "via", "10.0.0.1", "dev", "eth0"],
            )
            made[name] = stack.enter_context(scratch_netns(f"ocivip-{name}", setup))
        yield made


def _topology(tmp_path: Path, terraform_dir: Path | None) -> Path:
    """two-node.json, with the IAM ocivip documents instead of the project's (unless None)."""
    data = two_node()
    if terraform_dir is not None:
        data["iam"] = {
            "enabled": True,
            "terraform_dir": str(terraform_dir),
            "bindings": {
                "var.compartment_ocid": data["compartments"][0]["id"],
                "var.tenancy_ocid": data["tenancy"]["id"],
            },
        }
    path = tmp_path / "topology.json"
    path.write_text(json.dumps(data))
    return path


@pytest.fixture
def ocivip_emulator(tmp_path: Path) -> Iterator[Emulator]:
    with Emulator.start(topology=_topology(tmp_path, FIXTURES / "ocivip-policy")) as emu:
        yield emu


def agent(emu: Emulator, nodes: dict[str, str], node: str, action: str, home: Path) -> subprocess.CompletedProcess:
    env = {
        "PATH": f"{SHIMS}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "HOME": str(home),
        "OCF_ROOT": str(OCF_ROOT),
        "OCF_RESOURCE_INSTANCE": "vip",
        "OCF_RESKEY_secondary_private_ip": VIP,
        "OCF_RESKEY_cidr_netmask": str(PREFIX),
        "OCF_RESKEY_ocicli": str(Path(sys.executable).parent / "oci"),
        "OCF_RESKEY_api_delay": "0",
        "OCI_METADATA_BASE_URL": f"{emu.endpoint}/imds/{node}/opc/v2",
        "OCI_CLI_ENDPOINT": emu.endpoint,
        "OCI_CLI_FEDERATION_ENDPOINT": f"{emu.endpoint}/v1/x509",
        "OCI_CLI_SUPPRESS_FILE_PERMISSIONS_WARNING": "True",
        "OCIVIP_NETNS": nodes[node],
    }
    return subprocess.run(["/bin/sh", str(AGENT), action], env=env, capture_output=True, text=True, timeout=120)


def addresses(netns: str) -> list[str]:
    shown = subprocess.run(
        ["ip", "-n", netns, "-j", "addr", "show", "dev", "eth0"], capture_output=True, text=True, check=True, timeout=10
    )
    return sorted(a["local"] for link in json.loads(shown.stdout) for a in link["addr_info"] if a["family"] == "inet")


def vip_holder(emu: Emulator, subnet_id: str) -> str | None:
    net = oci.core.VirtualNetworkClient(emu.oci_config(), service_endpoint=emu.endpoint)
    found = net.list_private_ips(subnet_id=subnet_id, ip_address=VIP).data
    return found[0].vnic_id if found else None


def test_start_monitor_stop_from_each_node_follow_the_ocf_contract(
    ocivip_emulator: Emulator, nodes: dict[str, str], tmp_path: Path
) -> None:
    emu = ocivip_emulator
    data = two_node()
    subnet_id = data["subnets"][0]["id"]
    vnic = {i["displayName"]: i["vnics"][0]["id"] for i in data["instances"]}

    def run(node: str, action: str) -> int:
        return agent(emu, nodes, node, action, tmp_path).returncode

    assert (run("node-a", "monitor"), run("node-b", "monitor")) == (OCF_SUCCESS, OCF_NOT_RUNNING)

    started = agent(emu, nodes, "node-b", "start", tmp_path)

    assert started.returncode == OCF_SUCCESS, started.stderr
    assert vip_holder(emu, subnet_id) == vnic["node-b"]
    assert addresses(nodes["node-b"]) == ["10.0.0.3", VIP]
    assert (run("node-a", "monitor"), run("node-b", "monitor")) == (OCF_NOT_RUNNING, OCF_SUCCESS)
    assert run("node-b", "start") == OCF_SUCCESS  # already running: nothing to do
    assert run("node-a", "stop") == OCF_SUCCESS  # not running there: nothing to do

    stopped = agent(emu, nodes, "node-b", "stop", tmp_path)

    assert stopped.returncode == OCF_SUCCESS, stopped.stderr
    assert vip_holder(emu, subnet_id) is None and addresses(nodes["node-b"]) == ["10.0.0.3"]
    net = oci.core.VirtualNetworkClient(emu.oci_config(), service_endpoint=emu.endpoint)
    assert net.get_public_ip(data["publicIps"][0]["id"]).data.lifecycle_state == "AVAILABLE"
    assert run("node-b", "monitor") == OCF_NOT_RUNNING

    assert run("node-a", "start") == OCF_SUCCESS
    assert vip_holder(emu, subnet_id) == vnic["node-a"] and addresses(nodes["node-a"]) == ["10.0.0.2", VIP]
    operations = [(e["operation"], e["principal"]["kind"]) for e in emu.audit()]
    assert operations == [
        ("UpdatePrivateIp", "instance"),
        ("DeletePrivateIp", "instance"),
        ("CreatePrivateIp", "instance"),
    ]


def test_with_the_projects_own_policies_the_agent_cannot_move_the_ip(tmp_path: Path, nodes: dict[str, str]) -> None:
    """Our terraform lets a node invoke the function, not move IPs: ocivip start fails, nothing moves."""
    data = two_node()
    with Emulator.start(topology=_topology(tmp_path, None)) as emu:
        started = agent(emu, nodes, "node-b", "start", tmp_path)

        assert started.returncode == OCF_NOT_RUNNING
        assert vip_holder(emu, data["subnets"][0]["id"]) == data["instances"][0]["vnics"][0]["id"]
        assert emu.audit() == []
