"""terraform/ parses, and every name in it resolves: what `terraform validate` would catch first,
checked without the provider (which cannot be downloaded here)."""

from __future__ import annotations

import json
import re

import pytest

from tests.support.paths import REPO
from tests.support.terraform import MODULE_DIRS, REFERENCE, RESOURCE_REFERENCE, Module

MODULES = {path.relative_to(MODULE_DIRS[0].parent).as_posix(): Module.load(path) for path in MODULE_DIRS}


def references(module: Module, kind: str) -> set[str]:
    return {m.group(2) for text in module.expressions() for m in REFERENCE.finditer(text) if m.group(1) == kind}


@pytest.mark.parametrize("name", MODULES)
def test_every_variable_has_a_type_and_a_description(name: str) -> None:
    variables = MODULES[name].labelled("variable")
    assert variables, f"{name} declares no variables"
    for var, body in variables.items():
        assert body.get("type"), f"{name}: variable {var} has no type"
        assert str(body.get("description", "")).strip(), f"{name}: variable {var} has no description"


@pytest.mark.parametrize("name", MODULES)
def test_every_output_has_a_description(name: str) -> None:
    for output, body in MODULES[name].labelled("output").items():
        assert str(body.get("description", "")).strip(), f"{name}: output {output} has no description"


@pytest.mark.parametrize("name", MODULES)
def test_every_var_and_local_reference_is_declared(name: str) -> None:
    module = MODULES[name]
    assert references(module, "var") <= set(module.labelled("variable")), "undeclared var.*"
    assert references(module, "local") <= set(module.locals()), "undefined local.*"


@pytest.mark.parametrize("name", MODULES)
def test_every_declared_variable_is_used(name: str) -> None:
    module = MODULES[name]
    unused = set(module.labelled("variable")) - references(module, "var")
    assert not unused, f"{name}: variables nobody reads: {sorted(unused)}"


@pytest.mark.parametrize("name", MODULES)
def test_every_resource_data_and_module_reference_resolves(name: str) -> None:
    module = MODULES[name]
    resources = set(module.resources("resource"))
    data = set(module.resources("data"))
    texts = list(module.expressions())
    used_resources = {(m.group(1), m.group(2)) for text in texts for m in RESOURCE_REFERENCE.finditer(text)}
    used_data = {(m.group(2), m.group(3)) for text in texts for m in REFERENCE.finditer(text) if m.group(1) == "data"}
    assert used_resources <= resources, f"unknown resources: {sorted(used_resources - resources)}"
    assert used_data <= data, f"unknown data sources: {sorted(used_data - data)}"
    assert references(module, "module") <= set(module.labelled("module")), "unknown module.*"


@pytest.mark.parametrize("name", MODULES)
def test_module_calls_pass_exactly_the_child_variables(name: str) -> None:
    module = MODULES[name]
    for call, body in module.labelled("module").items():
        child = Module.load((module.path / body["source"]).resolve())
        declared = child.labelled("variable")
        required = {var for var, spec in declared.items() if "default" not in spec}
        passed = set(body) - {"source", "for_each", "count", "providers", "depends_on"}
        assert required <= passed, f"module {call} misses {sorted(required - passed)}"
        assert passed <= set(declared), f"module {call} passes unknown {sorted(passed - set(declared))}"


def test_the_oci_provider_is_pinned_to_one_version() -> None:
    providers = MODULES["terraform"].blocks["terraform"][0]["required_providers"][0]
    assert providers["oci"]["source"] == "oracle/oci"
    assert providers["oci"]["version"].startswith("= "), "pin an exact provider version"


def test_apply_never_moves_the_floating_ip_back() -> None:
    floating = MODULES["terraform"].resources()[("oci_core_private_ip", "floating")]
    ignored = set(floating["lifecycle"][0]["ignore_changes"])
    # vnic_id: where the controller put it; freeform_tags: the function's record of the last move.
    assert {"vnic_id", "freeform_tags"} <= ignored


def test_nodes_are_never_replaced_by_a_newer_image() -> None:
    node = MODULES["terraform"].resources()[("oci_core_instance", "node")]
    ignored = node["lifecycle"][0]["ignore_changes"]
    assert any("source_id" in entry for entry in ignored)


def test_turning_on_dual_stack_or_route_target_mode_keeps_the_running_nodes() -> None:
    """create_vnic_details' IPv6 block forces a new instance; skip_source_dest_check does not. The
    nodes' IPv6 addresses are resources of their own."""
    vnic = MODULES["terraform"].resources()[("oci_core_instance", "node")]["create_vnic_details"][0]
    assert "ipv6address_ipv6subnet_cidr_pair_details" not in vnic and "assign_ipv6ip" not in vnic
    assert vnic["skip_source_dest_check"] == "${var.route_target_mode}"
    node_ipv6 = MODULES["terraform"].resources()[("oci_core_ipv6", "node")]
    assert node_ipv6["ip_address"] == "${local.node_ipv6[each.key]}"


def test_each_floating_ip_has_a_reserved_public_ip_riding_on_it() -> None:
    resources = MODULES["terraform"].resources()
    public, private = resources[("oci_core_public_ip", "floating")], resources[("oci_core_private_ip", "floating")]
    assert public["lifetime"] == "RESERVED"
    assert public["for_each"] == private["for_each"] == "${local.floating_ips}"
    assert public["private_ip_id"] == "${oci_core_private_ip.floating[each.key].id}"


def test_the_one_floating_ip_of_earlier_deployments_is_kept_as_vip() -> None:
    """Before several floating IPs there was one, without a key: moved, never re-created."""
    moved = {block["from"]: block["to"] for block in MODULES["terraform"].blocks["moved"]}
    for rtype in ("oci_core_private_ip", "oci_core_public_ip"):
        assert moved[f"${{{rtype}.floating}}"] == f'${{{rtype}.floating["vip"]}}'
    assert (
        MODULES["terraform"].locals()["floating_ips"]
        == "${merge({vip = var.floating_ip}, var.additional_floating_ips)}"
    )


def test_apply_never_moves_an_ipv6_floating_ip_back() -> None:
    floating = MODULES["terraform"].resources()[("oci_core_ipv6", "floating")]
    assert {"vnic_id", "freeform_tags"} <= set(floating["lifecycle"][0]["ignore_changes"])


def test_the_function_subscribes_to_the_alarm_topic() -> None:
    resources = MODULES["terraform/modules/controller"].resources()
    subscription = resources[("oci_ons_subscription", "function")]
    assert subscription["protocol"] == "ORACLE_FUNCTIONS"
    assert subscription["endpoint"] == "${oci_functions_function.failover.id}"
    alarm = resources[("oci_monitoring_alarm", "health")]
    assert alarm["destinations"] == ["${oci_ons_notification_topic.alarms.id}"]


def test_vrrp_is_accepted_only_from_the_nodes_own_group() -> None:
    rule = MODULES["terraform"].resources()[("oci_core_network_security_group_security_rule", "nodes_vrrp")]
    assert rule["protocol"] == "${local.protocol.vrrp}"
    assert MODULES["terraform"].locals()["protocol"]["vrrp"] == "112"
    assert rule["source_type"] == "NETWORK_SECURITY_GROUP"
    assert rule["source"] == "${oci_core_network_security_group.nodes.id}"


def test_the_function_reaches_only_the_node_agents_endpoint_and_peers_only_haproxy() -> None:
    resources = MODULES["terraform"].resources()
    ingress = resources[("oci_core_network_security_group_security_rule", "nodes_health")]
    assert ingress["for_each"] == {
        "function": {"source": "${oci_core_network_security_group.functions.id}", "port": "${var.node_health_port}"},
        "peers": {"source": "${oci_core_network_security_group.nodes.id}", "port": "${var.health_port}"},
    }
    assert ingress["tcp_options"][0]["destination_port_range"][0] == {
        "min": "${each.value.port}",
        "max": "${each.value.port}",
    }
    egress = resources[("oci_core_network_security_group_security_rule", "functions_to_health")]
    assert egress["destination"] == "${oci_core_network_security_group.nodes.id}"
    assert egress["tcp_options"][0]["destination_port_range"][0] == {
        "min": "${var.node_health_port}",
        "max": "${var.node_health_port}",
    }


def test_peers_reach_the_node_agents_endpoint_only_in_direct_fast_path_mode() -> None:
    """fast_path_mode = "direct": the agent probes its peers' endpoints before it moves the IP."""
    resources = MODULES["terraform"].resources()
    rule = resources[("oci_core_network_security_group_security_rule", "nodes_agent_from_peers")]
    assert rule["count"] == '${var.fast_path_mode == "direct" ? 1 : 0}'
    assert (rule["direction"], rule["source_type"]) == ("INGRESS", "NETWORK_SECURITY_GROUP")
    assert rule["source"] == "${oci_core_network_security_group.nodes.id}"
    assert rule["tcp_options"][0]["destination_port_range"][0] == {
        "min": "${var.node_health_port}",
        "max": "${var.node_health_port}",
    }


def test_ssh_is_accepted_only_from_the_admin_cidr() -> None:
    rules = MODULES["terraform"].resources()
    ssh = [
        body
        for (rtype, _), body in rules.items()
        if rtype == "oci_core_network_security_group_security_rule"
        and body.get("direction") == "INGRESS"
        and any(r.get("destination_port_range", [{}])[0].get("min") == 22 for r in body.get("tcp_options", []))
    ]
    assert [rule["source"] for rule in ssh] == ["${var.admin_cidr}"]


def test_the_alarms_read_only_names_that_metrics_json_has() -> None:
    """The controller's monitoring.tf reads health_probe/metrics.json (the alarm path's one place for names)."""
    names = json.loads((REPO / "health_probe" / "metrics.json").read_text())
    text = (MODULES["terraform/modules/controller"].path / "monitoring.tf").read_text()
    top = set(re.findall(r"local\.metric_names\.(\w+)", text))
    per_alarm = set(re.findall(r"each\.value\.(\w+)", text))
    assert top and top <= set(names)
    assert names["alarms"], "at least one alarm"
    for key, alarm in names["alarms"].items():
        assert per_alarm <= set(alarm), f"alarm {key} lacks {sorted(per_alarm - set(alarm))}"


def test_what_moved_into_the_controller_is_moved_not_recreated() -> None:
    """A deployment made before the controller was a module keeps its function, alarms, topic and
    IAM: every resource of the controller has a `moved` block from its old root address."""
    root, controller = MODULES["terraform"], MODULES["terraform/modules/controller"]
    moved = {
        block["from"]: block["to"]
        for block in root.blocks.get("moved", [])
        if block["to"].startswith("${module.controller.")
    }
    expected = {f"${{{t}.{n}}}": f"${{module.controller.{t}.{n}}}" for t, n in controller.resources()}
    expected |= {f"${{module.{n}}}": f"${{module.controller.module.{n}}}" for n in controller.labelled("module")}
    assert moved == expected
    assert not set(controller.resources()) & set(root.resources()), "each resource in one module only"
