"""The IAM policies grant nothing beyond an explicit allow-list.

Each statement is parsed (subject, verb, resource-type, scope, condition) and must match an entry
below; a broader verb, another resource-type, the tenancy as scope or a missing condition fails.
The allow-list names, for each principal, the API calls that need the grant (see terraform/modules/controller/iam.tf
and OCI's "Details for the Core Services" policy reference).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest

from tests.support.terraform import TERRAFORM_DIR, Module

ROOT = Module.load(TERRAFORM_DIR / "modules" / "controller")
LOCALS = ROOT.locals()
SCOPE = "in compartment id ${var.compartment_ocid}"

# principal -> (verb, resource-type) -> what the condition must restrict the grant to:
#   a set: request.permission must be limited to (a subset of) these permissions;
#   a str: this exact condition; None: no condition needed (the verb is already the narrowest).
ALLOWED: dict[str, dict[tuple[str, str], set[str] | str | None]] = {
    "function": {
        # GetPrivateIp; UpdatePrivateIp = PRIVATE_IP_UPDATE + VNIC_UNASSIGN (old) + VNIC_ASSIGN (new).
        ("use", "private-ips"): {"PRIVATE_IP_READ", "PRIVATE_IP_UPDATE"},
        # ... and GetVnic (the doctor: every node's VNIC in the VIP's subnet).
        ("use", "vnics"): {"VNIC_ASSIGN", "VNIC_UNASSIGN", "VNIC_READ"},
        # GetPublicIpByPrivateIpId of the reserved public IP: PUBLIC_IP_READ, all that `read` holds.
        ("read", "public-ips"): None,
        # The doctor: GetAlarm, ListSubscriptions, SummarizeMetricsData of the agents' namespace.
        ("read", "alarms"): None,
        ("inspect", "ons-subscriptions"): None,
        ("read", "metrics"): "target.metrics.namespace = '${local.metric_names.namespace}'",
        # Failover events (events.tf): PublishMessage, and PostMetricData into the events' namespace.
        ("use", "ons-topics"): {"ONS_TOPIC_PUBLISH"},
        ("use", "metrics"): "target.metrics.namespace = 'vip_failover_events'",
        # With IPv6 floating IPs only: GetIpv6; UpdateIpv6 = IPV6_UPDATE + the VNIC half above.
        ("use", "ipv6s"): {"IPV6_READ", "IPV6_UPDATE"},
    },
    "nodes": {
        # PostMetricData into the probe's namespace only (read from health_probe/metrics.json).
        ("use", "metrics"): "target.metrics.namespace = '${local.metric_names.namespace}'",
        # InvokeFunction of this function only (keepalived's notify).
        ("use", "fn-invocation"): "target.function.id = '${oci_functions_function.failover.id}'",
        # GetObject of the node configuration, in its bucket only.
        ("read", "objects"): "target.bucket.name = '${bucket}'",
        # fast_path_mode = "direct" only: the agent moves the VIP itself, with exactly the
        # function's move grants (test_direct_mode_gives_the_nodes_exactly_the_functions_move_grants).
        ("use", "private-ips"): {"PRIVATE_IP_READ", "PRIVATE_IP_UPDATE"},
        ("use", "vnics"): {"VNIC_ASSIGN", "VNIC_UNASSIGN", "VNIC_READ"},
        ("read", "public-ips"): None,
        ("use", "ipv6s"): {"IPV6_READ", "IPV6_UPDATE"},
    },
    "operators": {
        # InvokeFunction of the operators' function only: manual and forced moves.
        ("use", "fn-invocation"): "target.function.id = '${oci_functions_function.operator.id}'",
        # `python -m failover` with the operator's own key: what the function itself holds.
        ("use", "private-ips"): {"PRIVATE_IP_READ", "PRIVATE_IP_UPDATE"},
        ("use", "vnics"): {"VNIC_ASSIGN", "VNIC_UNASSIGN", "VNIC_READ"},
        ("read", "public-ips"): None,
        ("read", "alarms"): None,
        ("inspect", "ons-subscriptions"): None,
        ("read", "metrics"): "target.metrics.namespace = '${local.metric_names.namespace}'",
        ("use", "ipv6s"): {"IPV6_READ", "IPV6_UPDATE"},
    },
}
# Grants that exist only when the deployment needs them: (principal, resource-type) -> the
# conditions under any of which the statement's local is empty.
NO_IPV6 = "length(var.vip_ipv6_ids) == 0"
FUNCTION_MODE = 'var.fast_path_mode != "direct"'
ONLY_WHEN = {
    ("function", "ipv6s"): (NO_IPV6,),
    ("operators", "ipv6s"): (NO_IPV6,),
    ("nodes", "private-ips"): (FUNCTION_MODE,),
    ("nodes", "vnics"): (FUNCTION_MODE,),
    ("nodes", "public-ips"): (FUNCTION_MODE,),
    ("nodes", "ipv6s"): (FUNCTION_MODE, NO_IPV6),
}
# A policy grants only to the principal it is named for; events.tf's policy is the function's.
PRINCIPAL_OF_POLICY = {"events": "function"}

STATEMENT = re.compile(
    r"^Allow (?:dynamic-group id \$\{oci_identity_dynamic_group\.(?P<principal>[a-z_]+)\.id\}"
    r"|group id \$\{var\.(?P<group>operators)_group_ocid\})"
    r" to (?P<verb>inspect|read|use|manage) (?P<resource>[a-z0-9-]+) (?P<scope>in .+?)"
    r"(?: where (?P<condition>.+))?$"
)
PERMISSIONS = re.compile(r"^any \{(?P<terms>[^{}]+)\}$")
PERMISSION_TERM = re.compile(r"^request\.permission = '(?P<name>[A-Z0-9_]+)'$")


@dataclass(frozen=True)
class Statement:
    principal: str
    verb: str
    resource: str
    scope: str
    condition: str | None


def expand(text: str) -> str:
    """Substitute ${local.x} with the local's (string) value, as terraform would."""
    return re.sub(r"\$\{local\.(\w+)\}", lambda m: str(LOCALS[m.group(1)]), text)


def parse(text: str) -> Statement:
    match = STATEMENT.match(expand(text))
    assert match, f"not a statement of the allowed shape: {text}"
    fields = match.groupdict()
    fields["principal"] = fields["principal"] or fields.pop("group")
    fields.pop("group", None)
    return Statement(**fields)


def permissions(condition: str) -> set[str]:
    match = PERMISSIONS.match(condition)
    assert match, f"expected any {{request.permission = '...', ...}}, got {condition}"
    names = set()
    for term in match.group("terms").split(","):
        permission = PERMISSION_TERM.match(term.strip())
        assert permission, f"unexpected term {term!r}"
        names.add(permission.group("name"))
    return names


FOR_EACH_STATEMENT = re.compile(r'^\$\{\[for \w+ in [\w.]+ : "(?P<template>.+)"\]\}$', re.S)
CONDITIONAL_STATEMENTS = re.compile(
    r'^\$\{(?P<unless>(?:[^?]+ \? \[\] : )+)\[(?P<items>"[^"]+"(?:, "[^"]+")*),?\]\}$', re.DOTALL
)
# statement -> the conditions under any of which its local is empty (statements_of records them)
UNLESS: dict[str, tuple[str, ...]] = {}


def statements_of(local: str) -> list[str]:
    """A local's statements: a list, `[for x in list : "template"]` (one statement per item), or
    `condition ? [] : [statements]`, or a chain `a ? [] : b ? [] : [statements]` (granted only
    where the deployment needs them)."""
    value = LOCALS[local]
    if isinstance(value, list):
        return value
    flat = " ".join(value.split())
    conditional = CONDITIONAL_STATEMENTS.match(flat)
    if conditional:
        texts = re.findall(r'"([^"]+)"', conditional.group("items"))
        unless = tuple(part for part in conditional.group("unless").split(" ? [] : ") if part)
        UNLESS.update(dict.fromkeys(texts, unless))
        return texts
    match = FOR_EACH_STATEMENT.match(flat)
    assert match, f"local.{local}: neither a list of statements nor a for expression: {value}"
    return [match.group("template").replace('\\"', '"')]


def policies() -> dict[str, list[str]]:
    """policy resource name -> its statements (through the locals they reference, concatenated)."""
    out = {}
    for (rtype, name), body in ROOT.resources().items():
        if rtype == "oci_identity_policy":
            locals_ = re.fullmatch(r"\$\{(?:concat\()?(local\.\w+(?:, local\.\w+)*)\)?\}", body["statements"])
            assert locals_, f"{name}: statements come from locals: {body['statements']}"
            refs = [ref.removeprefix("local.") for ref in locals_.group(1).split(", ")]
            out[name] = [text for ref in refs for text in statements_of(ref)]
    return out


STATEMENTS = [(policy, parse(text)) for policy, texts in policies().items() for text in texts]
CONDITIONS = {parse(text): unless for text, unless in UNLESS.items()}


def test_there_are_policies_for_the_function_the_nodes_and_the_operators() -> None:
    assert {statement.principal for _, statement in STATEMENTS} == set(ALLOWED)


@pytest.mark.parametrize("policy, statement", STATEMENTS, ids=lambda x: x if isinstance(x, str) else x.resource)
def test_each_statement_is_on_the_allow_list(policy: str, statement: Statement) -> None:
    assert statement.principal == PRINCIPAL_OF_POLICY.get(policy, policy), "a policy grants only to its principal"
    assert statement.scope == SCOPE, "scoped to the compartment, never the tenancy"
    allowed = ALLOWED[statement.principal]
    key = (statement.verb, statement.resource)
    assert key in allowed, f"{statement.principal} may not {statement.verb} {statement.resource}"
    rule = allowed[key]
    if isinstance(rule, set):
        assert statement.condition, f"{statement.verb} {statement.resource} needs a request.permission condition"
        granted = permissions(statement.condition)
        assert granted and granted <= rule, f"{sorted(granted - rule)} are not needed"
    elif isinstance(rule, str):
        assert statement.condition == rule
    else:
        assert statement.condition is None


def test_every_allowed_grant_is_used_once() -> None:
    granted = [(s.principal, s.verb, s.resource) for _, s in STATEMENTS]
    assert len(granted) == len(set(granted)), "duplicate grants"
    assert set(granted) == {(p, v, r) for p, grants in ALLOWED.items() for v, r in grants}


def test_grants_a_deployment_may_not_need_are_made_only_when_it_does() -> None:
    """No IPv6 floating IP, no IPv6 grant; the function fast path mode, no move grant for the
    nodes: each such statement's local is empty unless needed."""
    for _, statement in STATEMENTS:
        assert CONDITIONS.get(statement) == ONLY_WHEN.get((statement.principal, statement.resource)), statement
    assert {(s.principal, s.resource) for s in CONDITIONS} == set(ONLY_WHEN)


def test_direct_mode_gives_the_nodes_exactly_the_functions_move_grants() -> None:
    """The nodes' direct-mode statements are the function's for moving the floating IPs (private
    IPs, VNICs, the public IP in the answer, IPv6), with the very same narrowing, and nothing else."""
    direct = {(s.verb, s.resource, s.condition) for s in CONDITIONS if s.principal == "nodes"}
    moves = {"private-ips", "vnics", "public-ips", "ipv6s"}
    function = {(s.verb, s.resource, s.condition) for _, s in STATEMENTS if s.principal == "function"}
    assert direct == {grant for grant in function if grant[1] in moves}
    assert len(direct) == len(moves)


def test_the_metrics_namespace_is_the_probes() -> None:
    assert LOCALS["metric_names"] == '${jsondecode(file("${path.module}/../../../health_probe/metrics.json"))}'


def test_the_events_namespace_is_the_functions() -> None:
    from failover.announce import EVENTS_NAMESPACE

    assert LOCALS["events_namespace"] == EVENTS_NAMESPACE


def test_nothing_broad_anywhere() -> None:
    for _, statement in STATEMENTS:
        assert statement.verb != "manage"
        assert not statement.resource.endswith("-family") and statement.resource != "all-resources"
        assert "tenancy" not in statement.scope


def test_policies_live_in_the_compartment_and_the_home_region() -> None:
    for (rtype, name), body in ROOT.resources().items():
        if rtype in ("oci_identity_policy", "oci_identity_dynamic_group"):
            assert body["provider"] == "${oci.home}", f"{rtype}.{name}: IAM writes go to the home region"
        if rtype == "oci_identity_policy":
            assert body["compartment_id"] == "${var.compartment_ocid}"


def test_dynamic_groups_match_only_this_function_and_these_instances() -> None:
    groups = {name: body for (rtype, name), body in ROOT.resources().items() if rtype == "oci_identity_dynamic_group"}
    assert set(groups) == set(ALLOWED) - {"operators"}  # the operators are a group of users, not a dynamic group
    assert groups["function"]["matching_rule"] == (
        "ANY {resource.id = '${oci_functions_function.failover.id}', resource.id = '${oci_functions_function.operator.id}'}"
    )
    rule = groups["nodes"]["matching_rule"]
    assert rule.startswith("ANY {") and "instance.id = '${var.nodes[name].instance_id}'" in rule
    assert "compartment" not in rule, "match the two instances, not every instance of a compartment"
