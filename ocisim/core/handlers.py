"""Core Services wire format: parse the request, call the model, shape the reply.

No invariant lives here (see models.py); handlers are sync, so each runs atomically under the
backend lock.
"""

from __future__ import annotations

from typing import Any

from ocisim.core import ipv6, routing
from ocisim.core.models import CoreState, new_etag
from ocisim.errors import InvalidParameter, MissingParameter
from ocisim.service import Call, Reply, paginate


def _state(call: Call) -> CoreState:
    return call.state


def _details(call: Call) -> dict[str, Any]:
    body = call.json()
    if not isinstance(body, dict):
        raise InvalidParameter("The request body must be a JSON object")
    return body


def _required(values: dict[str, Any], name: str) -> str:
    value = values.get(name)
    if not value:
        raise MissingParameter(f"Missing required parameter {name}")
    return str(value)


def _reply(call: Call, resource: dict[str, Any]) -> Reply:
    """A resource with its etag header, as every OCI Get/Update answers."""
    return Reply.resource(resource, _state(call).etag(resource["id"]))


def get_private_ip(call: Call) -> Reply:
    return _reply(call, _state(call).private_ip(call.params["privateIpId"]))


def list_private_ips(call: Call) -> Reply:
    q = call.query
    return paginate(
        _state(call).list_private_ips(
            vnic_id=q.get("vnicId"),
            subnet_id=q.get("subnetId"),
            ip_address=q.get("ipAddress"),
            ip_state=q.get("ipState"),
            lifetime=q.get("lifetime"),
            vlan_id=q.get("vlanId"),
        ),
        q,
        next_after_every_page=True,
    )


def update_private_ip(call: Call) -> Reply:
    private_ip_id = call.params["privateIpId"]
    before, after = _state(call).update_private_ip(private_ip_id, _details(call), call.headers.get("if-match"))
    call.audit(private_ip_id, before, after)
    if before.get("vnicId") != after.get("vnicId"):
        # A move answers as a recorded real session does (oracle/oci-cli, cassette
        # secondary_ip_operations.yml): no vnicId yet, and an etag no later GET shows. Only the
        # GET after it is the final object.
        return Reply.resource({k: v for k, v in after.items() if k != "vnicId"}, new_etag())
    return _reply(call, after)


def create_private_ip(call: Call) -> Reply:
    created = _state(call).create_private_ip(_details(call), call.backend.clock.iso_now())
    call.audit(created["id"], None, created)
    return _reply(call, created)


def delete_private_ip(call: Call) -> Reply:
    private_ip_id = call.params["privateIpId"]
    before = _state(call).delete_private_ip(private_ip_id, call.headers.get("if-match"))
    call.audit(private_ip_id, before, None)
    return Reply(status=204)


def get_vnic_attachment(call: Call) -> Reply:
    return _reply(call, _state(call).vnic_attachment(call.params["vnicAttachmentId"]))


def get_vnic(call: Call) -> Reply:
    return _reply(call, _state(call).vnic(call.params["vnicId"]))


def list_vnic_attachments(call: Call) -> Reply:
    q = call.query
    return paginate(
        _state(call).list_vnic_attachments(
            compartment_id=_required(dict(q), "compartmentId"),
            instance_id=q.get("instanceId"),
            vnic_id=q.get("vnicId"),
            availability_domain=q.get("availabilityDomain"),
        ),
        q,
    )


def get_instance(call: Call) -> Reply:
    return _reply(call, _state(call).instance(call.params["instanceId"]))


def get_public_ip(call: Call) -> Reply:
    return _reply(call, _state(call).public_ip(call.params["publicIpId"]))


def update_public_ip(call: Call) -> Reply:
    public_ip_id = call.params["publicIpId"]
    before, after = _state(call).update_public_ip(public_ip_id, _details(call), call.headers.get("if-match"))
    call.audit(public_ip_id, before, after)
    return _reply(call, after)


def get_public_ip_by_private_ip_id(call: Call) -> Reply:
    private_ip_id = _required(_details(call), "privateIpId")
    return _reply(call, _state(call).public_ip_by_private_ip_id(private_ip_id))


def get_public_ip_by_ip_address(call: Call) -> Reply:
    ip_address = _required(_details(call), "ipAddress")
    return _reply(call, _state(call).public_ip_by_address(ip_address))


def get_ipv6(call: Call) -> Reply:
    return _reply(call, ipv6.ipv6(_state(call), call.params["ipv6Id"]))


def list_ipv6s(call: Call) -> Reply:
    q = call.query
    return paginate(
        ipv6.list_ipv6s(
            _state(call),
            vnic_id=q.get("vnicId"),
            subnet_id=q.get("subnetId"),
            ip_address=q.get("ipAddress"),
            ip_state=q.get("ipState"),
            lifetime=q.get("lifetime"),
        ),
        q,
    )


def update_ipv6(call: Call) -> Reply:
    ipv6_id = call.params["ipv6Id"]
    before, after = ipv6.update_ipv6(_state(call), ipv6_id, _details(call), call.headers.get("if-match"))
    call.audit(ipv6_id, before, after)
    return _reply(call, after)


def create_ipv6(call: Call) -> Reply:
    created = ipv6.create_ipv6(_state(call), _details(call), call.backend.clock.iso_now())
    call.audit(created["id"], None, created)
    return _reply(call, created)


def delete_ipv6(call: Call) -> Reply:
    ipv6_id = call.params["ipv6Id"]
    before = ipv6.delete_ipv6(_state(call), ipv6_id, call.headers.get("if-match"))
    call.audit(ipv6_id, before, None)
    return Reply(status=204)


def get_route_table(call: Call) -> Reply:
    return _reply(call, routing.route_table(_state(call), call.params["rtId"]))


def list_route_tables(call: Call) -> Reply:
    q = call.query
    return paginate(
        routing.list_route_tables(
            _state(call),
            compartment_id=_required(dict(q), "compartmentId"),
            vcn_id=q.get("vcnId"),
            display_name=q.get("displayName"),
            lifecycle_state=q.get("lifecycleState"),
            sort_by=q.get("sortBy"),
            sort_order=q.get("sortOrder"),
        ),
        q,
    )


def get_next_hops(call: Call) -> Reply:
    """Admin: where each rule of a route table delivers now (the lab routes its client subnet so)."""
    return Reply(routing.next_hops(_state(call), call.params["rtId"]))
