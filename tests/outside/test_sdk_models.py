"""Every response body of every OCI route, checked against the oci SDK model of its operation.

A route added without an entry here fails `test_every_signed_route_is_checked`, so no answer
escapes the check. Bodies are fetched over raw HTTP (signed by the SDK's own signer) because the
SDK's deserialiser would hide unknown fields.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from ocisim import Emulator
from ocisim.clock import iso
from tests.support.clients import SignedSession
from tests.support.sdk_models import problems
from tests.support.topology import MULTI_TOPOLOGY, two_node

V1 = "/20160918"
MON = "/20180401"
ONS = "/20181201"
FN = "/20260325"
HC = "/20180501"
OS = "/n/{namespace}"

# OCI answers these 202 Accepted (the work goes on after the answer).
ACCEPTED = {"PublishMessage": 202}

# Routes whose answer is not an SDK model, and why.
NOT_MODELLED = {
    "InvokeFunction": "the body is the function's own bytes",
    "DeletePrivateIp": "204 with no body (checked in test_delete_private_ip_answers_204_without_body)",
    "DeleteIpv6": "204 with no body (checked in test_delete_ipv6_answers_204_without_body)",
    "DeleteSubscription": "204 with no body (checked in test_delete_subscription_answers_204_and_lists_it_deleted)",
    "X509Federation": "the auth service's {'token'} answer, read by oci.auth.federation_client, not a model",
    "PutObject": "no body: its answer is headers (etag, opc-content-md5), checked in test_objectstorage.py",
    "GetObject": "the body is the object's own bytes; its headers are checked in tests/emulator/test_objectstorage.py",
    "HeadObject": "no body: its answer is headers, checked in tests/emulator/test_objectstorage.py",
    "DeleteObject": "204 with no body, checked in tests/emulator/test_objectstorage.py",
}

# A probe round on a loopback port with no listener ends at once (connection refused).
PROBE_RESULT_WAIT_SECONDS = 10.0


def _ids(topology: dict[str, Any]) -> dict[str, str]:
    a, _b = topology["instances"]
    return {
        "compartment": topology["compartments"][0]["id"],
        "vip": topology["privateIps"][0]["id"],
        "vnic": a["vnics"][0]["id"],
        "attachment": a["vnics"][0]["attachmentId"],
        "instance": a["id"],
        "subnet": topology["subnets"][0]["id"],
        "public": topology["publicIps"][0]["id"],
        "address": topology["publicIps"][0]["ipAddress"],
        "alarm": topology["alarms"][0]["id"],
        "topic": topology["topics"][0]["topicId"],
        "function": topology["functions"][0]["id"],
        "application": topology["functions"][0]["applicationId"],
        "namespace": topology["objectStorage"]["namespace"],
        "bucket": topology["objectStorage"]["buckets"][0]["name"],
    }


def _monitor_details(compartment: str) -> dict[str, Any]:
    """A monitor of loopback port 9 (nothing listens): the emulator probes only loopback and the lab."""
    return {
        "compartmentId": compartment,
        "targets": ["127.0.0.1"],
        "protocol": "HTTP",
        "port": 9,
        "path": "/",
        "displayName": f"sdk-model-{uuid.uuid4().hex[:8]}",
        "intervalInSeconds": 60,
    }


def _new_monitor(emulator: Emulator, compartment: str) -> str:
    created = SignedSession(emulator).request("POST", f"{HC}/httpMonitors", body=_monitor_details(compartment))
    assert created.status_code == 200, created.text
    return created.json()["id"]


def _probed_monitor(emulator: Emulator, compartment: str) -> str:
    """A monitor whose first round (run at once on creation) has left results, waited for with a bound."""
    monitor_id, session = _new_monitor(emulator, compartment), SignedSession(emulator)
    deadline = time.monotonic() + PROBE_RESULT_WAIT_SECONDS
    while not session.request("GET", f"{HC}/httpProbeResults/{monitor_id}").json():
        assert time.monotonic() < deadline, "the monitor's first probe round left no result"
        time.sleep(0.05)
    return monitor_id


def _metric(compartment: str) -> Callable[[Emulator], dict[str, Any]]:
    """PostMetricData's body, stamped when it is sent (the emulator refuses old datapoints)."""
    return lambda emulator: {
        "metricData": [
            {
                "namespace": "vip_failover",
                "compartmentId": compartment,
                "name": "target_up",
                "dimensions": {"node": "node-a", "role": "node", "resourceId": "r"},
                "datapoints": [{"timestamp": emulator.clock.iso_now(), "value": 1}],
            }
        ]
    }


def _put_object(emulator: Emulator, i: dict[str, str]) -> str:
    """An object in the topology's bucket, so a listing has an entry to check."""
    name = f"sdk-model-{uuid.uuid4().hex[:8]}"
    path = OS.format(namespace=i["namespace"]) + f"/b/{i['bucket']}/o/{name}"
    put = SignedSession(emulator).request("PUT", path, body="some bytes")
    assert put.status_code == 200, put.text
    return name


def _after(_made: str, path: str) -> str:
    """`path`, once what its answer must list has been made."""
    return path


# operation -> (method, path, query, body, SDK package, SDK response type); a callable path or body
# is computed against the emulator when the case runs (creating first what the answer shows).
def cases(topology: dict[str, Any]) -> dict[str, tuple]:
    i = _ids(topology)

    def summarize(emulator: Emulator) -> dict[str, Any]:
        """A datapoint is written first, so the summary has something to show."""
        posted = SignedSession(emulator).request("POST", f"{MON}/metrics", body=_metric(i["compartment"])(emulator))
        assert posted.json()["failedMetricsCount"] == 0
        end = emulator.clock.now() + 120
        return {
            "namespace": "vip_failover",
            "query": "target_up[1m].max()",
            "startTime": iso(end - 600),
            "endTime": iso(end),
        }

    return {
        "ListPrivateIps": ("GET", f"{V1}/privateIps", {"vnicId": i["vnic"]}, None, "core", "list[PrivateIp]"),
        "GetPrivateIp": ("GET", f"{V1}/privateIps/{i['vip']}", {}, None, "core", "PrivateIp"),
        "UpdatePrivateIp": ("PUT", f"{V1}/privateIps/{i['vip']}", {}, {"displayName": "vip"}, "core", "PrivateIp"),
        "CreatePrivateIp": ("POST", f"{V1}/privateIps", {}, {"vnicId": i["vnic"]}, "core", "PrivateIp"),
        "GetVnic": ("GET", f"{V1}/vnics/{i['vnic']}", {}, None, "core", "Vnic"),
        "ListVnicAttachments": (
            "GET",
            f"{V1}/vnicAttachments",
            {"compartmentId": i["compartment"]},
            None,
            "core",
            "list[VnicAttachment]",
        ),
        "GetVnicAttachment": ("GET", f"{V1}/vnicAttachments/{i['attachment']}", {}, None, "core", "VnicAttachment"),
        "GetInstance": ("GET", f"{V1}/instances/{i['instance']}", {}, None, "core", "Instance"),
        "GetPublicIp": ("GET", f"{V1}/publicIps/{i['public']}", {}, None, "core", "PublicIp"),
        "UpdatePublicIp": (
            "PUT",
            f"{V1}/publicIps/{i['public']}",
            {},
            {"displayName": "vip-public"},
            "core",
            "PublicIp",
        ),
        "GetPublicIpByPrivateIpId": (
            "POST",
            f"{V1}/publicIps/actions/getByPrivateIpId",
            {},
            {"privateIpId": i["vip"]},
            "core",
            "PublicIp",
        ),
        "GetPublicIpByIpAddress": (
            "POST",
            f"{V1}/publicIps/actions/getByIpAddress",
            {},
            {"ipAddress": i["address"]},
            "core",
            "PublicIp",
        ),
        "PostMetricData": (
            "POST",
            f"{MON}/metrics",
            {},
            _metric(i["compartment"]),
            "monitoring",
            "PostMetricDataResponseDetails",
        ),
        "SummarizeMetricsData": (
            "POST",
            f"{MON}/metrics/actions/summarizeMetricsData",
            {"compartmentId": i["compartment"]},
            summarize,
            "monitoring",
            "list[MetricData]",
        ),
        "GetAlarm": ("GET", f"{MON}/alarms/{i['alarm']}", {}, None, "monitoring", "Alarm"),
        "UpdateAlarm": ("PUT", f"{MON}/alarms/{i['alarm']}", {}, {"severity": "CRITICAL"}, "monitoring", "Alarm"),
        "ListAlarms": (
            "GET",
            f"{MON}/alarms",
            {"compartmentId": i["compartment"]},
            None,
            "monitoring",
            "list[AlarmSummary]",
        ),
        "ListAlarmsStatus": (
            "GET",
            f"{MON}/alarms/status",
            {"compartmentId": i["compartment"]},
            None,
            "monitoring",
            "list[AlarmStatusSummary]",
        ),
        "GetAlarmHistory": (
            "GET",
            f"{MON}/alarms/{i['alarm']}/history",
            {},
            None,
            "monitoring",
            "AlarmHistoryCollection",
        ),
        "GetTopic": ("GET", f"{ONS}/topics/{i['topic']}", {}, None, "ons", "NotificationTopic"),
        "ListSubscriptions": (
            "GET",
            f"{ONS}/subscriptions",
            {"compartmentId": i["compartment"]},
            None,
            "ons",
            "list[SubscriptionSummary]",
        ),
        "PublishMessage": (
            "POST",
            f"{ONS}/topics/{i['topic']}/messages",
            {},
            {"body": "hello"},
            "ons",
            "PublishResult",
        ),
        "GetFunction": ("GET", f"{FN}/functions/{i['function']}", {}, None, "functions", "Function"),
        "ListFunctions": (
            "GET",
            f"{FN}/functions",
            {"applicationId": i["application"]},
            None,
            "functions",
            "list[FunctionSummary]",
        ),
        "GetApplication": ("GET", f"{FN}/applications/{i['application']}", {}, None, "functions", "Application"),
        "CreateHttpMonitor": (
            "POST",
            f"{HC}/httpMonitors",
            {},
            _monitor_details(i["compartment"]),
            "healthchecks",
            "HttpMonitor",
        ),
        "GetHttpMonitor": (
            "GET",
            lambda emulator: f"{HC}/httpMonitors/{_new_monitor(emulator, i['compartment'])}",
            {},
            None,
            "healthchecks",
            "HttpMonitor",
        ),
        "ListHttpMonitors": (
            "GET",
            lambda emulator: _after(_new_monitor(emulator, i["compartment"]), f"{HC}/httpMonitors"),
            {"compartmentId": i["compartment"]},
            None,
            "healthchecks",
            "list[HttpMonitorSummary]",
        ),
        "ListHealthChecksVantagePoints": (
            "GET",
            f"{HC}/vantagePoints",
            {},
            None,
            "healthchecks",
            "list[HealthChecksVantagePointSummary]",
        ),
        "ListHttpProbeResults": (
            "GET",
            lambda emulator: f"{HC}/httpProbeResults/{_probed_monitor(emulator, i['compartment'])}",
            {},
            None,
            "healthchecks",
            "list[HttpProbeResultSummary]",
        ),
        "GetNamespace": ("GET", "/n", {}, None, "object_storage", "str"),
        "CreateBucket": (
            "POST",
            OS.format(namespace=i["namespace"]) + "/b",
            {},
            lambda _emulator: {"name": f"sdk-model-{uuid.uuid4().hex[:8]}", "compartmentId": i["compartment"]},
            "object_storage",
            "Bucket",
        ),
        "GetBucket": (
            "GET",
            OS.format(namespace=i["namespace"]) + f"/b/{i['bucket']}",
            {},
            None,
            "object_storage",
            "Bucket",
        ),
        "ListObjects": (
            "GET",
            lambda emulator: _after(
                _put_object(emulator, i), OS.format(namespace=i["namespace"]) + f"/b/{i['bucket']}/o"
            ),
            {},
            None,
            "object_storage",
            "ListObjects",
        ),
        "ListApplications": (
            "GET",
            f"{FN}/applications",
            {"compartmentId": i["compartment"]},
            None,
            "functions",
            "list[ApplicationSummary]",
        ),
    }


def multi_cases(topology: dict[str, Any]) -> dict[str, tuple]:
    """The operations only multi.json has something to answer for: IPv6 and route tables."""
    [vip6], [table], [subnet] = topology["ipv6s"], topology["routeTables"], topology["subnets"]
    node_b = topology["instances"][1]["vnics"][0]["id"]
    compartment = topology["compartments"][0]["id"]
    return {
        "GetIpv6": ("GET", f"{V1}/ipv6/{vip6['id']}", {}, None, "core", "Ipv6"),
        "ListIpv6s": ("GET", f"{V1}/ipv6", {"subnetId": subnet["id"]}, None, "core", "list[Ipv6]"),
        "UpdateIpv6": ("PUT", f"{V1}/ipv6/{vip6['id']}", {}, {"displayName": "vip6"}, "core", "Ipv6"),
        "CreateIpv6": ("POST", f"{V1}/ipv6", {}, {"vnicId": node_b}, "core", "Ipv6"),
        "GetRouteTable": ("GET", f"{V1}/routeTables/{table['id']}", {}, None, "core", "RouteTable"),
        "ListRouteTables": (
            "GET",
            f"{V1}/routeTables",
            {"compartmentId": compartment, "vcnId": table["vcnId"]},
            None,
            "core",
            "list[RouteTable]",
        ),
    }


@pytest.fixture(scope="module")
def multi_emulator() -> Iterator[Emulator]:
    with Emulator.start(topology=MULTI_TOPOLOGY, state=None) as emu:
        yield emu


def test_every_signed_route_is_checked(shared_emulator: Emulator, topology: dict[str, Any]) -> None:
    signed = {operation for operation, auth in shared_emulator.operations().items() if auth == "signature"}
    checked = set(cases(topology)) | set(multi_cases(two_node(MULTI_TOPOLOGY))) | set(NOT_MODELLED)
    assert signed - checked == set(), "routes without an SDK model check"
    assert checked - signed - {"X509Federation"} == set(), "checks of routes that are not served"


@pytest.mark.parametrize("operation", sorted(cases(two_node())))
def test_answer_matches_the_sdk_model(operation: str, shared_emulator: Emulator, topology: dict[str, Any]) -> None:
    check_answer(shared_emulator, operation, cases(topology)[operation])


@pytest.mark.parametrize("operation", sorted(multi_cases(two_node(MULTI_TOPOLOGY))))
def test_multi_answer_matches_the_sdk_model(operation: str, multi_emulator: Emulator) -> None:
    check_answer(multi_emulator, operation, multi_cases(two_node(MULTI_TOPOLOGY))[operation])


def check_answer(emulator: Emulator, operation: str, case: tuple) -> None:
    method, path, query, body, package, type_name = case
    if callable(path):
        path = path(emulator)
    if callable(body):
        body = body(emulator)

    answer = SignedSession(emulator).request(method, path, body=body, **query)

    assert answer.status_code == ACCEPTED.get(operation, 200), answer.text
    assert answer.headers["opc-request-id"]
    payload = answer.json()
    assert payload, "an empty answer checks nothing"
    assert problems(payload, type_name, package) == []
    is_resource = type_name[0].isupper() and not type_name.endswith("Collection")
    if method == "GET" and is_resource and type_name != "ListObjects":
        assert answer.headers.get("etag"), f"{operation} answers without an etag"


def test_delete_private_ip_answers_204_without_body(shared_emulator: Emulator, topology: dict[str, Any]) -> None:
    session = SignedSession(shared_emulator)
    created = session.request("POST", f"{V1}/privateIps", body={"vnicId": _ids(topology)["vnic"]}).json()

    deleted = session.request("DELETE", f"{V1}/privateIps/{created['id']}")

    assert (deleted.status_code, deleted.content) == (204, b"")
    assert session.request("GET", f"{V1}/privateIps/{created['id']}").status_code == 404


def test_delete_ipv6_answers_204_without_body(multi_emulator: Emulator) -> None:
    session = SignedSession(multi_emulator)
    node_b = two_node(MULTI_TOPOLOGY)["instances"][1]["vnics"][0]["id"]
    created = session.request("POST", f"{V1}/ipv6", body={"vnicId": node_b}).json()

    deleted = session.request("DELETE", f"{V1}/ipv6/{created['id']}")

    assert (deleted.status_code, deleted.content) == (204, b"")
    assert session.request("GET", f"{V1}/ipv6/{created['id']}").status_code == 404


def test_delete_subscription_answers_204_and_lists_it_deleted(emulator: Emulator, topology: dict[str, Any]) -> None:
    session = SignedSession(emulator)
    [subscription] = topology["subscriptions"]

    deleted = session.request("DELETE", f"{ONS}/subscriptions/{subscription['id']}")

    assert (deleted.status_code, deleted.content) == (204, b"")
    listed = session.request("GET", f"{ONS}/subscriptions", compartmentId=subscription["compartmentId"]).json()
    assert [s["lifecycleState"] for s in listed] == ["DELETED"]
    assert problems(listed, "list[SubscriptionSummary]", "ons") == []
    assert session.request("DELETE", f"{ONS}/subscriptions/{subscription['id']}").status_code == 404


def test_the_checker_catches_what_it_is_for() -> None:
    """A missing required field, an unknown field and a value outside an enum are each caught."""
    found = problems({"id": "x", "lifecycleState": "SLEEPING", "colour": "red"}, "Vnic", "core")
    assert "$.colour: not a field of Vnic" in found
    assert "$.compartmentId: required by Vnic but missing" in found
    assert "$.lifecycleState: 'SLEEPING' is not an allowed value of Vnic.lifecycle_state" in found
    assert problems(
        [{"sourceDetails": {"sourceType": "CONTAINER_IMAGE", "image": 1}}], "list[FunctionSummary]", "functions"
    ) == ["$[0].id: required by FunctionSummary but missing", "$[0].sourceDetails.image: expected str, got int 1"]
