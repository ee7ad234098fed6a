"""Each node's files, rendered by the real terraform (templatefile() on the shared templates) for
every node of the default pair and of larger topologies (three nodes, two IPv4 floating IPs, an
IPv6 floating IP, route-target mode), then checked by the programs that will read them: haproxy -c, keepalived -t,
health_probe's own config parser, bash -n, Python's compiler, a YAML parser for cloud-init."""

from __future__ import annotations

import base64
import gzip
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from health_probe.config import parse_config
from tests.support.netns import scratch_netns, skip_without_netns
from tests.support.paths import REPO
from tests.support.terraform import TERRAFORM, evaluate
from tests.support.tf_nodes import DEFAULTS, NodeLayout, instance_id, ipv6_id, node_modules, private_ip_id, render
from tests.support.tf_nodes import PREFIX_LEN as PREFIX

pytestmark = pytest.mark.skipif(TERRAFORM is None, reason="terraform is not installed: templates not rendered")

NODES: dict[str, dict[str, Any]] = DEFAULTS["nodes"]
# OCI user_data and the rest of the instance metadata share 32,000 bytes.
METADATA_LIMIT = 32_000


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    return render(tmp_path_factory.mktemp("node_config"), NodeLayout())


@pytest.mark.skipif(shutil.which("haproxy") is None, reason="haproxy is not installed")
@pytest.mark.parametrize("node", NODES)
def test_haproxy_accepts_the_rendered_config(rendered: dict[str, dict[str, Any]], node: str, tmp_path: Path) -> None:
    config = tmp_path / "haproxy.cfg"
    config.write_text(rendered[node]["haproxy_cfg"])
    check = subprocess.run(["haproxy", "-c", "-f", str(config)], capture_output=True, text=True, timeout=30)
    assert check.returncode == 0, check.stdout + check.stderr
    assert f'"Hello from {node}"' in config.read_text()


@pytest.fixture(scope="module")
def nic_namespace() -> Iterator[str]:
    """A network namespace that has the node's NIC name (keepalived -t refuses a config whose
    interface does not exist). No traffic: the namespace only holds a veth pair."""
    skip_without_netns("keepalived")  # keepalived -t checks the config against the namespace's NIC
    nic = DEFAULTS["nic_interface"]
    with scratch_netns("tfcheck", (["link", "add", nic, "type", "veth", "peer", "name", f"{nic}-peer"],)) as name:
        yield name


@pytest.mark.parametrize("node", NODES)
def test_keepalived_accepts_the_rendered_config(
    rendered: dict[str, dict[str, Any]], node: str, nic_namespace: str, tmp_path: Path
) -> None:
    config = tmp_path / "keepalived.conf"
    config.write_text(rendered[node]["keepalived_conf"])
    check = subprocess.run(
        ["ip", "netns", "exec", nic_namespace, "keepalived", "-t", "-f", str(config)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    peer = next(other for other in NODES if other != node)
    text = config.read_text()
    assert f"unicast_src_ip {NODES[node]['private_ip']}" in text
    assert NODES[peer]["private_ip"] in text.split("unicast_peer", 1)[1].split("}", 1)[0]
    assert f"priority {NODES[node]['priority']}" in text


@pytest.mark.parametrize("node", NODES)
def test_the_node_agent_accepts_its_rendered_config(rendered: dict[str, dict[str, Any]], node: str) -> None:
    config = parse_config(yaml.safe_load(rendered[node]["node_agent_yaml"]), source=node)
    assert config.node == node
    assert config.auth == "instance_principal"
    assert config.function_id == "ocid1.fnfunc.oc1.iad.failover"
    probed = {target.name: target for target in config.targets}
    # Every agent probes both nodes, so a dead node is still reported by its peer.
    assert set(NODES) <= set(probed)
    for name, spec in NODES.items():
        assert probed[name].url == f"http://{spec['private_ip']}:{DEFAULTS['health_port']}/healthz"
    # Its own endpoint, where the function's NODES health_url points (terraform/controller.tf).
    assert (config.endpoint_address, config.endpoint_port) == (NODES[node]["private_ip"], DEFAULTS["node_health_port"])
    assert config.floating_ips == (DEFAULTS["floating_ip"],)
    assert config.haproxy_url == f"http://127.0.0.1:{DEFAULTS['health_port']}/healthz"


@pytest.mark.parametrize("node", NODES)
def test_cloud_init_installs_the_rendered_files(rendered: dict[str, dict[str, Any]], node: str, tmp_path: Path) -> None:
    out = rendered[node]
    text = out["cloud_init"]
    assert text.startswith("#cloud-config\n")
    document = yaml.safe_load(text)
    assert {"haproxy", "keepalived"} <= set(document["packages"])
    assert "apt" not in document, "no apt proxy unless one is given"
    files = {entry["path"]: entry["content"] for entry in document["write_files"]}
    deferred = {entry["path"] for entry in document["write_files"] if entry.get("defer")}
    # Written after the packages: keepalived must not start before the bootstrap says so.
    assert {"/etc/haproxy/haproxy.cfg", "/etc/keepalived/keepalived.conf"} <= deferred
    assert files["/etc/haproxy/haproxy.cfg"] == out["haproxy_cfg"]
    assert files["/etc/keepalived/keepalived.conf"] == out["keepalived_conf"]
    unit = (REPO / "health_probe" / "vip-failover-probe.service").read_text()
    assert files["/etc/systemd/system/vip-failover-probe.service"] == unit

    bootstrap = tmp_path / "bootstrap"
    bootstrap.write_text(files["/usr/local/sbin/vip-failover-bootstrap"])
    syntax = subprocess.run(["bash", "-n", str(bootstrap)], capture_output=True, text=True, timeout=30)
    assert syntax.returncode == 0, syntax.stderr
    fetch = files["/usr/local/sbin/vip-failover-fetch-config"]
    compile(fetch, "vip-failover-fetch-config", "exec")
    assert f'OBJECT = "node-agent/{node}.yaml"' in fetch
    assert document["runcmd"] == [["/usr/local/sbin/vip-failover-bootstrap"]]


def test_the_node_installs_requirements_node_txt_which_pins_what_health_probe_imports(
    rendered: dict[str, dict[str, Any]],
) -> None:
    document = yaml.safe_load(rendered["node-a"]["cloud_init"])
    files = {entry["path"]: entry["content"] for entry in document["write_files"]}
    bootstrap = files["/usr/local/sbin/vip-failover-bootstrap"]
    pip_lines = [line for line in bootstrap.splitlines() if "pip install" in line]
    assert pip_lines == [".venv/bin/pip install --quiet -r requirements-node.txt"], "PyPI by default, one -r file"
    pins = {}
    for line in (REPO / "requirements-node.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            assert re.fullmatch(r"[A-Za-z0-9_.-]+==[0-9][0-9A-Za-z.]*", line), f"not a plain pin: {line!r}"
            name, version = line.split("==")
            pins[name] = version
    # What the agent imports, and what the modules of the function's package that it imports
    # (the node runs from the whole checkout) import in turn.
    third_party: set[str] = set()
    modules = list((REPO / "health_probe").glob("*.py"))
    seen: set[Path] = set()
    while modules:
        module = modules.pop()
        if module in seen:
            continue
        seen.add(module)
        text = module.read_text()
        third_party.update(re.findall(r"^(?:import|from) ([a-z_]+)", text, re.MULTILINE))
        for name in re.findall(r"^\s*from failover\.([a-z_]+) import", text, re.MULTILINE):
            modules += [REPO / "failover" / f"{name}.py", REPO / "failover" / "__init__.py"]
    third_party -= set(sys.stdlib_module_names) | {"health_probe", "failover", "__future__"}
    assert {"yaml" if name == "PyYAML" else name for name in pins} == third_party
    # The same versions as the function and the tests use.
    for name, version in pins.items():
        pinned_elsewhere = (REPO / "requirements.txt").read_text() + (REPO / "requirements-dev.txt").read_text()
        assert f"{name}=={version}" in pinned_elsewhere


def test_a_private_wheelhouse_and_apt_proxy_are_used_when_given(tmp_path: Path) -> None:
    calls = node_modules(
        NodeLayout(),
        "node-a",
        """  pip_find_links    = "http://198.18.2.2:8480/"
  apt_proxy         = "http://198.18.2.2:3142"
  environment       = { OCI_METADATA_BASE_URL = "http://198.18.2.2:1/imds/node-a/opc/v2" }
""",
    )
    out = evaluate(tmp_path, calls)["node-a"]
    document = yaml.safe_load(out["cloud_init"])
    assert document["apt"] == {"proxy": "http://198.18.2.2:3142"}
    files = {entry["path"]: entry["content"] for entry in document["write_files"]}
    bootstrap = files["/usr/local/sbin/vip-failover-bootstrap"]
    assert (
        '.venv/bin/pip install --quiet --no-index --find-links "http://198.18.2.2:8480/" \\\n'
        '    --trusted-host "198.18.2.2:8480" \\\n    -r requirements-node.txt'
    ) in bootstrap
    assert files["/etc/default/vip-failover"] == 'OCI_METADATA_BASE_URL="http://198.18.2.2:1/imds/node-a/opc/v2"\n'


@pytest.mark.parametrize("node", NODES)
def test_user_data_fits_in_the_instance_metadata(rendered: dict[str, dict[str, Any]], node: str) -> None:
    user_data = base64.b64encode(gzip.compress(rendered[node]["cloud_init"].encode()))
    assert len(user_data) < METADATA_LIMIT // 2, f"{len(user_data)} bytes of user_data"


def test_notify_runs_the_node_agent_with_the_deployed_config(rendered: dict[str, dict[str, Any]]) -> None:
    for out in rendered.values():
        command = out["template_vars"]["notify_master_command"]
        assert command.startswith("/usr/bin/env /"), "script security: an absolute path that is no symlink"
        assert (
            "-m health_probe.notify --config /etc/oci-vip-failover/node-agent.yaml --relay 127.0.0.1:8406 --state MASTER"
            in command
        )
        # Leaving MASTER tells the function too (a holder that dropped the alias is repaired).
        release = out["template_vars"]["notify_release_command"]
        assert command == f"{release} --state MASTER"
        for state in ("BACKUP", "FAULT", "STOP"):
            assert f'notify_{state.lower()} "{release} --state {state}"' in out["keepalived_conf"]
        # The probe's own unit reads the same file from the same checkout.
        unit = (REPO / "health_probe" / "vip-failover-probe.service").read_text()
        python = command.split(" -m ")[0].removeprefix("/usr/bin/env ")
        assert f"{python} -m health_probe --config /etc/oci-vip-failover/node-agent.yaml" in unit


@pytest.mark.parametrize("node", NODES)
def test_the_install_commands_keepalived_lines_are_the_ones_terraform_renders(
    rendered: dict[str, dict[str, Any]], node: str
) -> None:
    """`health_probe install` prints these lines for an existing keepalived: they must be the
    notify lines and script security of the keepalived.conf a stack-made node boots with."""
    from health_probe.install import keepalived_snippet, notify_commands

    conf = {line.strip() for line in rendered[node]["keepalived_conf"].splitlines()}
    wanted = [line.strip() for line in keepalived_snippet(notify_commands()).splitlines()]
    settings = [line for line in wanted if line and not line.startswith("#")]
    assert len(settings) == 7
    assert [line for line in settings if line not in conf] == []
    assert rendered[node]["template_vars"]["notify_master_command"] == notify_commands().master


# --- Beyond two nodes and one IPv4 floating IP ---------------------------------------------------

THREE = {
    "node-a": {"private_ip": "10.0.0.2", "priority": 100},
    "node-b": {"private_ip": "10.0.0.3", "priority": 90},
    "node-c": {"private_ip": "10.0.0.6", "priority": 80},
}
TWO_VIPS = {"vip": "10.0.0.4", "vip-2": "10.0.0.5"}
V6 = "fd00:10:0:1::"


def dual_stack(nodes: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Each node's IPv6 address with its IPv4 host number, as terraform/compute.tf derives it."""
    return {name: {**spec, "ipv6": V6 + spec["private_ip"].rsplit(".", 1)[1]} for name, spec in nodes.items()}


TOPOLOGIES = {
    "three-nodes": NodeLayout(nodes=THREE),
    "two-vips": NodeLayout(vips=TWO_VIPS),
    "dual-stack": NodeLayout(nodes=dual_stack(NODES), vips_ipv6={"vip6": V6 + "4"}),
    # The emulator's multi topology: three nodes, two IPv4 VIPs, one IPv6 VIP, route target.
    "multi": NodeLayout(
        nodes=dual_stack(THREE),
        vips=TWO_VIPS,
        vips_ipv6={"vip6": V6 + "4"},
        forwarding={"source_cidr": "10.0.2.0/24", "destination_cidr": "172.16.0.0/16"},
    ),
}


@pytest.fixture(scope="module")
def rendered_topologies(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, dict[str, Any]]]:
    """Every topology in one terraform apply (module names carry the topology's index)."""
    calls, outputs = [], {}
    for index, (label, topology) in enumerate(TOPOLOGIES.items()):
        for name in topology.nodes:
            call = node_modules(topology, name)
            key = name.replace("-", "_")
            calls.append(
                call.replace(f"config_{key}", f"config_{index}_{key}")
                .replace(f"agent_{key}", f"agent_{index}_{key}")
                .replace(f'output "{name}"', f'output "t{index}_{key}"')
            )
            outputs[(label, name)] = f"t{index}_{key}"
    values = evaluate(tmp_path_factory.mktemp("topologies"), "\n".join(calls))
    result: dict[str, dict[str, dict[str, Any]]] = {}
    for (label, name), output in outputs.items():
        result.setdefault(label, {})[name] = values[output]
    return result


CASES = [(label, node) for label, topology in TOPOLOGIES.items() for node in topology.nodes]


def instances(conf: str) -> dict[str, str]:
    """vrrp_instance name -> its body, from a rendered keepalived.conf."""
    return dict(re.findall(r"^vrrp_instance (\w+) \{\n(.*?)^\}", conf, flags=re.MULTILINE | re.DOTALL))


def block(body: str, name: str) -> list[str]:
    return body.split(f"{name} {{", 1)[1].split("}", 1)[0].split()


@pytest.mark.parametrize("label, node", CASES)
def test_keepalived_accepts_every_topologys_config(
    rendered_topologies: dict[str, dict[str, dict[str, Any]]], label: str, node: str, nic_namespace: str, tmp_path: Path
) -> None:
    config = tmp_path / "keepalived.conf"
    config.write_text(rendered_topologies[label][node]["keepalived_conf"])
    check = subprocess.run(
        ["ip", "netns", "exec", nic_namespace, "keepalived", "-t", "-f", str(config)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert check.returncode == 0, check.stdout + check.stderr


@pytest.mark.parametrize("label, node", CASES)
def test_each_family_has_one_vrrp_instance_with_every_other_node_as_peer(
    rendered_topologies: dict[str, dict[str, dict[str, Any]]], label: str, node: str
) -> None:
    topology = TOPOLOGIES[label]
    found = instances(rendered_topologies[label][node]["keepalived_conf"])
    assert list(found) == (["vip_ipv4", "vip_ipv6"] if topology.vips_ipv6 else ["vip_ipv4"])
    families = {"vip_ipv4": ("private_ip", topology.vips, PREFIX), "vip_ipv6": ("ipv6", topology.vips_ipv6, 64)}
    for name, body in found.items():
        address, vips, prefix = families[name]
        assert f"unicast_src_ip {topology.nodes[node][address]}\n" in body
        assert block(body, "unicast_peer") == [topology.nodes[p][address] for p in topology.peers(node)]
        assert block(body, "virtual_ipaddress") == [
            word for ip in vips.values() for word in (f"{ip}/{prefix}", "dev", DEFAULTS["nic_interface"])
        ]
        assert f"priority {topology.nodes[node]['priority']}\n" in body
        assert f"virtual_router_id {DEFAULTS['virtual_router_id']}\n" in body


@pytest.mark.parametrize("label", ["dual-stack", "multi"])
def test_with_two_instances_each_notice_names_its_instance(
    rendered_topologies: dict[str, dict[str, dict[str, Any]]], label: str
) -> None:
    """keepalived's `notify` appends "INSTANCE <name> <state> <priority>"; the re-assertion after a
    split brain (no state change, so no `notify`) says the same itself."""
    for out in rendered_topologies[label].values():
        release = out["template_vars"]["notify_release_command"]
        priority = out["template_vars"]["priority"]
        for name, body in instances(out["keepalived_conf"]).items():
            lines = [line.strip() for line in body.splitlines() if line.strip().startswith("notify")]
            assert lines == [
                f'notify "{release}"',
                f'notify_master_rx_lower_pri "{release} INSTANCE {name} MASTER {priority}"',
            ]


@pytest.mark.parametrize("label, node", CASES)
def test_the_agent_probes_every_node_and_floating_ip(
    rendered_topologies: dict[str, dict[str, dict[str, Any]]], label: str, node: str
) -> None:
    topology = TOPOLOGIES[label]
    document = yaml.safe_load(rendered_topologies[label][node]["node_agent_yaml"])
    health = DEFAULTS["health_port"]
    assert document["targets"] == [
        {
            "name": n,
            "role": "node",
            "url": f"http://{topology.nodes[n]['private_ip']}:{health}/healthz",
            "resource_id": instance_id(n),
        }
        for n in [node, *topology.peers(node)]
    ] + [
        {"name": vip, "role": "vip", "url": f"http://{ip}:{health}/healthz", "resource_id": private_ip_id(vip)}
        for vip, ip in topology.vips.items()
    ]
    assert document["floating_ips"] == list(topology.vips.values()) + list(topology.vips_ipv6.values())
    if topology.vips_ipv6:
        # Which floating IPs each keepalived instance's notice is about, by the instances' own names.
        assert document["vrrp_instances"] == {
            "vip_ipv4": [private_ip_id(v) for v in topology.vips],
            "vip_ipv6": [ipv6_id(v) for v in topology.vips_ipv6],
        }
        assert list(document["vrrp_instances"]) == list(instances(rendered_topologies[label][node]["keepalived_conf"]))
    else:
        assert "vrrp_instances" not in document
    # The node agent's own parser accepts it, dual-stack mapping and IPv6 floating IPs included.
    config = parse_config(document, source=node)
    assert [t.name for t in config.targets if t.role == "node"] == [node, *topology.peers(node)]
    assert config.vips_of("vip_ipv6" if topology.vips_ipv6 else None) == (
        tuple(ipv6_id(v) for v in topology.vips_ipv6) if topology.vips_ipv6 else None
    )


@pytest.mark.skipif(shutil.which("haproxy") is None, reason="haproxy is not installed")
@pytest.mark.parametrize("label", ["dual-stack", "three-nodes"])
def test_haproxy_listens_on_ipv6_only_with_an_ipv6_floating_ip(
    rendered_topologies: dict[str, dict[str, dict[str, Any]]], label: str, tmp_path: Path
) -> None:
    text = rendered_topologies[label]["node-a"]["haproxy_cfg"]
    config = tmp_path / "haproxy.cfg"
    config.write_text(text)
    check = subprocess.run(
        ["haproxy", "-c", "-f", str(config)], capture_output=True, text=True, timeout=30, check=False
    )
    assert check.returncode == 0, check.stdout + check.stderr
    binds = re.findall(r"^\s+bind (.+)$", text, flags=re.MULTILINE)
    http, health = 80, DEFAULTS["health_port"]
    if TOPOLOGIES[label].vips_ipv6:
        assert binds == [f":{http}", f":::{http} v6only", f":{health}", f":::{health} v6only"]
    else:
        assert binds == [f":{http}", f":{health}"]


def firewall_of(out: dict[str, Any]) -> str:
    files = {entry["path"]: entry["content"] for entry in yaml.safe_load(out["cloud_init"])["write_files"]}
    return files["/usr/local/sbin/vip-failover-firewall"]


@pytest.mark.parametrize("label, node", CASES)
def test_the_host_firewall_admits_every_peer_and_forwards_only_in_route_target_mode(
    rendered_topologies: dict[str, dict[str, dict[str, Any]]], label: str, node: str, tmp_path: Path
) -> None:
    topology = TOPOLOGIES[label]
    script = firewall_of(rendered_topologies[label][node])
    path = tmp_path / "firewall"
    path.write_text(script)
    syntax = subprocess.run(["bash", "-n", str(path)], capture_output=True, text=True, timeout=30, check=False)
    assert syntax.returncode == 0, syntax.stderr
    health = DEFAULTS["health_port"]
    for peer in topology.peers(node):
        ip = topology.nodes[peer]["private_ip"]
        assert f"allow -p vrrp -s {ip}/32\n" in script
        assert f"allow -p tcp -s {ip}/32 --dport {health} -m conntrack --ctstate NEW\n" in script
        if topology.vips_ipv6:
            ip6 = topology.nodes[peer]["ipv6"]
            assert f"accept ip6tables INPUT -p vrrp -s {ip6}/128\n" in script
            assert f"accept ip6tables INPUT -p tcp -s {ip6}/128 --dport {health} -m conntrack --ctstate NEW\n" in script
    assert topology.nodes[node]["private_ip"] + "/32" not in script, "a node admits its peers, not itself"
    assert ("ip6tables" in script.split("allow() {", 1)[1]) is bool(topology.vips_ipv6)
    if topology.forwarding:
        source, destination = topology.forwarding["source_cidr"], topology.forwarding["destination_cidr"]
        assert "net.ipv4.ip_forward = 1\n" in script
        assert f"accept iptables FORWARD -s {source} -d {destination}\n" in script
        assert (
            f"accept iptables FORWARD -s {destination} -d {source} -m conntrack --ctstate ESTABLISHED,RELATED\n"
            in script
        )
    else:
        assert "ip_forward" not in script and "FORWARD -s" not in script


@pytest.mark.parametrize("label, node", CASES)
def test_every_topologys_user_data_fits_in_the_instance_metadata(
    rendered_topologies: dict[str, dict[str, dict[str, Any]]], label: str, node: str
) -> None:
    user_data = base64.b64encode(gzip.compress(rendered_topologies[label][node]["cloud_init"].encode()))
    assert len(user_data) < METADATA_LIMIT // 2, f"{len(user_data)} bytes of user_data"


def test_ipv6_floating_ips_need_every_nodes_ipv6_address(tmp_path: Path) -> None:
    """vip_ipv6's unicast VRRP runs between the nodes' IPv6 addresses: without them, refuse."""
    topology = NodeLayout(vips_ipv6={"vip6": V6 + "4"})
    with pytest.raises(AssertionError, match="this node and every peer need an"):
        evaluate(tmp_path, node_modules(topology, "node-a"))
