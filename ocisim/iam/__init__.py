"""IAM in the emulator: the policies terraform deploys, enforced on every signed call.

One step of the request chain (ocisim/chain.py, after authentication): a call by a resource
principal (the function) or an instance principal (a node) proceeds only if the statements in
terraform/modules/controller/iam.tf grant every permission it needs; otherwise it is answered 404
NotAuthorizedOrNotFound, as OCI answers, and the denial is logged with the principal, the
operation and the missing permission. API-key users (the tenancy admin) are not restricted.

Configured by the topology; without an `iam` section, or with `"enabled": false`, IAM is off:

    "iam": {"enabled": true,                       # default true
            "terraform_dir": "terraform/modules/controller",  # relative: to the repository root
            "bindings": {"var.compartment_ocid": "ocid1.compartment...", ...},
            "group_members": {"ocid1.group...": ["ocid1.user...", ...]}}  # users restricted to their groups' grants

A relative `terraform_dir` is taken from the repository root (the parent of this package), not
from the topology file, so the copies of the topology that the lab and tests write elsewhere
keep pointing at the same terraform.

    language.py     the policy statement / matching-rule grammar (lark) and condition evaluation
    permissions.py  verb + resource-type -> permissions (OCI's policy reference tables)
    requests.py     API operation -> the permissions it needs, on which compartment, from the state
    decide.py       principal -> dynamic groups -> allowed or the first missing permission
    terraform.py    the statements and matching rules evaluated from the .tf files
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ocisim.auth import Principal
from ocisim.errors import NotAuthorizedOrNotFound, OciError
from ocisim.iam.decide import Denial, Policy, decide
from ocisim.iam.requests import OPERATIONS, Request
from ocisim.iam.terraform import policy_from_terraform
from ocisim.objectstorage.errors import BucketNotFound

REPOSITORY = Path(__file__).resolve().parents[2]
DENIED_MESSAGE = "Authorization failed or requested resource not found."


@dataclass(frozen=True)
class Authorizer:
    policy: Policy
    source: str  # where the statements came from, for the log

    def check(
        self,
        principal: Principal,
        operation: str,
        params: Mapping[str, str],
        query: Mapping[str, str],
        body: bytes,
        states: Mapping[str, Any],
    ) -> Denial | None:
        """Call with the backend lock held: the targets are read from the current state."""
        resolve = OPERATIONS.get(operation)
        needs = (
            None
            if resolve is None
            else resolve(
                Request(
                    params=params,
                    query=query,
                    body=body,
                    core=states["core"],
                    functions=states["functions"],
                    services=states,
                )
            )
        )
        return decide(self.policy, principal, operation, needs)


def denied(params: Mapping[str, str] | None = None) -> OciError:
    """OCI's answer to a refused call: 404 NotAuthorizedOrNotFound, except that Object Storage
    answers a refused bucket or object call as a missing bucket (404 BucketNotFound)."""
    params = params or {}
    if "namespaceName" in params and "bucketName" in params:
        return BucketNotFound(params["namespaceName"], params["bucketName"])
    return NotAuthorizedOrNotFound(DENIED_MESSAGE)


def authorizer_for(topology: Mapping[str, Any]) -> Authorizer | None:
    """The topology's IAM configuration, or None (IAM off) when it has none."""
    section = topology.get("iam")
    if not section or not section.get("enabled", True):
        return None
    directory = Path(section["terraform_dir"])
    if not directory.is_absolute():
        directory = REPOSITORY / directory
    return Authorizer(
        policy=policy_from_terraform(directory, section.get("bindings", {}), section.get("group_members", {})),
        source=str(directory),
    )
