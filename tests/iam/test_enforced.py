"""The deployed policies (terraform/modules/controller/iam.tf), enforced by the emulator, through the real SDK:
what the function and the nodes need is allowed, the rest is 404 NotAuthorizedOrNotFound."""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable
from typing import Any

import oci
import pytest

from health_probe.names import NAMES
from ocisim import Emulator
from tests.support.iam import OTHER_FUNCTION, Ids, clients, node_signer


def refused(call: Callable[[], Any]) -> oci.exceptions.ServiceError:
    with pytest.raises(oci.exceptions.ServiceError) as caught:
        call()
    assert (caught.value.status, caught.value.code) == (404, "NotAuthorizedOrNotFound")
    return caught.value


def move(net: Any, vip: str, vnic: str, etag: str | None = None) -> Any:
    return net.update_private_ip(vip, oci.core.models.UpdatePrivateIpDetails(vnic_id=vnic), if_match=etag)


def metric(compartment: str, namespace: str) -> Any:
    return oci.monitoring.models.PostMetricDataDetails(
        metric_data=[
            oci.monitoring.models.MetricDataDetails(
                namespace=namespace,
                compartment_id=compartment,
                name=NAMES.metric_up,
                dimensions={"node": "node-a"},
                datapoints=[oci.monitoring.models.Datapoint(timestamp=dt.datetime.now(dt.UTC), value=1.0)],
            )
        ]
    )


def denials(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    return [r.fields for r in caplog.records if r.getMessage() == "authorization denied"]


def test_the_function_can_read_and_move_the_vip_and_read_its_public_ip(
    iam_emulator: Emulator, function_signer: Any, ids: Ids
) -> None:
    net, _ = clients(iam_emulator, function_signer)
    etag = net.get_private_ip(ids.vip).headers["etag"]

    moved = move(net, ids.vip, ids.vnic_b, etag)
    assert moved.data.vnic_id is None  # a move's answer is not the final object (see test_update_response)
    assert net.get_private_ip(ids.vip).data.vnic_id == ids.vnic_b
    public = net.get_public_ip_by_private_ip_id(
        oci.core.models.GetPublicIpByPrivateIpIdDetails(private_ip_id=ids.vip)
    ).data
    assert public.private_ip_id == ids.vip
    [entry] = iam_emulator.audit()
    assert entry["principal"]["id"] == ids.function


def test_the_function_is_refused_what_no_statement_grants(
    iam_emulator: Emulator, function_signer: Any, ids: Ids, caplog: pytest.LogCaptureFixture
) -> None:
    net, compute = clients(iam_emulator, function_signer)
    caplog.set_level(logging.INFO, logger="ocisim")

    refused(lambda: compute.get_instance(ids.instance_a))
    refused(lambda: compute.list_vnic_attachments(compartment_id=ids.compartment))
    # GetVnic is granted (VNIC_READ, the doctor's subnet check); creating a private IP is not.
    refused(lambda: net.create_private_ip(oci.core.models.CreatePrivateIpDetails(vnic_id=ids.vnic_a)))

    assert [(d["operation"], d["permission"]) for d in denials(caplog)] == [
        ("GetInstance", "INSTANCE_READ"),
        ("ListVnicAttachments", "VNIC_ATTACHMENT_READ"),
        ("CreatePrivateIp", "PRIVATE_IP_CREATE"),
    ]


def test_the_function_cannot_move_the_vip_to_a_vnic_in_another_compartment(
    iam_emulator: Emulator, function_signer: Any, ids: Ids, caplog: pytest.LogCaptureFixture
) -> None:
    net, _ = clients(iam_emulator, function_signer)
    caplog.set_level(logging.INFO, logger="ocisim")

    refused(lambda: move(net, ids.vip, ids.vnic_c))

    assert net.get_private_ip(ids.vip).data.vnic_id == ids.vnic_a
    assert iam_emulator.audit() == []
    [denial] = denials(caplog)
    assert (
        denial["principal"],
        denial["principal_kind"],
        denial["operation"],
        denial["permission"],
        denial["resource_id"],
    ) == (ids.function, "resource", "UpdatePrivateIp", "VNIC_ASSIGN", ids.vnic_c)
    line = json.dumps(denial)
    assert "ST$" not in line and "BEGIN" not in line and "eyJ" not in line  # no token, no key


def test_the_admin_api_key_is_not_restricted(iam_emulator: Emulator, ids: Ids) -> None:
    compute = oci.core.ComputeClient(iam_emulator.oci_config(), service_endpoint=iam_emulator.endpoint)
    assert compute.get_instance(ids.instance_a).data.display_name == "node-a"


def test_a_node_posts_its_metrics_but_only_in_the_probe_namespace(
    iam_emulator: Emulator, ids: Ids, monkeypatch: pytest.MonkeyPatch
) -> None:
    signer = node_signer(iam_emulator, "node-a", monkeypatch)
    monitoring = oci.monitoring.MonitoringClient(
        {"region": iam_emulator.region}, signer=signer, service_endpoint=iam_emulator.endpoint
    )

    assert monitoring.post_metric_data(metric(ids.compartment, NAMES.namespace)).data.failed_metrics_count == 0
    refused(lambda: monitoring.post_metric_data(metric(ids.compartment, "oci_computeagent")))


def test_a_node_cannot_move_the_vip_or_read_instances(
    iam_emulator: Emulator, ids: Ids, monkeypatch: pytest.MonkeyPatch
) -> None:
    net, compute = clients(iam_emulator, node_signer(iam_emulator, "node-a", monkeypatch))

    refused(lambda: move(net, ids.vip, ids.vnic_b))
    refused(lambda: compute.get_instance(ids.instance_a))
    assert iam_emulator.audit() == []


def test_an_instance_outside_the_dynamic_group_can_post_nothing(
    iam_emulator: Emulator, ids: Ids, monkeypatch: pytest.MonkeyPatch
) -> None:
    signer = node_signer(iam_emulator, "node-c", monkeypatch)
    monitoring = oci.monitoring.MonitoringClient(
        {"region": iam_emulator.region}, signer=signer, service_endpoint=iam_emulator.endpoint
    )
    refused(lambda: monitoring.post_metric_data(metric(ids.compartment, NAMES.namespace)))


def test_a_node_invokes_the_function_which_moves_the_vip_under_the_deployed_policies(
    iam_function_emulator: Emulator, ids: Ids, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The whole fast path with IAM on: node-a's instance principal -> InvokeFunction ->
    the function's resource principal -> GetPrivateIp, UpdatePrivateIp, GetPublicIpByPrivateIpId.
    node-a's health port refuses (down), node-b serves: node-b's MASTER notice moves the VIP."""
    signer = node_signer(iam_function_emulator, "node-a", monkeypatch)
    invoke = oci.functions.FunctionsInvokeClient(
        {"region": iam_function_emulator.region},
        signer=signer,
        service_endpoint=iam_function_emulator.endpoint,
        timeout=(5, 60),
    )
    body = json.dumps({"source": "keepalived", "node": "node-b", "state": "MASTER"})

    answer = json.loads(invoke.invoke_function(ids.function, invoke_function_body=body).data.text)

    assert (answer["decision"], answer["to"], answer["forced"]) == ("moved", "node-b", False), answer
    [write] = [e for e in iam_function_emulator.audit() if e["operation"] == "UpdatePrivateIp"]
    assert (write["principal"]["kind"], write["principal"]["id"]) == ("resource", ids.function)


def test_a_node_cannot_invoke_another_function_in_the_compartment(
    iam_emulator: Emulator, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """`where target.function.id = ...`: the grant names the failover function only."""
    signer = node_signer(iam_emulator, "node-a", monkeypatch)
    invoke = oci.functions.FunctionsInvokeClient(
        {"region": iam_emulator.region}, signer=signer, service_endpoint=iam_emulator.endpoint
    )
    caplog.set_level(logging.INFO, logger="ocisim")

    refused(lambda: invoke.invoke_function(OTHER_FUNCTION, invoke_function_body="{}"))

    assert [(d["operation"], d["permission"], d["resource_id"]) for d in denials(caplog)] == [
        ("InvokeFunction", "FN_INVOCATION", OTHER_FUNCTION)
    ]
