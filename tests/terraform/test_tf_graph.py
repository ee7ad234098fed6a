"""`terraform validate` and `terraform plan` of the root module, offline: OCI resources stood in
by terraform_data (tests/support/tf_skeleton.py), so the real terraform checks the dependency graph, references,
expressions, variable validations and preconditions. It caught a real cycle once: node-agent.yaml
(instance OCIDs) and cloud-init in one module."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.paths import REPO
from tests.support.terraform import TERRAFORM, TERRAFORM_DIR, Module, run_terraform
from tests.support.tf_skeleton import skeleton, write_skeleton

pytestmark = pytest.mark.skipif(TERRAFORM is None, reason="terraform is not installed: root module not validated")


def test_the_root_module_validates_with_oci_resources_stood_in(stand_in_root: Path) -> None:
    run_terraform(stand_in_root, "validate")


def test_the_example_variables_plan(stand_in_root: Path) -> None:
    """Plan evaluates every expression whose inputs are known: variable validations, placement,
    the rendered cloud-init of both nodes, preconditions."""
    plan = run_terraform(stand_in_root, "plan", "-input=false", "-var-file=example.tfvars")
    assert 'terraform_data.oci_core_instance__node["node-a"]' in plan.stdout


@pytest.mark.parametrize(
    "override, message",
    [
        ("admin_cidr=0.0.0.0/0", "admin_cidr must be a CIDR narrower than 0.0.0.0/0"),
        ("floating_ip=10.0.0.2", "Each floating IP must differ from the others and from every node's primary IP"),
        ('additional_floating_ips={"vip-2" = "10.0.0.4"}', "Each floating IP must differ from the others"),
        ('nodes={"node-a" = {private_ip = "10.0.0.2", priority = 100}}', "At least two nodes"),
        (
            'nodes={"node-a" = {private_ip = "10.0.0.2", priority = 90}, "node-b" = {private_ip = "10.0.0.3", priority = 90}}',
            "Each node's priority must be different",
        ),
        ('vip_groups=[["vip"], ["vip"]]', "vip_groups must hold every floating IP's name"),
        ('vip_groups=[["vip", "vip-9"]]', "vip_groups must hold every floating IP's name"),
        ("route_target_mode=true -var=route_target_vip=vip-9", "route_target_vip must name an IPv4 floating IP"),
        ("retry_deadline_seconds=60", "retry_deadline_seconds must be below function_timeout_seconds"),
        ("failback_policy=always", "failback_policy must be never or preferred"),
    ],
)
def test_unsafe_variables_are_refused_before_anything_is_created(
    stand_in_root: Path, override: str, message: str
) -> None:
    overrides = [f"-var={one}" for one in override.split(" -var=")]
    plan = run_terraform(stand_in_root, "plan", "-input=false", "-var-file=example.tfvars", *overrides, ok=False)
    assert plan.returncode != 0
    assert message in " ".join(plan.stderr.split()), plan.stderr


THREE_NODES = (
    'nodes={"node-a" = {private_ip = "10.0.0.2", priority = 100}, "node-b" = {private_ip = "10.0.0.3", priority = 90},'
    ' "node-c" = {private_ip = "10.0.0.6", priority = 80, fault_domain = "FAULT-DOMAIN-1"}}'
)


@pytest.mark.parametrize(
    "overrides, planned, absent",
    [
        (
            [],
            ['oci_core_private_ip__floating["vip"]', 'oci_core_public_ip__floating["vip"]'],
            ["oci_core_ipv6__floating", "oci_core_route_table__via_appliance", "http-ipv6"],
        ),
        ([THREE_NODES], ['oci_core_instance__node["node-c"]', 'oci_objectstorage_object__node_agent["node-c"]'], []),
        (
            ['additional_floating_ips={"vip-2" = "10.0.0.5"}', 'vip_groups=[["vip"], ["vip-2"]]'],
            ['oci_core_private_ip__floating["vip-2"]', 'oci_core_public_ip__floating["vip-2"]'],
            [],
        ),
        (
            ["dual_stack=true"],
            [
                'oci_core_ipv6__floating["vip6"]',
                'oci_core_ipv6__node["node-b"]',
                'nodes_service["http-ipv6"]',
                "nodes_egress_ipv6[0]",
            ],
            [],
        ),
        (
            ["route_target_mode=true", "route_target_destination=172.16.0.0/16"],
            ["oci_core_route_table__via_appliance[0]", "oci_core_subnet__clients[0]", "nodes_forwarded[0]"],
            ["oci_core_ipv6__floating"],
        ),
        # All of it at once, as the emulator's multi topology: the groups span both families.
        (
            [
                THREE_NODES,
                'additional_floating_ips={"vip-2" = "10.0.0.5"}',
                "dual_stack=true",
                'vip_groups=[["vip", "vip-2"], ["vip6"]]',
                "route_target_mode=true",
                "route_target_vip=vip-2",
            ],
            [
                'oci_core_instance__node["node-c"]',
                'oci_core_ipv6__floating["vip6"]',
                'oci_core_public_ip__floating["vip-2"]',
                "oci_core_route_table__via_appliance[0]",
            ],
            [],
        ),
    ],
    ids=["default", "three-nodes", "two-vips", "dual-stack", "route-target", "multi"],
)
def test_each_option_plans_its_resources_and_nothing_else(
    stand_in_root: Path, overrides: list[str], planned: list[str], absent: list[str]
) -> None:
    plan = run_terraform(
        stand_in_root, "plan", "-input=false", "-var-file=example.tfvars", *[f"-var={one}" for one in overrides]
    )
    for address in planned:
        assert f"{address} will be created" in plan.stdout, address
    for address in absent:
        assert address not in plan.stdout, address


def test_every_oci_resource_and_data_source_has_a_stand_in() -> None:
    root = Module.load(TERRAFORM_DIR)
    text = skeleton(TERRAFORM_DIR)
    expected = len(root.resources("resource")) + len(root.resources("data"))
    assert text.count('resource "terraform_data"') == expected + 1  # + the "known after apply" seed
    assert "oci_core_instance.node" not in text, "every reference points at a stand-in"


@pytest.mark.parametrize("example", ["existing-nodes", "full-stack"])
def test_each_example_validates_with_oci_resources_stood_in(tmp_path: Path, example: str) -> None:
    """examples/: the controller alone on existing nodes, and the whole stack as a module call."""
    for shared in ("health_probe", "templates"):
        (tmp_path / shared).symlink_to(REPO / shared)
    workdir = tmp_path / "examples" / example
    write_skeleton(REPO / "examples" / example, workdir)
    run_terraform(workdir, "init", "-backend=false", "-input=false")
    run_terraform(workdir, "validate")
