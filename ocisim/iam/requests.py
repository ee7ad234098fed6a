"""What an API call asks for: each permission it needs, on which compartment, with which
`target.*` variables, per OCI's "Permissions Required for Each API Operation" tables.

OCI authorises against the *target* resource: GetPrivateIp needs PRIVATE_IP_READ in the
compartment that holds that private IP, UpdatePrivateIp moving it also needs VNIC_UNASSIGN on
the VNIC it leaves and VNIC_ASSIGN on the VNIC it joins (each in its own compartment), and
PostMetricData needs METRIC_WRITE for every (compartment, namespace) in the batch. So the
requirements are computed from the request and the current state (read under the backend lock).

A target that does not exist yields no requirement: the handler then answers 404
NotAuthorizedOrNotFound, the same answer OCI gives, so nothing leaks. A malformed body yields
only what can be read from the path: the handler refuses the body with its own 400.
An operation missing from OPERATIONS is refused for every restricted principal (fail closed).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

Resource = Mapping[str, Any]


@dataclass(frozen=True)
class Requirement:
    permission: str
    compartment_id: str
    resource_id: str | None = None
    variables: Mapping[str, str] = field(default_factory=dict)  # target.* for conditions


@dataclass(frozen=True)
class Request:
    """The parts of a call that name its targets, and read-only views of the state."""

    params: Mapping[str, str]
    query: Mapping[str, str]
    body: bytes
    core: Any  # ocisim.core.models.CoreState
    functions: Mapping[str, Resource]  # function OCID -> function (topology shape)
    services: Mapping[str, Any] = field(default_factory=dict)  # every service's state, by name

    @property
    def objectstorage(self) -> Any:
        """ocisim.objectstorage.models.ObjectStorageState, when the emulator serves it."""
        return self.services.get("objectstorage")

    def json_object(self) -> Mapping[str, Any]:
        try:
            value = json.loads(self.body or b"null")
        except ValueError:
            return {}
        return value if isinstance(value, dict) else {}


def _on(
    permissions: tuple[str, ...], resource: Resource | None, variables: Mapping[str, str] | None = None
) -> list[Requirement]:
    if resource is None:
        return []
    return [Requirement(p, resource["compartmentId"], resource.get("id"), dict(variables or {})) for p in permissions]


def _public_ip(public: Resource | None) -> list[Requirement]:
    """Reserved public IPs are public-ips; ephemeral ones are governed by private-ips."""
    if public is None:
        return []
    permission = "PUBLIC_IP_READ" if public.get("lifetime") == "RESERVED" else "PRIVATE_IP_READ"
    return _on((permission,), public)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def get_private_ip(r: Request) -> list[Requirement]:
    return _on(("PRIVATE_IP_READ",), r.core.private_ips.get(r.params["privateIpId"]))


def _list_scope(r: Request) -> Resource | None:
    """The VNIC or subnet a ListPrivateIps / ListIpv6s is scoped by."""
    return r.core.vnics.get(r.query.get("vnicId", "")) or r.core.subnets.get(r.query.get("subnetId", ""))


def list_private_ips(r: Request) -> list[Requirement]:
    return _on(("PRIVATE_IP_READ",), _list_scope(r))


def _update(r: Request, address: Resource | None, permission: str) -> list[Requirement]:
    """The update permission on the address; a move (a new `vnicId` in the body) also needs
    VNIC_UNASSIGN on the VNIC it leaves and VNIC_ASSIGN on the VNIC it joins."""
    if address is None:
        return []
    needed = _on((permission,), address)
    target = _text(r.json_object().get("vnicId"))
    if target is not None and target != address["vnicId"]:
        needed += _on(("VNIC_UNASSIGN",), r.core.vnics.get(address["vnicId"]))
        needed += _on(("VNIC_ASSIGN",), r.core.vnics.get(target))
    return needed


def update_private_ip(r: Request) -> list[Requirement]:
    return _update(r, r.core.private_ips.get(r.params["privateIpId"]), "PRIVATE_IP_UPDATE")


def create_private_ip(r: Request) -> list[Requirement]:
    vnic = r.core.vnics.get(_text(r.json_object().get("vnicId")) or "")
    if vnic is None:
        return []
    return (
        _on(("PRIVATE_IP_CREATE", "PRIVATE_IP_ASSIGN"), r.core.subnets.get(vnic["subnetId"]))
        + _on(("VNIC_ASSIGN",), vnic)
        + _on(("SUBNET_ATTACH",), r.core.subnets.get(vnic["subnetId"]))
    )


def delete_private_ip(r: Request) -> list[Requirement]:
    private_ip = r.core.private_ips.get(r.params["privateIpId"])
    if private_ip is None:
        return []
    return (
        _on(("PRIVATE_IP_DELETE", "PRIVATE_IP_UNASSIGN"), private_ip)
        + _on(("VNIC_UNASSIGN",), r.core.vnics.get(private_ip["vnicId"]))
        + _on(("SUBNET_DETACH",), r.core.subnets.get(private_ip["subnetId"]))
    )


def get_ipv6(r: Request) -> list[Requirement]:
    return _on(("IPV6_READ",), r.core.ipv6s.get(r.params["ipv6Id"]))


def list_ipv6s(r: Request) -> list[Requirement]:
    return _on(("IPV6_READ",), _list_scope(r))


def update_ipv6(r: Request) -> list[Requirement]:
    return _update(r, r.core.ipv6s.get(r.params["ipv6Id"]), "IPV6_UPDATE")


def create_ipv6(r: Request) -> list[Requirement]:
    vnic = r.core.vnics.get(_text(r.json_object().get("vnicId")) or "")
    if vnic is None:
        return []
    return _on(("IPV6_CREATE",), r.core.subnets.get(vnic["subnetId"])) + _on(("VNIC_ASSIGN",), vnic)


def delete_ipv6(r: Request) -> list[Requirement]:
    address = r.core.ipv6s.get(r.params["ipv6Id"])
    if address is None:
        return []
    return _on(("IPV6_DELETE",), address) + _on(("VNIC_UNASSIGN",), r.core.vnics.get(address["vnicId"]))


def get_route_table(r: Request) -> list[Requirement]:
    return _on(("ROUTE_TABLE_READ",), r.core.route_tables.get(r.params["rtId"]))


def list_route_tables(r: Request) -> list[Requirement]:
    compartment_id = r.query.get("compartmentId")
    return [Requirement("ROUTE_TABLE_READ", compartment_id)] if compartment_id else []


def get_vnic_attachment(r: Request) -> list[Requirement]:
    return _on(("VNIC_ATTACHMENT_READ",), r.core.vnic_attachments.get(r.params["vnicAttachmentId"]))


def get_vnic(r: Request) -> list[Requirement]:
    return _on(("VNIC_READ",), r.core.vnics.get(r.params["vnicId"]))


def list_vnic_attachments(r: Request) -> list[Requirement]:
    compartment_id = r.query.get("compartmentId")
    if not compartment_id:
        return []
    return [Requirement("VNIC_ATTACHMENT_READ", compartment_id), Requirement("INSTANCE_INSPECT", compartment_id)]


def get_instance(r: Request) -> list[Requirement]:
    return _on(("INSTANCE_READ",), r.core.instances.get(r.params["instanceId"]))


def get_public_ip(r: Request) -> list[Requirement]:
    return _public_ip(r.core.public_ips.get(r.params["publicIpId"]))


def update_public_ip(r: Request) -> list[Requirement]:
    """Renaming needs PUBLIC_IP_UPDATE; moving a reserved IP off or onto a private IP also the
    private IP's PRIVATE_IP_UNASSIGN_PUBLIC_IP / PRIVATE_IP_ASSIGN_PUBLIC_IP."""
    public = r.core.public_ips.get(r.params.get("publicIpId", ""))
    if public is None:
        return []
    needed = _on(("PUBLIC_IP_UPDATE",), public)
    details = r.json_object()
    if "privateIpId" in details:
        if public.get("privateIpId"):
            needed += _on(("PRIVATE_IP_UNASSIGN_PUBLIC_IP",), r.core.private_ips.get(public["privateIpId"]))
        target = _text(details.get("privateIpId"))
        if target:
            needed += _on(("PRIVATE_IP_ASSIGN_PUBLIC_IP",), r.core.private_ips.get(target))
    return needed


def get_public_ip_by_private_ip_id(r: Request) -> list[Requirement]:
    private_ip_id = _text(r.json_object().get("privateIpId"))
    return _public_ip(r.core.public_ip_of(private_ip_id) if private_ip_id else None)


def get_public_ip_by_ip_address(r: Request) -> list[Requirement]:
    address = _text(r.json_object().get("ipAddress"))
    return _public_ip(next((p for p in r.core.public_ips.values() if p["ipAddress"] == address), None))


def post_metric_data(r: Request) -> list[Requirement]:
    data = r.json_object().get("metricData")
    targets = {
        (d["compartmentId"], d["namespace"])
        for d in (data if isinstance(data, list) else [])
        if isinstance(d, dict) and isinstance(d.get("compartmentId"), str) and isinstance(d.get("namespace"), str)
    }
    return [
        Requirement("METRIC_WRITE", compartment, variables={"target.metrics.namespace": namespace})
        for compartment, namespace in sorted(targets)
    ]


def summarize_metrics_data(r: Request) -> list[Requirement]:
    compartment_id, namespace = r.query.get("compartmentId"), _text(r.json_object().get("namespace"))
    if not compartment_id or namespace is None:
        return []
    variables = {"target.metrics.namespace": namespace}
    return [
        Requirement("METRIC_INSPECT", compartment_id, variables=variables),
        Requirement("METRIC_READ", compartment_id, variables=variables),
    ]


def _topic(r: Request, topic_id: str | None) -> Resource | None:
    notifications = r.services.get("notifications")
    return notifications.topics.get(topic_id or "") if notifications is not None else None


def _alarm(r: Request) -> Resource | None:
    monitoring = r.services.get("monitoring")
    alarm = monitoring.alarms.get(r.params.get("alarmId", "")) if monitoring is not None else None
    return {"compartmentId": alarm.spec.compartment_id, "id": alarm.spec.id} if alarm is not None else None


def publish_message(r: Request) -> list[Requirement]:
    return _on(("ONS_TOPIC_PUBLISH",), _topic(r, r.params.get("topicId")))


def get_topic(r: Request) -> list[Requirement]:
    return _on(("ONS_TOPIC_READ",), _topic(r, r.params.get("topicId")))


def list_subscriptions(r: Request) -> list[Requirement]:
    compartment_id = r.query.get("compartmentId")
    return [Requirement("ONS_SUBSCRIPTION_INSPECT", compartment_id)] if compartment_id else []


def delete_subscription(r: Request) -> list[Requirement]:
    notifications = r.services.get("notifications")
    if notifications is None:
        return []
    subscription = notifications.subscriptions.get(r.params.get("subscriptionId", ""))
    return _on(("ONS_TOPIC_SUBSCRIBE",), subscription)


def get_alarm(r: Request) -> list[Requirement]:
    return _on(("ALARM_READ",), _alarm(r))


def update_alarm(r: Request) -> list[Requirement]:
    return _on(("ALARM_UPDATE",), _alarm(r))


def invoke_function(r: Request) -> list[Requirement]:
    function_id = r.params["functionId"]
    return _on(("FN_INVOCATION",), r.functions.get(function_id), {"target.function.id": function_id})


# --- Object Storage ("Details for Object Storage": `inspect objects` lists and HEADs, `read
# objects` downloads; PutObject needs OBJECT_CREATE, and OBJECT_OVERWRITE to replace one). The
# variables: target.bucket.name for buckets and objects, target.object.name for objects.


def _in_bucket(r: Request, permissions: tuple[str, ...], *, with_object: bool = False) -> list[Requirement]:
    state = r.objectstorage
    if state is None or r.params.get("namespaceName") != state.namespace:
        return []
    bucket = state.buckets.get(r.params.get("bucketName", ""))
    if bucket is None:
        return []
    variables = {"target.bucket.name": bucket.name}
    if with_object:
        variables["target.object.name"] = r.params.get("objectName", "")
    return [Requirement(p, bucket.compartment_id, bucket.id, variables) for p in permissions]


def get_namespace(r: Request) -> list[Requirement]:
    return []  # OCI's table: GetNamespace needs no permission; any authenticated caller may ask


def create_bucket(r: Request) -> list[Requirement]:
    details = r.json_object()
    compartment_id, name = _text(details.get("compartmentId")), _text(details.get("name"))
    if not compartment_id or name is None:
        return []
    return [Requirement("BUCKET_CREATE", compartment_id, variables={"target.bucket.name": name})]


def get_bucket(r: Request) -> list[Requirement]:
    return _in_bucket(r, ("BUCKET_READ",))


def list_objects(r: Request) -> list[Requirement]:
    return _in_bucket(r, ("OBJECT_INSPECT",))


def head_object(r: Request) -> list[Requirement]:
    return _in_bucket(r, ("OBJECT_INSPECT",), with_object=True)


def get_object(r: Request) -> list[Requirement]:
    return _in_bucket(r, ("OBJECT_READ",), with_object=True)


def put_object(r: Request) -> list[Requirement]:
    objects = r.objectstorage.objects.get(r.params.get("bucketName"), {}) if r.objectstorage is not None else {}
    replacing = r.params.get("objectName") in objects
    return _in_bucket(r, ("OBJECT_CREATE", "OBJECT_OVERWRITE") if replacing else ("OBJECT_CREATE",), with_object=True)


def delete_object(r: Request) -> list[Requirement]:
    return _in_bucket(r, ("OBJECT_DELETE",), with_object=True)


OPERATIONS: dict[str, Callable[[Request], list[Requirement]]] = {
    "GetPrivateIp": get_private_ip,
    "ListPrivateIps": list_private_ips,
    "UpdatePrivateIp": update_private_ip,
    "CreatePrivateIp": create_private_ip,
    "DeletePrivateIp": delete_private_ip,
    "GetIpv6": get_ipv6,
    "ListIpv6s": list_ipv6s,
    "UpdateIpv6": update_ipv6,
    "CreateIpv6": create_ipv6,
    "DeleteIpv6": delete_ipv6,
    "GetRouteTable": get_route_table,
    "ListRouteTables": list_route_tables,
    "GetVnicAttachment": get_vnic_attachment,
    "GetVnic": get_vnic,
    "ListVnicAttachments": list_vnic_attachments,
    "GetInstance": get_instance,
    "GetPublicIp": get_public_ip,
    "UpdatePublicIp": update_public_ip,
    "GetPublicIpByPrivateIpId": get_public_ip_by_private_ip_id,
    "GetPublicIpByIpAddress": get_public_ip_by_ip_address,
    "PostMetricData": post_metric_data,
    "SummarizeMetricsData": summarize_metrics_data,
    "InvokeFunction": invoke_function,
    "GetNamespace": get_namespace,
    "CreateBucket": create_bucket,
    "GetBucket": get_bucket,
    "ListObjects": list_objects,
    "HeadObject": head_object,
    "GetObject": get_object,
    "PutObject": put_object,
    "DeleteObject": delete_object,
    "PublishMessage": publish_message,
    "GetTopic": get_topic,
    "ListSubscriptions": list_subscriptions,
    "DeleteSubscription": delete_subscription,
    "GetAlarm": get_alarm,
    "UpdateAlarm": update_alarm,
}
