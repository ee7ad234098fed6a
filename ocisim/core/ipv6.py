"""IPv6 addresses of dual-stack subnets (the Core Ipv6 API) and every invariant of them.

Kept in the wire shape of `oci.core.models.Ipv6`, in `CoreState.ipv6s`. Invariants, as for
secondary private IPs (models.py):
- an Ipv6 belongs to exactly one VNIC (`vnicId`), and moves (UpdateIpv6 `vnicId`) only to an
  AVAILABLE VNIC of its own subnet (400 InvalidParameter otherwise);
- its address lies in one of its subnet's `ipv6CidrBlocks`, is neither the prefix's network
  address nor the subnet's `ipv6VirtualRouterIp`, and appears once per subnet (409 Conflict);
- a VNIC holds at most 32 of them (400 LimitExceeded);
- there is no public-IP object for an IPv6 address (OCI has none);
- only EPHEMERAL addresses on a VNIC are emulated (no reserved IPv6, no route table per IPv6);
- every change gets a fresh etag; `if-match` with a stale one is 412 NoEtagMatch.
Addresses are compared in their compressed form, whatever form a request or topology uses.
"""

from __future__ import annotations

import copy
import ipaddress
from collections.abc import Mapping
from typing import Any

from ocisim.core.models import CoreState, Resource, matching, new_etag, random_suffix, region_key
from ocisim.errors import Conflict, InvalidParameter, LimitExceeded, MissingParameter, check_etag, not_found

MAX_IPV6S_PER_VNIC = 32
UPDATABLE_FIELDS = ("displayName", "freeformTags", "definedTags", "vnicId", "hostname")
CREATE_FIELDS = (
    "definedTags",
    "displayName",
    "freeformTags",
    "ipAddress",
    "cidrPrefixLength",
    "vnicId",
    "subnetId",
    "lifetime",
    "routeTableId",
    "ipv6SubnetCidr",
    "hostname",
)
_NOT_EMULATED = ("routeTableId", "ipv6SubnetCidr", "cidrPrefixLength")


def ipv6(state: CoreState, ipv6_id: str) -> Resource:
    try:
        return state.ipv6s[ipv6_id]
    except KeyError:
        raise not_found("Ipv6", ipv6_id) from None


def prefixes(subnet: Mapping[str, Any]) -> list[ipaddress.IPv6Network]:
    """The subnet's IPv6 prefixes: empty for an IPv4-only subnet."""
    blocks = subnet.get("ipv6CidrBlocks") or ([subnet["ipv6CidrBlock"]] if subnet.get("ipv6CidrBlock") else [])
    return [ipaddress.IPv6Network(block) for block in blocks]


def list_ipv6s(
    state: CoreState,
    *,
    vnic_id: str | None,
    subnet_id: str | None,
    ip_address: str | None,
    ip_state: str | None = None,
    lifetime: str | None = None,
) -> list[Resource]:
    """ListIpv6s by VNIC, by subnet, or by subnet and address (OCI's three ways)."""
    if not (vnic_id or subnet_id):
        raise InvalidParameter("One of vnicId or subnetId must be given")
    if ip_address is not None and not subnet_id:
        raise InvalidParameter("ipAddress needs subnetId")
    state.check_list_scope(vnic_id, subnet_id)
    address = None if ip_address is None else _normalised(ip_address)
    found = matching(
        state.ipv6s.values(),
        {"vnicId": vnic_id, "subnetId": subnet_id, "ipAddress": address, "ipState": ip_state, "lifetime": lifetime},
    )
    return sorted(found, key=_address)


def update_ipv6(
    state: CoreState, ipv6_id: str, details: Mapping[str, Any], if_match: str | None
) -> tuple[Resource, Resource]:
    """Apply UpdateIpv6Details; returns (before, after). Validates before changing."""
    current = ipv6(state, ipv6_id)
    check_etag(if_match, state.etags[ipv6_id])
    _check_fields(details, set(UPDATABLE_FIELDS) | {"lifetime", "routeTableId"}, "UpdateIpv6Details")
    target = details.get("vnicId")
    if target is not None and target != current["vnicId"]:
        vnic = _available_vnic(state, target)
        if vnic["subnetId"] != current["subnetId"]:
            raise InvalidParameter(
                f"The IPv6 {current['ipAddress']} is in subnet {current['subnetId']} and cannot be moved "
                f"to VNIC {target} in subnet {vnic['subnetId']}"
            )
        _check_room(state, target)
    return state.apply(current, details, UPDATABLE_FIELDS)


def create_ipv6(state: CoreState, details: Mapping[str, Any], created: str) -> Resource:
    """CreateIpv6 on a VNIC: a given address must be in the subnet's prefixes and free, else the
    lowest free one is taken."""
    _check_fields(details, set(CREATE_FIELDS), "CreateIpv6Details")
    if not details.get("vnicId"):
        raise MissingParameter("vnicId is required (reserved IPv6 addresses are not emulated)")
    vnic = _available_vnic(state, details["vnicId"])
    subnet = state.subnets[vnic["subnetId"]]
    if details.get("subnetId") not in (None, subnet["id"]):
        raise InvalidParameter(f"subnetId {details['subnetId']} is not the subnet of VNIC {vnic['id']}")
    if not prefixes(subnet):
        raise InvalidParameter(f"Subnet {subnet['id']} has no IPv6 prefix (it is not dual-stack)")
    _check_room(state, vnic["id"])
    address = _free_address(state, subnet, details.get("ipAddress"))
    ipv6_id = f"ocid1.ipv6.oc1.{region_key(vnic['id'])}.{random_suffix()}"
    fields = {
        k: copy.deepcopy(details[k])
        for k in ("displayName", "freeformTags", "definedTags", "hostname")
        if details.get(k) is not None
    }
    _add(state, vnic, {"id": ipv6_id, "ipAddress": address, "displayName": address, **fields}, created)
    return copy.deepcopy(state.ipv6s[ipv6_id])


def delete_ipv6(state: CoreState, ipv6_id: str, if_match: str | None) -> Resource:
    current = ipv6(state, ipv6_id)
    check_etag(if_match, state.etags[ipv6_id])
    del state.ipv6s[ipv6_id]
    del state.etags[ipv6_id]
    return current


def seed(state: CoreState, topology: Mapping[str, Any], created: str) -> None:
    """The topology's dual-stack prefixes and `ipv6s` section (see ocisim/topologies/multi.json).

    A malformed topology (a prefix outside its VCN's, an address outside its subnet's) is refused
    at start with ValueError, never served."""
    for subnet in state.subnets.values():
        _seed_prefixes(state, subnet)
    for entry in topology.get("ipv6s", []):
        vnic = state.vnics[entry["vnicId"]]
        if entry.get("subnetId") not in (None, vnic["subnetId"]):
            raise ValueError(f"IPv6 {entry['id']}: subnetId is not the subnet of VNIC {vnic['id']}")
        subnet = state.subnets[vnic["subnetId"]]
        address = _normalised(entry["ipAddress"], error=ValueError)
        if not any(ipaddress.IPv6Address(address) in prefix for prefix in prefixes(subnet)):
            raise ValueError(f"IPv6 {address} is outside the IPv6 prefixes of subnet {subnet['id']}")
        if address in _taken(state, subnet["id"]):
            raise ValueError(f"IPv6 {address} appears twice in subnet {subnet['id']}")
        _add(state, vnic, {**entry, "ipAddress": address}, created)


def _seed_prefixes(state: CoreState, subnet: Resource) -> None:
    subnet_prefixes = prefixes(subnet)
    if not subnet_prefixes:
        subnet.setdefault("ipv6CidrBlocks", None)
        subnet.setdefault("ipv6CidrBlock", None)
        subnet.setdefault("ipv6VirtualRouterIp", None)
        return
    vcn_prefixes = [ipaddress.IPv6Network(b) for b in state.vcns[subnet["vcnId"]].get("ipv6CidrBlocks") or []]
    for prefix in subnet_prefixes:
        if not any(prefix.subnet_of(v) for v in vcn_prefixes):
            raise ValueError(f"subnet {subnet['id']}: IPv6 prefix {prefix} is outside its VCN's IPv6 prefixes")
    subnet["ipv6CidrBlocks"] = [str(p) for p in subnet_prefixes]
    subnet["ipv6CidrBlock"] = str(subnet_prefixes[0])
    subnet.setdefault("ipv6VirtualRouterIp", str(subnet_prefixes[0].network_address + 1))


def _add(state: CoreState, vnic: Resource, entry: Mapping[str, Any], created: str) -> None:
    state.ipv6s[entry["id"]] = {
        "compartmentId": vnic["compartmentId"],
        "definedTags": {},
        "freeformTags": {},
        "systemTags": {},
        "displayName": entry["ipAddress"],
        "cidrPrefixLength": None,
        "lifecycleState": "AVAILABLE",
        "subnetId": vnic["subnetId"],
        "timeCreated": created,
        "vnicId": vnic["id"],
        "ipState": "ASSIGNED",
        "lifetime": "EPHEMERAL",
        "routeTableId": None,
        "hostname": None,
        **entry,
    }
    state.etags[entry["id"]] = new_etag()


def _check_fields(details: Mapping[str, Any], allowed: set[str], model: str) -> None:
    unknown = set(details) - allowed
    if unknown:
        raise InvalidParameter(f"Unknown fields in {model}: {sorted(unknown)}")
    for name in ("displayName", "hostname", "vnicId", "subnetId", "lifetime", "ipAddress"):
        if details.get(name) is not None and not isinstance(details[name], str):
            raise InvalidParameter(f"{name} must be a string")
    for name in ("freeformTags", "definedTags"):
        if details.get(name) is not None and not isinstance(details[name], dict):
            raise InvalidParameter(f"{name} must be an object")
    if details.get("lifetime") not in (None, "EPHEMERAL"):
        raise InvalidParameter("lifetime: only EPHEMERAL IPv6 addresses are emulated")
    given = [name for name in _NOT_EMULATED if details.get(name) is not None]
    if given:
        raise InvalidParameter(f"{', '.join(given)}: not emulated for IPv6 addresses")


def _available_vnic(state: CoreState, vnic_id: str) -> Resource:
    vnic = state.related_vnic(vnic_id)
    if vnic["lifecycleState"] != "AVAILABLE":
        raise InvalidParameter(f"VNIC {vnic_id} is {vnic['lifecycleState']}")
    return vnic


def _check_room(state: CoreState, vnic_id: str) -> None:
    on_target = sum(1 for p in state.ipv6s.values() if p["vnicId"] == vnic_id)
    if on_target >= MAX_IPV6S_PER_VNIC:
        raise LimitExceeded(f"VNIC {vnic_id} already has {on_target} IPv6 addresses (at most {MAX_IPV6S_PER_VNIC})")


def _free_address(state: CoreState, subnet: Resource, wanted: Any) -> str:
    taken = _taken(state, subnet["id"])
    reserved = {subnet["ipv6VirtualRouterIp"]} | {str(p.network_address) for p in prefixes(subnet)}
    if wanted is not None:
        address = ipaddress.IPv6Address(_normalised(wanted))
        if not any(address in p for p in prefixes(subnet)) or str(address) in reserved:
            raise InvalidParameter(
                f"ipAddress {address} is not an assignable address of the IPv6 prefixes of subnet {subnet['id']}"
            )
        if str(address) in taken:
            raise Conflict(f"ipAddress {address} is already assigned in subnet {subnet['id']}")
        return str(address)
    for prefix in prefixes(subnet):
        # at most len(taken) + len(reserved) + 1 candidates are looked at: a /64 is never walked
        for offset in range(1, len(taken) + len(reserved) + 2):
            candidate = str(prefix.network_address + offset)
            if candidate not in taken and candidate not in reserved and ipaddress.IPv6Address(candidate) in prefix:
                return candidate
    raise LimitExceeded(f"Subnet {subnet['id']} has no free IPv6 address")


def _taken(state: CoreState, subnet_id: str) -> set[str]:
    return {p["ipAddress"] for p in state.ipv6s.values() if p["subnetId"] == subnet_id}


def _normalised(value: Any, error: type[Exception] = InvalidParameter) -> str:
    try:
        return str(ipaddress.IPv6Address(str(value)))
    except ValueError:
        raise error(f"ipAddress {value!r} is not an IPv6 address") from None


def _address(resource: Resource) -> ipaddress.IPv6Address:
    return ipaddress.IPv6Address(resource["ipAddress"])
