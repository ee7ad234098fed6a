"""Route tables, and where a rule whose target is a private IP delivers traffic right now.

The network-appliance pattern of OCI's route table docs: a rule's `networkEntityId` is a private
IP's OCID and the VCN delivers to whichever VNIC holds that IP, so moving the IP
(UpdatePrivateIp) moves the route without touching the table. Invariants:
- a private-IP target exists, is in the table's VCN, and sits on a VNIC with
  `skipSourceDestCheck` (OCI refuses such a rule otherwise); a topology breaking this is refused
  at start;
- a private IP that is a rule's target cannot be deleted (models.py, 409 Conflict);
- a subnet's `routeTableId` names a table of the subnet's own VCN.
The effective next hop is derived on every read (`next_hops`), never stored, so it cannot lag
behind a move. It is served to the lab on the unsigned admin API, not as an OCI operation.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Any

from ocisim.core.models import CoreState, Resource, matching, new_etag
from ocisim.errors import InvalidParameter, not_found

PRIVATE_IP_PREFIX = "ocid1.privateip."
SORT_KEYS = {"TIMECREATED": "timeCreated", "DISPLAYNAME": "displayName"}


def route_table(state: CoreState, route_table_id: str) -> Resource:
    try:
        return state.route_tables[route_table_id]
    except KeyError:
        raise not_found("RouteTable", route_table_id) from None


def list_route_tables(
    state: CoreState,
    *,
    compartment_id: str,
    vcn_id: str | None = None,
    display_name: str | None = None,
    lifecycle_state: str | None = None,
    sort_by: str | None = None,
    sort_order: str | None = None,
) -> list[Resource]:
    if vcn_id is not None and vcn_id not in state.vcns:
        raise not_found("Vcn", vcn_id)
    if sort_by not in (None, *SORT_KEYS) or sort_order not in (None, "ASC", "DESC"):
        raise InvalidParameter("sortBy must be TIMECREATED or DISPLAYNAME and sortOrder ASC or DESC")
    found = matching(
        state.route_tables.values(),
        {
            "compartmentId": compartment_id,
            "vcnId": vcn_id,
            "displayName": display_name,
            "lifecycleState": lifecycle_state,
        },
    )
    key = SORT_KEYS[sort_by or "TIMECREATED"]
    return sorted(found, key=lambda t: (t.get(key) or "", t["id"]), reverse=sort_order == "DESC")


def next_hops(state: CoreState, route_table_id: str) -> list[dict[str, Any]]:
    """Each rule of the table with the VNIC and instance its target private IP is on now."""
    return [_hop(state, rule) for rule in route_table(state, route_table_id)["routeRules"]]


def _hop(state: CoreState, rule: Mapping[str, Any]) -> dict[str, Any]:
    hop: dict[str, Any] = {
        "destination": rule["destination"],
        "destinationType": rule["destinationType"],
        "networkEntityId": rule["networkEntityId"],
        "privateIpId": None,
        "ipAddress": None,
        "vnicId": None,
        "instanceId": None,
        "instanceName": None,
        "skipSourceDestCheck": None,
    }
    private_ip = state.private_ips.get(rule["networkEntityId"])
    if private_ip is None:
        return hop
    vnic = state.vnics[private_ip["vnicId"]]
    attachment = next((a for a in state.vnic_attachments.values() if a["vnicId"] == vnic["id"]), None)
    instance = state.instances.get(attachment["instanceId"]) if attachment else None
    hop.update(
        privateIpId=private_ip["id"],
        ipAddress=private_ip["ipAddress"],
        vnicId=vnic["id"],
        skipSourceDestCheck=vnic["skipSourceDestCheck"],
        instanceId=instance["id"] if instance else None,
        instanceName=instance["displayName"] if instance else None,
    )
    return hop


def seed(state: CoreState, topology: Mapping[str, Any], created: str) -> None:
    """The topology's `routeTables` and the subnets' `routeTableId` (see ocisim/topologies/multi.json)."""
    for table in topology.get("routeTables", []):
        vcn = state.vcns.get(table["vcnId"])
        if vcn is None:
            raise ValueError(f"route table {table['id']}: no VCN {table['vcnId']}")
        rules = [_seed_rule(state, table, rule) for rule in table.get("routeRules", [])]
        state.route_tables[table["id"]] = {
            "compartmentId": vcn["compartmentId"],
            "definedTags": {},
            "freeformTags": {},
            "systemTags": {},
            "displayName": table["id"],
            "lifecycleState": "AVAILABLE",
            "timeCreated": created,
            **table,
            "routeRules": rules,
        }
        state.etags[table["id"]] = new_etag()
    for subnet in state.subnets.values():
        table_id = subnet.setdefault("routeTableId", None)
        if table_id is not None and state.route_tables.get(table_id, {}).get("vcnId") != subnet["vcnId"]:
            raise ValueError(f"subnet {subnet['id']}: routeTableId {table_id} is not a route table of its VCN")


def _seed_rule(state: CoreState, table: Mapping[str, Any], rule: Mapping[str, Any]) -> Resource:
    destination_type = rule.get("destinationType", "CIDR_BLOCK")
    if destination_type == "CIDR_BLOCK":
        ipaddress.ip_network(rule["destination"])  # refuse a malformed topology early
    target = rule["networkEntityId"]
    if target.startswith(PRIVATE_IP_PREFIX):
        private_ip = state.private_ips.get(target)
        if private_ip is None:
            raise ValueError(f"route table {table['id']}: no private IP {target}")
        vnic = state.vnics[private_ip["vnicId"]]
        if state.subnets[private_ip["subnetId"]]["vcnId"] != table["vcnId"]:
            raise ValueError(f"route table {table['id']}: private IP {target} is in another VCN")
        if not vnic["skipSourceDestCheck"]:
            raise ValueError(
                f"route table {table['id']}: private IP {target} is on VNIC {vnic['id']}, "
                "which does not skip the source/destination check (OCI refuses such a rule)"
            )
    return {"cidrBlock": None, "description": None, "routeType": "STATIC", **rule, "destinationType": destination_type}
