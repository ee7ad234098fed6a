"""Which permissions a verb grants on a resource-type, as OCI's policy reference tables say.

Pure data. The level of access is cumulative (inspect < read < use < manage): `granted("use",
"private-ips")` is everything `inspect` and `read` hold plus what `use` adds. Sources: "Details
for the Core Services" (verb + resource-type tables and "Permissions Required for Each API
Operation"), "Details for Monitoring", "Details for Notifications", "Details for Functions",
"Details for Object Storage".

One inconsistency in OCI's own pages, resolved here: the Core `vnics` table does not list
VNIC_ASSIGN / VNIC_UNASSIGN under `use`, but the API table says UpdatePrivateIp needs them, the
`private-ips` table says UpdatePrivateIp "also needs use vnics", and the Roving Edge copy of the
`vnics` table lists both under `use`. So `use vnics` holds them.

`ipv6s` follows the same split as OCI's guidance for it: `use ipv6s` moves an address between
VNICs (IPV6_UPDATE; UpdateIpv6 also needs VNIC_ASSIGN / VNIC_UNASSIGN from `use vnics`, as
UpdatePrivateIp does), creating and deleting one takes `manage ipv6s`.
"""

from __future__ import annotations

VERBS = ("inspect", "read", "use", "manage")

# resource-type -> verb -> the permissions that verb adds to the one below it
INCREMENTS: dict[str, dict[str, frozenset[str]]] = {
    "private-ips": {
        "inspect": frozenset({"PRIVATE_IP_READ"}),
        "use": frozenset(
            {
                "PRIVATE_IP_UPDATE",
                "PRIVATE_IP_ASSIGN",
                "PRIVATE_IP_UNASSIGN",
                "PRIVATE_IP_CREATE",
                "PRIVATE_IP_DELETE",
                "PRIVATE_IP_ASSIGN_PUBLIC_IP",
                "PRIVATE_IP_UNASSIGN_PUBLIC_IP",
            }
        ),
        "manage": frozenset({"PRIVATE_IP_ROUTE_TABLE_ATTACH", "PRIVATE_IP_ROUTE_TABLE_DETACH"}),
    },
    "public-ips": {
        "read": frozenset({"PUBLIC_IP_READ"}),
        "use": frozenset({"PUBLIC_IP_ASSIGN_PRIVATE_IP", "PUBLIC_IP_UNASSIGN_PRIVATE_IP"}),
        "manage": frozenset({"PUBLIC_IP_UPDATE", "PUBLIC_IP_CREATE", "PUBLIC_IP_DELETE"}),
    },
    "vnics": {
        "inspect": frozenset({"VNIC_READ"}),
        "use": frozenset(
            {
                "VNIC_ATTACH",
                "VNIC_DETACH",
                "VNIC_CREATE",
                "VNIC_DELETE",
                "VNIC_UPDATE",
                "VNIC_ASSIGN",
                "VNIC_UNASSIGN",
                "VNIC_ASSOCIATE_NETWORK_SECURITY_GROUP",
                "VNIC_DISASSOCIATE_NETWORK_SECURITY_GROUP",
            }
        ),
    },
    "ipv6s": {
        "inspect": frozenset({"IPV6_READ"}),
        "use": frozenset({"IPV6_UPDATE"}),
        "manage": frozenset({"IPV6_CREATE", "IPV6_DELETE"}),
    },
    "route-tables": {
        "inspect": frozenset({"ROUTE_TABLE_READ"}),
        "manage": frozenset(
            {
                "ROUTE_TABLE_ATTACH",
                "ROUTE_TABLE_DETACH",
                "ROUTE_TABLE_UPDATE",
                "ROUTE_TABLE_CREATE",
                "ROUTE_TABLE_DELETE",
                "ROUTE_TABLE_MOVE",
            }
        ),
    },
    "vnic-attachments": {
        "inspect": frozenset({"VNIC_ATTACHMENT_READ"}),
    },
    "subnets": {
        "inspect": frozenset({"SUBNET_READ"}),
        "use": frozenset({"SUBNET_ATTACH", "SUBNET_DETACH"}),
        "manage": frozenset({"SUBNET_CREATE", "SUBNET_UPDATE", "SUBNET_DELETE", "SUBNET_MOVE"}),
    },
    "instances": {
        "inspect": frozenset({"INSTANCE_INSPECT"}),
        "read": frozenset({"INSTANCE_READ"}),
        "use": frozenset(
            {
                "INSTANCE_UPDATE",
                "INSTANCE_CREATE_IMAGE",
                "INSTANCE_POWER_ACTIONS",
                "INSTANCE_ATTACH_VOLUME",
                "INSTANCE_DETACH_VOLUME",
            }
        ),
        "manage": frozenset(
            {
                "INSTANCE_CREATE",
                "INSTANCE_DELETE",
                "INSTANCE_ATTACH_SECONDARY_VNIC",
                "INSTANCE_DETACH_SECONDARY_VNIC",
                "INSTANCE_MOVE",
            }
        ),
    },
    "metrics": {
        "inspect": frozenset({"METRIC_INSPECT"}),
        "read": frozenset({"METRIC_READ"}),
        "use": frozenset({"METRIC_WRITE"}),
    },
    "alarms": {
        "inspect": frozenset({"ALARM_INSPECT"}),
        "read": frozenset({"ALARM_READ"}),
        "manage": frozenset({"ALARM_CREATE", "ALARM_UPDATE", "ALARM_DELETE", "ALARM_MOVE"}),
    },
    "ons-topics": {
        "inspect": frozenset({"ONS_TOPIC_INSPECT"}),
        "read": frozenset({"ONS_TOPIC_READ"}),
        "use": frozenset({"ONS_TOPIC_PUBLISH", "ONS_TOPIC_SUBSCRIBE"}),
        "manage": frozenset({"ONS_TOPIC_CREATE", "ONS_TOPIC_MOVE", "ONS_TOPIC_UPDATE", "ONS_TOPIC_DELETE"}),
    },
    "ons-subscriptions": {
        "inspect": frozenset({"ONS_SUBSCRIPTION_INSPECT"}),
        "manage": frozenset({"ONS_SUBSCRIPTION_MOVE", "ONS_TOPIC_SUBSCRIBE"}),
    },
    "fn-invocation": {
        "use": frozenset({"FN_INVOCATION"}),
    },
    "objects": {
        "inspect": frozenset({"OBJECT_INSPECT"}),
        "read": frozenset({"OBJECT_READ"}),
        "use": frozenset({"OBJECT_OVERWRITE"}),
        "manage": frozenset(
            {"OBJECT_CREATE", "OBJECT_DELETE", "OBJECT_RESTORE", "OBJECT_UPDATE_TIER", "OBJECT_VERSION_DELETE"}
        ),
    },
    "buckets": {
        "inspect": frozenset({"BUCKET_INSPECT"}),
        "read": frozenset({"BUCKET_READ"}),
        "use": frozenset({"BUCKET_UPDATE"}),
        "manage": frozenset(
            {"BUCKET_CREATE", "BUCKET_DELETE", "PAR_MANAGE", "RETENTION_RULE_MANAGE", "RETENTION_RULE_LOCK"}
        ),
    },
    "objectstorage-namespaces": {
        "read": frozenset({"OBJECTSTORAGE_NAMESPACE_READ"}),
        "manage": frozenset({"OBJECTSTORAGE_NAMESPACE_UPDATE"}),
    },
}

# An aggregate resource-type is its members, verb for verb (only the members modelled above).
FAMILIES: dict[str, tuple[str, ...]] = {
    "virtual-network-family": (
        "private-ips",
        "public-ips",
        "ipv6s",
        "route-tables",
        "vnics",
        "vnic-attachments",
        "subnets",
    ),
    "object-family": ("objectstorage-namespaces", "buckets", "objects"),
}


class UnknownResourceType(ValueError):
    """OCI refuses a policy naming a resource-type it does not know; so does the emulator."""


def granted(verb: str, resource_type: str) -> frozenset[str]:
    """Every permission `<verb> <resource_type>` holds."""
    if resource_type in FAMILIES:
        return frozenset().union(*(granted(verb, member) for member in FAMILIES[resource_type]))
    if resource_type not in INCREMENTS:
        raise UnknownResourceType(f"unknown resource-type {resource_type!r}")
    levels = VERBS[: VERBS.index(verb) + 1]
    return frozenset().union(*(INCREMENTS[resource_type].get(level, frozenset()) for level in levels))
