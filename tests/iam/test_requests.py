"""Pure units: what each call needs, from the request and the state (no server)."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from ocisim.core.models import seed
from ocisim.iam.requests import OPERATIONS, Request, Requirement
from tests.support.iam import OTHER_COMPARTMENT, iam_topology
from tests.support.junk import junk_bodies

TOPOLOGY = iam_topology()
CORE = seed(TOPOLOGY, "2026-01-01T00:00:00.000Z")
FUNCTIONS = {f["id"]: f for f in TOPOLOGY["functions"]}
COMPARTMENT = TOPOLOGY["compartments"][0]["id"]
VIP = TOPOLOGY["privateIps"][0]["id"]
VNICS = {i["displayName"]: i["vnics"][0]["id"] for i in TOPOLOGY["instances"]}


def needs(
    operation: str, params: dict | None = None, query: dict | None = None, body: object = None
) -> list[Requirement]:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return OPERATIONS[operation](Request(params or {}, query or {}, raw, CORE, FUNCTIONS))


def test_moving_the_vip_needs_update_here_unassign_there_and_assign_where_it_goes() -> None:
    moved = needs("UpdatePrivateIp", {"privateIpId": VIP}, body={"vnicId": VNICS["node-c"]})
    assert [(n.permission, n.compartment_id, n.resource_id) for n in moved] == [
        ("PRIVATE_IP_UPDATE", COMPARTMENT, VIP),
        ("VNIC_UNASSIGN", COMPARTMENT, VNICS["node-a"]),
        ("VNIC_ASSIGN", OTHER_COMPARTMENT, VNICS["node-c"]),
    ]


def test_renaming_the_vip_in_place_needs_only_the_update() -> None:
    renamed = needs("UpdatePrivateIp", {"privateIpId": VIP}, body={"displayName": "vip", "vnicId": VNICS["node-a"]})
    assert [n.permission for n in renamed] == ["PRIVATE_IP_UPDATE"]


def test_assigning_and_unassigning_a_secondary_ip_needs_what_oci_lists() -> None:
    """CreatePrivateIp / DeletePrivateIp per OCI's API-permission table (ocivip's start and stop)."""
    created = needs("CreatePrivateIp", body={"vnicId": VNICS["node-a"], "ipAddress": "10.0.0.20"})
    deleted = needs("DeletePrivateIp", {"privateIpId": VIP})

    assert sorted(n.permission for n in created) == [
        "PRIVATE_IP_ASSIGN",
        "PRIVATE_IP_CREATE",
        "SUBNET_ATTACH",
        "VNIC_ASSIGN",
    ]
    assert sorted(n.permission for n in deleted) == [
        "PRIVATE_IP_DELETE",
        "PRIVATE_IP_UNASSIGN",
        "SUBNET_DETACH",
        "VNIC_UNASSIGN",
    ]
    assert needs("CreatePrivateIp", body={"vnicId": "ocid1.vnic.oc1.iad.nosuch"}) == []


def test_a_reserved_public_ip_is_read_with_public_ip_read() -> None:
    [need] = needs("GetPublicIpByPrivateIpId", body={"privateIpId": VIP})
    assert (need.permission, need.compartment_id) == ("PUBLIC_IP_READ", COMPARTMENT)


def test_metrics_need_write_once_per_namespace_and_compartment() -> None:
    datum = {"compartmentId": COMPARTMENT, "name": "target_up", "datapoints": []}
    batch = {
        "metricData": [
            dict(datum, namespace="vip_failover"),
            dict(datum, namespace="vip_failover"),
            dict(datum, namespace="other"),
        ]
    }
    assert [(n.permission, n.variables["target.metrics.namespace"]) for n in needs("PostMetricData", body=batch)] == [
        ("METRIC_WRITE", "other"),
        ("METRIC_WRITE", "vip_failover"),
    ]


def test_a_missing_target_needs_nothing_so_the_handler_answers_404() -> None:
    assert needs("GetPrivateIp", {"privateIpId": "ocid1.privateip.oc1.iad.nosuch"}) == []
    assert needs("InvokeFunction", {"functionId": "ocid1.fnfunc.oc1.iad.nosuch"}) == []


@settings(max_examples=200, deadline=None)
@given(
    operation=st.sampled_from(sorted(OPERATIONS)),
    body=junk_bodies(
        ["vnicId", "privateIpId", "ipAddress", "metricData", "namespace", "compartmentId"],
        max_bytes=64,
        max_text=8,
        max_keys=3,
        max_leaves=8,
    ),
)
def test_any_body_gives_requirements_never_an_exception(operation: str, body: bytes) -> None:
    params = {
        "privateIpId": VIP,
        "vnicId": VNICS["node-a"],
        "instanceId": TOPOLOGY["instances"][0]["id"],
        "publicIpId": TOPOLOGY["publicIps"][0]["id"],
        "functionId": TOPOLOGY["functions"][0]["id"],
        "vnicAttachmentId": TOPOLOGY["instances"][0]["vnics"][0]["attachmentId"],
        "ipv6Id": "ocid1.ipv6.oc1.iad.aaaaaaaanotinthistopology",
        "rtId": "ocid1.routetable.oc1.iad.aaaaaaaanotinthistopology",
    }
    for need in needs(operation, params, {"compartmentId": COMPARTMENT, "vnicId": VNICS["node-a"]}, body):
        assert need.permission.isupper() and isinstance(need.compartment_id, str)


def test_object_storage_needs_the_bucket_compartment_and_names_the_bucket() -> None:
    from ocisim.objectstorage.models import seed as seed_objects

    store = seed_objects(TOPOLOGY, "user", 0.0)
    bucket = TOPOLOGY["objectStorage"]["buckets"][0]["name"]
    params = {"namespaceName": store.namespace, "bucketName": bucket, "objectName": "node-agent/node-a.yaml"}

    def object_needs(operation: str, given: dict) -> list[tuple[str, str, dict]]:
        found = OPERATIONS[operation](Request(given, {}, b"", CORE, FUNCTIONS, {"objectstorage": store}))
        return [(n.permission, n.compartment_id, dict(n.variables)) for n in found]

    target = {"target.bucket.name": bucket, "target.object.name": "node-agent/node-a.yaml"}
    assert object_needs("GetObject", params) == [("OBJECT_READ", COMPARTMENT, target)]
    assert object_needs("HeadObject", params) == [("OBJECT_INSPECT", COMPARTMENT, target)]
    assert object_needs("PutObject", params) == [("OBJECT_CREATE", COMPARTMENT, target)]
    store.put_object(
        store.namespace,
        bucket,
        params["objectName"],
        b"x",
        content_type="x",
        content_md5=None,
        if_match=None,
        if_none_match=None,
        now=0.0,
    )
    assert [p for p, _, _ in object_needs("PutObject", params)] == ["OBJECT_CREATE", "OBJECT_OVERWRITE"]
    assert object_needs("ListObjects", dict(params, objectName="")) == [
        ("OBJECT_INSPECT", COMPARTMENT, {"target.bucket.name": bucket})
    ]
    assert object_needs("GetNamespace", {}) == []
    assert object_needs("GetObject", dict(params, bucketName="no-such-bucket")) == []
    assert object_needs("GetObject", dict(params, namespaceName="elsewhere")) == []
