"""Each node's files, rendered by the real terraform (templatefile() on the shared templates) for
both nodes, then checked by the programs that will read them: haproxy -c, keepalived -t,
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
from tests.support.terraform import TERRAFORM, evaluate, node_agent_module, node_config_module, variable_defaults

pytestmark = pytest.mark.skipif(TERRAFORM is None, reason="terraform is not installed: templates not rendered")

DEFAULTS = variable_defaults()
NODES: dict[str, dict[str, Any]] = DEFAULTS["nodes"]
# OCI user_data and the rest of the instance metadata share 32,000 bytes.
METADATA_LIMIT = 32_000


def node_modules(name: str) -> str:
    """Both per-node modules, called as terraform/compute.tf calls them, with example OCIDs."""
    peer = next(other for other in NODES if other != name)
    config_object = {"namespace": "examplens", "bucket": "vip-failover-node-config", "name": f"node-agent/{name}.yaml"}
    agent = {
        "instance_id": f"ocid1.instance.oc1.iad.{name.replace('-', '')}",
        "peer_instance_id": f"ocid1.instance.oc1.iad.{peer.replace('-', '')}",
        "vip_private_ip_id": "ocid1.privateip.oc1.iad.floating",
        "compartment_id": "ocid1.compartment.oc1..example",
        "region": "us-ashburn-1",
        "invoke_endpoint": "https://example.us-ashburn-1.functions.oci.oraclecloud.com",
        "function_id": "ocid1.fnfunc.oc1.iad.failover",
    }
    return (
        node_config_module(f"config_{name}", name, config_object)
        + node_agent_module(f"agent_{name}", name, agent)
        + f"""output "{name}" {{
  value = merge(module.config_{name}, module.agent_{name})
}}
"""
    )


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    return evaluate(tmp_path_factory.mktemp("node_config"), "\n".join(node_modules(name) for name in NODES))


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
    calls = node_modules("node-a").replace('source_ref        = "main"', """source_ref        = "main"
  pip_find_links    = "http://198.18.2.2:8480/"
  apt_proxy         = "http://198.18.2.2:3142"
  environment       = { OCI_METADATA_BASE_URL = "http://198.18.2.2:1/imds/node-a/opc/v2" }""")
    out = evaluate(tmp_path, calls)["node-a"]
    document = yaml.safe_load(out["cloud_init"])
    assert document["apt"] == {"proxy": "http://198.18.2.2:3142"}
    files = {entry["path"]: entry["content"] for entry in document["write_files"]}
    bootstrap = files["/usr/local/sbin/vip-failover-bootstrap"]
    assert ('.venv/bin/pip install --quiet --no-index --find-links "http://198.18.2.2:8480/" \\\n'
            '    --trusted-host "198.18.2.2:8480" \\\n    -r requirements-node.txt') in bootstrap
    assert files["/etc/default/vip-failover"] == 'OCI_METADATA_BASE_URL="http://198.18.2.2:1/imds/node-a/opc/v2"\n'


@pytest.mark.parametrize("node", NODES)
def test_user_data_fits_in_the_instance_metadata(rendered: dict[str, dict[str, Any]], node: str) -> None:
    user_data = base64.b64encode(gzip.compress(rendered[node]["cloud_init"].encode()))
    assert len(user_data) < METADATA_LIMIT // 2, f"{len(user_data)} bytes of user_data"


def test_notify_runs_the_node_agent_with_the_deployed_config(rendered: dict[str, dict[str, Any]]) -> None:
    for out in rendered.values():
        command = out["template_vars"]["notify_master_command"]
        assert command.startswith("/usr/bin/env /"), "script security: an absolute path that is no symlink"
        assert "-m health_probe.notify --config /etc/oci-vip-failover/node-agent.yaml --state MASTER" in command
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
