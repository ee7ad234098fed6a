"""The authorisation decision, pure: who the principal is, which dynamic groups it is in, and
whether every permission a call needs is granted by some statement.

Who is restricted: resource principals (functions) and instance principals (nodes), as in OCI
where they hold nothing unless a policy names their dynamic group, and API-key users who are
members of a user group the topology lists (``iam.group_members``, e.g. the operators): they
hold what `Allow group id ...` statements grant that group. Other API-key users stand for the
tenancy administrator (OCI's Administrators group has `manage all-resources in tenancy`), and
service principals (Notifications delivering to a function) are authorised by the service itself,
so neither is checked here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from ocisim.auth import Principal
from ocisim.iam.language import Condition, Statement, holds
from ocisim.iam.permissions import granted
from ocisim.iam.requests import Requirement

RESTRICTED_KINDS = ("resource", "instance")


@dataclass(frozen=True)
class Policy:
    """Statements plus the dynamic groups they name (group OCID -> matching rule)."""

    statements: tuple[Statement, ...]
    groups: Mapping[str, Condition]
    members: Mapping[str, frozenset[str]] = field(default_factory=dict)  # user group OCID -> user OCIDs

    def __post_init__(self) -> None:
        for statement in self.statements:
            granted(statement.verb, statement.resource_type)  # unknown resource-types fail at load
            # A user group needs no definition here: its members (if any) come from the topology.
            if not statement.users and statement.group_id not in self.groups:
                raise ValueError(f"statement names an unknown dynamic group: {statement.text}")


@dataclass(frozen=True)
class Denial:
    """The first permission no statement grants (what the log and the docs show)."""

    permission: str
    compartment_id: str
    resource_id: str | None


def principal_variables(principal: Principal) -> dict[str, str]:
    """The variables a matching rule can test, from the authenticated token's claims."""
    compartment = principal.compartment_id or ""
    if principal.kind == "instance":
        return {"instance.id": principal.id, "instance.compartment.id": compartment}
    resource_type = principal.id.split(".")[1] if principal.id.count(".") >= 2 else ""
    return {"resource.type": resource_type, "resource.id": principal.id, "resource.compartment.id": compartment}


def groups_of(policy: Policy, principal: Principal) -> frozenset[str]:
    if principal.kind == "user":
        return frozenset(gid for gid, users in policy.members.items() if principal.id in users)
    variables = principal_variables(principal)
    return frozenset(gid for gid, rule in policy.groups.items() if holds(rule, variables))


def allows(statement: Statement, operation: str, need: Requirement) -> bool:
    if statement.compartment_id is not None and statement.compartment_id != need.compartment_id:
        return False
    if need.permission not in granted(statement.verb, statement.resource_type):
        return False
    if statement.condition is None:
        return True
    variables = {
        **need.variables,
        "request.permission": need.permission,
        "request.operation": operation,
        "target.compartment.id": need.compartment_id,
    }
    return holds(statement.condition, variables)


def decide(policy: Policy, principal: Principal, operation: str, needs: list[Requirement] | None) -> Denial | None:
    """None when the call may proceed; `needs` None means the operation is not mapped (refused)."""
    restricted_user = principal.kind == "user" and any(principal.id in u for u in policy.members.values())
    if principal.kind not in RESTRICTED_KINDS and not restricted_user:
        return None
    if needs is None:
        return Denial(f"<no permission mapping for {operation}>", principal.compartment_id or "", None)
    groups = groups_of(policy, principal)
    mine = [s for s in policy.statements if s.group_id in groups and s.users == (principal.kind == "user")]
    for need in needs:
        if not any(allows(statement, operation, need) for statement in mine):
            return Denial(need.permission, need.compartment_id, need.resource_id)
    return None
