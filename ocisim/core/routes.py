"""Core Services 20160918 paths, as the `oci` SDK's VirtualNetworkClient and ComputeClient send them."""

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
    Route("POST", f"{BASE}/publicIps/actions/getByPrivateIpId", "GetPublicIpByPrivateIpId",
          h.get_public_ip_by_private_ip_id),
    Route("POST", f"{BASE}/publicIps/actions/getByIpAddress", "GetPublicIpByIpAddress",
          h.get_public_ip_by_ip_address),
]
