"""fast_path_mode = "direct" in the policies terraform deploys (terraform/modules/controller/iam.tf,
``var.fast_path_mode`` bound as the deployment sets it), enforced by the emulator, through a
node's real instance principal: in direct mode a node may read and move the floating IPs (IPv4
and IPv6) exactly as the events function may, and nothing the function may not, nor what only
the operators may; in function mode it may not touch them at all."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import oci
import pytest

from failover.announce import EVENTS_NAMESPACE
from ocisim import Emulator
from tests.iam.test_enforced import denials, metric, move, refused
from tests.support.iam import Ids, clients, iam_topology, node_signer
from tests.support.topology import MULTI_TOPOLOGY, read_multi, two_node

FORCED = json.dumps({"action": "failover", "to": "node-b", "force": True})


def emulator_in(tmp_path: Path, mode: str, topology: dict[str, Any]) -> Emulator:
    topology["iam"]["enabled"] = True
    topology["iam"]["bindings"]["var.fast_path_mode"] = mode
    path = tmp_path / f"topology-{mode}.json"
    path.write_text(json.dumps(topology))
    return Emulator.start(topology=path, state=None)


@pytest.fixture
def direct(tmp_path: Path) -> Iterator[Emulator]:
    with emulator_in(tmp_path, "direct", iam_topology()) as emu:
        yield emu


@pytest.fixture
def function_mode(tmp_path: Path) -> Iterator[Emulator]:
    with emulator_in(tmp_path, "function", iam_topology()) as emu:
        yield emu


def test_in_direct_mode_a_node_reads_and_moves_the_vip_with_if_match(
    direct: Emulator, ids: Ids, monkeypatch: pytest.MonkeyPatch
) -> None:
    net, _ = clients(direct, node_signer(direct, "node-b", monkeypatch))
    read = net.get_private_ip(ids.vip)
    assert read.data.vnic_id == ids.vnic_a
    move(net, ids.vip, ids.vnic_b, read.headers["etag"])
    assert net.get_private_ip(ids.vip).data.vnic_id == ids.vnic_b
    # The reserved public IP riding on it, as the function's answer reports it.
    details = oci.core.models.GetPublicIpByPrivateIpIdDetails(private_ip_id=ids.vip)
    assert net.get_public_ip_by_private_ip_id(details).data.private_ip_id == ids.vip
    [write] = direct.audit()
    node_b = next(i["id"] for i in iam_topology()["instances"] if i["displayName"] == "node-b")
    assert (write["operation"], write["principal"]["kind"], write["principal"]["id"]) == (
        "UpdatePrivateIp",
        "instance",
        node_b,
    )


def test_in_direct_mode_a_node_may_do_nothing_the_events_function_may_not(
    direct: Emulator, ids: Ids, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    signer = node_signer(direct, "node-a", monkeypatch)
    net, compute = clients(direct, signer)
    invoke = oci.functions.FunctionsInvokeClient(
        {"region": direct.region}, signer=signer, service_endpoint=direct.endpoint
    )
    monitoring = oci.monitoring.MonitoringClient(
        {"region": direct.region}, signer=signer, service_endpoint=direct.endpoint
    )
    caplog.set_level(logging.INFO, logger="ocisim")

    # Not the function's either: new or deleted private IPs, a VNIC in another compartment, instances.
    refused(lambda: net.create_private_ip(oci.core.models.CreatePrivateIpDetails(vnic_id=ids.vnic_a)))
    refused(lambda: net.delete_private_ip(ids.vip))
    refused(lambda: move(net, ids.vip, ids.vnic_c))
    refused(lambda: compute.get_instance(ids.instance_a))
    # The function's, but not for moving: the doctor's reads (alarms) and the failover events.
    refused(lambda: monitoring.get_alarm(direct.topology["alarms"][0]["id"]))
    refused(lambda: monitoring.post_metric_data(metric(ids.compartment, EVENTS_NAMESPACE)))
    topic = direct.topology["functions"][0]["config"]["EVENTS_TOPIC_ID"]
    ons = oci.ons.NotificationDataPlaneClient(
        {"region": direct.region}, signer=signer, service_endpoint=direct.endpoint
    )
    refused(lambda: ons.publish_message(topic, oci.ons.models.MessageDetails(body="moved", title="forged")))
    # The operators' only: a manual or forced move.
    refused(lambda: invoke.invoke_function(direct.functions["vip-failover-operator"], invoke_function_body=FORCED))

    assert [(d["operation"], d["permission"]) for d in denials(caplog)] == [
        ("CreatePrivateIp", "PRIVATE_IP_CREATE"),
        ("DeletePrivateIp", "PRIVATE_IP_DELETE"),
        ("UpdatePrivateIp", "VNIC_ASSIGN"),
        ("GetInstance", "INSTANCE_READ"),
        ("GetAlarm", "ALARM_READ"),
        ("PostMetricData", "METRIC_WRITE"),
        ("PublishMessage", "ONS_TOPIC_PUBLISH"),
        ("InvokeFunction", "FN_INVOCATION"),
    ]
    assert direct.audit() == []


def test_in_function_mode_a_node_cannot_read_or_move_the_vip(
    function_mode: Emulator, ids: Ids, monkeypatch: pytest.MonkeyPatch
) -> None:
    net, _ = clients(function_mode, node_signer(function_mode, "node-b", monkeypatch))
    refused(lambda: net.get_private_ip(ids.vip))
    refused(lambda: move(net, ids.vip, ids.vnic_b))
    details = oci.core.models.GetPublicIpByPrivateIpIdDetails(private_ip_id=ids.vip)
    refused(lambda: net.get_public_ip_by_private_ip_id(details))
    assert function_mode.audit() == []


@pytest.mark.parametrize("mode", ["direct", "function"])
def test_the_ipv6_vip_moves_by_a_node_only_in_direct_mode(
    mode: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """multi.json has an IPv6 floating IP, so iam.tf grants the nodes `use ipv6s` in direct mode."""
    multi = read_multi()
    with emulator_in(tmp_path, mode, two_node(MULTI_TOPOLOGY)) as emu:
        net, _ = clients(emu, node_signer(emu, "node-b", monkeypatch))
        details = oci.core.models.UpdateIpv6Details(vnic_id=multi.vnics["node-b"])
        if mode == "function":
            refused(lambda: net.get_ipv6(multi.vip6))
            refused(lambda: net.update_ipv6(multi.vip6, details))
            assert emu.audit() == []
            return
        net.update_ipv6(multi.vip6, details, if_match=net.get_ipv6(multi.vip6).headers["etag"])
        assert net.get_ipv6(multi.vip6).data.vnic_id == multi.vnics["node-b"]
        refused(lambda: net.delete_ipv6(multi.vip6))
        [write] = emu.audit()
        assert (write["operation"], write["principal"]["id"]) == ("UpdateIpv6", multi.instances["node-b"])
