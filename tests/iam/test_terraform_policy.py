"""The emulator reads terraform/modules/controller/iam.tf itself: the statements it enforces are the ones
`terraform apply` would create, with the topology's OCIDs where apply would put real ones."""

from __future__ import annotations

import pytest

from health_probe.names import NAMES
from ocisim import iam
from ocisim.iam.language import Comparison
from ocisim.iam.terraform import UnboundReference, group_ocid, policy_from_terraform
from tests.support.iam import iam_topology
from tests.support.paths import REPO

TOPOLOGY = iam_topology()
BINDINGS = TOPOLOGY["iam"]["bindings"]
OPERATORS = BINDINGS["var.operators_group_ocid"]
CONTROLLER = REPO / "terraform" / "modules" / "controller"


def test_every_statement_and_group_comes_from_iam_tf_with_the_topology_ids() -> None:
    policy = policy_from_terraform(CONTROLLER, BINDINGS)
    grants = {(s.group_id, s.verb, s.resource_type) for s in policy.statements}
    assert grants == {
        (group_ocid("function"), "use", "private-ips"),
        (group_ocid("function"), "use", "vnics"),
        (group_ocid("function"), "read", "public-ips"),
        (group_ocid("function"), "read", "alarms"),
        (group_ocid("function"), "inspect", "ons-subscriptions"),
        (group_ocid("function"), "read", "metrics"),
        (group_ocid("function"), "use", "ons-topics"),
        (group_ocid("function"), "use", "metrics"),
        (group_ocid("nodes"), "use", "metrics"),
        (group_ocid("nodes"), "use", "fn-invocation"),
        (group_ocid("nodes"), "read", "objects"),
        (OPERATORS, "use", "fn-invocation"),
        (OPERATORS, "use", "private-ips"),
        (OPERATORS, "use", "vnics"),
        (OPERATORS, "read", "public-ips"),
        (OPERATORS, "read", "alarms"),
        (OPERATORS, "inspect", "ons-subscriptions"),
        (OPERATORS, "read", "metrics"),
    }
    assert {s.compartment_id for s in policy.statements} == {TOPOLOGY["compartments"][0]["id"]}
    instances = [i["id"] for i in TOPOLOGY["instances"] if i["displayName"] in ("node-a", "node-b")]
    assert policy.groups[group_ocid("nodes")].terms == tuple(Comparison("instance.id", "=", i) for i in instances)


def test_the_metrics_namespace_is_evaluated_from_the_probes_metrics_json() -> None:
    policy = policy_from_terraform(CONTROLLER, BINDINGS)
    [metrics] = [s for s in policy.statements if s.resource_type == "metrics" and s.group_id == group_ocid("nodes")]
    assert metrics.condition == Comparison("target.metrics.namespace", "=", NAMES.namespace)


def test_a_missing_binding_names_the_reference() -> None:
    bindings = {k: v for k, v in BINDINGS.items() if k != "oci_functions_function.failover.id"}
    with pytest.raises(UnboundReference, match="oci_functions_function.failover.id"):
        policy_from_terraform(CONTROLLER, bindings)


def test_iam_is_off_without_a_section_or_when_disabled() -> None:
    assert iam.authorizer_for({k: v for k, v in TOPOLOGY.items() if k != "iam"}) is None
    assert iam.authorizer_for({**TOPOLOGY, "iam": {**TOPOLOGY["iam"], "enabled": False}}) is None
    assert iam.authorizer_for(TOPOLOGY).source == str(CONTROLLER)
