"""Core Services 20160918 paths, as the `oci` SDK's VirtualNetworkClient and ComputeClient send them
(the Ipv6 API's path is singular, `/ipv6`, as the SDK sends it)."""

from ocisim.core import handlers as h
from ocisim.service import Route

BASE = "/20160918"

ROUTES = [
    Route("GET", f"{BASE}/privateIps", "ListPrivateIps", h.list_private_ips),
    Route("GET", f"{BASE}/privateIps/{{privateIpId}}", "GetPrivateIp", h.get_private_ip),
    Route("PUT", f"{BASE}/privateIps/{{privateIpId}}", "UpdatePrivateIp", h.update_private_ip),
    Route("POST", f"{BASE}/privateIps", "CreatePrivateIp", h.create_private_ip),
    Route("DELETE", f"{BASE}/privateIps/{{privateIpId}}", "DeletePrivateIp", h.delete_private_ip),
    Route("GET", f"{BASE}/vnics/{{vnicId}}", "GetVnic", h.get_vnic),
    Route("GET", f"{BASE}/vnicAttachments", "ListVnicAttachments", h.list_vnic_attachments),
    Route("GET", f"{BASE}/vnicAttachments/{{vnicAttachmentId}}", "GetVnicAttachment", h.get_vnic_attachment),
    Route("GET", f"{BASE}/instances/{{instanceId}}", "GetInstance", h.get_instance),
    Route("GET", f"{BASE}/publicIps/{{publicIpId}}", "GetPublicIp", h.get_public_ip),
    Route("PUT", f"{BASE}/publicIps/{{publicIpId}}", "UpdatePublicIp", h.update_public_ip),
    Route(
        "POST",
        f"{BASE}/publicIps/actions/getByPrivateIpId",
        "GetPublicIpByPrivateIpId",
        h.get_public_ip_by_private_ip_id,
    ),
    Route("POST", f"{BASE}/publicIps/actions/getByIpAddress", "GetPublicIpByIpAddress", h.get_public_ip_by_ip_address),
    Route("GET", f"{BASE}/ipv6", "ListIpv6s", h.list_ipv6s),
    Route("GET", f"{BASE}/ipv6/{{ipv6Id}}", "GetIpv6", h.get_ipv6),
    Route("PUT", f"{BASE}/ipv6/{{ipv6Id}}", "UpdateIpv6", h.update_ipv6),
    Route("POST", f"{BASE}/ipv6", "CreateIpv6", h.create_ipv6),
    Route("DELETE", f"{BASE}/ipv6/{{ipv6Id}}", "DeleteIpv6", h.delete_ipv6),
    Route("GET", f"{BASE}/routeTables", "ListRouteTables", h.list_route_tables),
    Route("GET", f"{BASE}/routeTables/{{rtId}}", "GetRouteTable", h.get_route_table),
    # Not an OCI operation: the effective next hops, for the lab (loopback and lab clients only).
    Route("GET", "/_sim/route-tables/{rtId}/next-hops", "SimGetRouteNextHops", h.get_next_hops, auth="admin"),
]
