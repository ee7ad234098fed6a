"""Pure units: the policy grammar, conditions, verb tables and the decision."""

from __future__ import annotations

import pytest

from ocisim.auth import Principal
from ocisim.iam.decide import Policy, decide, principal_variables
from ocisim.iam.language import AllOf, AnyOf, Comparison, PolicySyntaxError, holds, parse_rule, parse_statement
from ocisim.iam.permissions import UnknownResourceType, granted
from ocisim.iam.requests import Requirement

GROUP = "ocid1.dynamicgroup.oc1..function"
COMPARTMENT = "ocid1.compartment.oc1..aaaaaaaacompartment"
OTHER = "ocid1.compartment.oc1..aaaaaaaaother"
FUNCTION = "ocid1.fnfunc.oc1.iad.aaaaaaaafunction"


def test_a_statement_with_an_any_condition() -> None:
    statement = parse_statement(
        f"Allow dynamic-group id {GROUP} to use private-ips in compartment id {COMPARTMENT} "
        "where any {request.permission = 'PRIVATE_IP_READ', request.permission = 'PRIVATE_IP_UPDATE'}"
    )
    assert (statement.group_id, statement.verb, statement.resource_type, statement.compartment_id) == (
        GROUP,
        "use",
        "private-ips",
        COMPARTMENT,
    )
    assert statement.condition == AnyOf(
        (
            Comparison("request.permission", "=", "PRIVATE_IP_READ"),
            Comparison("request.permission", "=", "PRIVATE_IP_UPDATE"),
        )
    )


def test_keywords_are_case_insensitive_and_tenancy_is_a_scope() -> None:
    statement = parse_statement(f"allow DYNAMIC-GROUP ID {GROUP} TO Read public-ips IN TENANCY")
    assert (statement.verb, statement.compartment_id, statement.condition) == ("read", None, None)


def test_nested_conditions_and_matching_rules() -> None:
    rule = parse_rule(f"ALL {{resource.type = 'fnfunc', any {{resource.id = '{FUNCTION}', resource.id != 'x'}}}}")
    assert isinstance(rule, AllOf) and isinstance(rule.terms[1], AnyOf)
    assert holds(rule, {"resource.type": "fnfunc", "resource.id": FUNCTION})
    assert not holds(rule, {"resource.type": "instance", "resource.id": FUNCTION})


@pytest.mark.parametrize(
    "text",
    [
        "Allow group Administrators to manage all-resources in tenancy",  # groups by name: not ours
        f"Allow dynamic-group id {GROUP} to destroy vnics in tenancy",  # no such verb
        f"Allow dynamic-group id {GROUP} to use vnics in compartment vip",  # compartment by name
        f"Allow dynamic-group id {GROUP} to use vnics in tenancy where target.x",  # incomplete condition
    ],
)
def test_what_the_subset_does_not_cover_is_refused(text: str) -> None:
    with pytest.raises(PolicySyntaxError):
        parse_statement(text)


def test_a_variable_the_request_lacks_makes_the_comparison_false_either_way() -> None:
    assert not holds(Comparison("target.metrics.namespace", "=", "vip_failover"), {})
    assert not holds(Comparison("target.metrics.namespace", "!=", "vip_failover"), {})
    assert holds(Comparison("target.metrics.namespace", "!=", "vip_failover"), {"target.metrics.namespace": "x"})


def test_verbs_are_cumulative() -> None:
    assert granted("inspect", "private-ips") == {"PRIVATE_IP_READ"}
    assert {"PRIVATE_IP_READ", "PRIVATE_IP_UPDATE"} <= granted("use", "private-ips")
    assert "PRIVATE_IP_ROUTE_TABLE_ATTACH" not in granted("use", "private-ips")
    assert granted("inspect", "public-ips") == frozenset()
    assert granted("read", "public-ips") == {"PUBLIC_IP_READ"}
    assert granted("use", "fn-invocation") == {"FN_INVOCATION"}
    assert {"VNIC_ASSIGN", "VNIC_UNASSIGN"} <= granted("use", "vnics")


def test_the_seeds_family_grant_holds_every_network_permission_we_narrowed() -> None:
    seed = granted("manage", "virtual-network-family")
    assert {"PRIVATE_IP_UPDATE", "PRIVATE_IP_DELETE", "VNIC_ASSIGN", "VNIC_DELETE", "PUBLIC_IP_DELETE"} <= seed


def test_an_unknown_resource_type_is_refused() -> None:
    with pytest.raises(UnknownResourceType):
        granted("use", "private-ip")


FUNCTION_POLICY = Policy(
    statements=(
        parse_statement(
            f"Allow dynamic-group id {GROUP} to use vnics in compartment id {COMPARTMENT} "
            "where any {request.permission = 'VNIC_ASSIGN', request.permission = 'VNIC_UNASSIGN'}"
        ),
    ),
    groups={GROUP: parse_rule(f"ALL {{resource.type = 'fnfunc', resource.id = '{FUNCTION}'}}")},
)
THE_FUNCTION = Principal("resource", FUNCTION, "tenancy", COMPARTMENT)


def test_principals_expose_what_matching_rules_test() -> None:
    assert principal_variables(THE_FUNCTION) == {
        "resource.type": "fnfunc",
        "resource.id": FUNCTION,
        "resource.compartment.id": COMPARTMENT,
    }
    node = Principal("instance", "ocid1.instance.oc1.iad.a", "tenancy", COMPARTMENT)
    assert principal_variables(node) == {"instance.id": node.id, "instance.compartment.id": COMPARTMENT}


def test_decide_grants_only_the_permissions_in_the_condition_and_the_compartment() -> None:
    assign, update = Requirement("VNIC_ASSIGN", COMPARTMENT), Requirement("VNIC_UPDATE", COMPARTMENT)
    assert decide(FUNCTION_POLICY, THE_FUNCTION, "UpdatePrivateIp", [assign]) is None
    assert decide(FUNCTION_POLICY, THE_FUNCTION, "UpdateVnic", [update]).permission == "VNIC_UPDATE"
    denial = decide(FUNCTION_POLICY, THE_FUNCTION, "UpdatePrivateIp", [assign, Requirement("VNIC_ASSIGN", OTHER, "v")])
    assert (denial.permission, denial.compartment_id, denial.resource_id) == ("VNIC_ASSIGN", OTHER, "v")


def test_decide_refuses_principals_outside_the_group_and_unmapped_operations() -> None:
    stranger = Principal("resource", "ocid1.fnfunc.oc1.iad.other", "tenancy", COMPARTMENT)
    assert decide(FUNCTION_POLICY, stranger, "UpdatePrivateIp", [Requirement("VNIC_ASSIGN", COMPARTMENT)])
    assert decide(FUNCTION_POLICY, THE_FUNCTION, "DeleteVcn", None)


def test_api_key_users_and_services_are_not_restricted() -> None:
    for kind in ("user", "service"):
        principal = Principal(kind, "ocid1.user.oc1..admin", "tenancy")
        assert decide(FUNCTION_POLICY, principal, "DeleteVcn", None) is None


def test_a_statement_for_an_undefined_group_is_refused_at_load() -> None:
    with pytest.raises(ValueError, match="unknown dynamic group"):
        Policy(statements=FUNCTION_POLICY.statements, groups={})


def test_bucket_names_match_case_insensitively_as_in_oci_other_names_do_not() -> None:
    bucket = Comparison("target.bucket.name", "=", "Vip-Failover-Node-Config")
    assert holds(bucket, {"target.bucket.name": "vip-failover-node-config"})
    assert not holds(bucket, {"target.bucket.name": "vip-failover-node-config2"})
    assert not holds(Comparison("target.function.id", "=", "OCID1.X"), {"target.function.id": "ocid1.x"})


def test_read_objects_lists_heads_and_downloads_but_never_writes() -> None:
    assert granted("read", "objects") == {"OBJECT_INSPECT", "OBJECT_READ"}
    assert {"OBJECT_CREATE", "OBJECT_OVERWRITE", "OBJECT_DELETE"} <= granted("manage", "object-family")
