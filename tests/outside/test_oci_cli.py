"""The oci command-line client's own commands against the emulator, as a user types them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import oci

from ocisim import Emulator
from tests.support.clients import oci_cli
from tests.support.paths import REPO


def _json(done: Any) -> Any:
    return json.loads(done.stdout)


def test_assign_and_unassign_a_new_secondary_ip(emulator: Emulator, topology: dict[str, Any], tmp_path: Path) -> None:
    vnic_b = topology["instances"][1]["vnics"][0]["id"]

    assigned = _json(
        oci_cli(
            emulator,
            "network",
            "vnic",
            "assign-private-ip",
            "--vnic-id",
            vnic_b,
            "--ip-address",
            "10.0.0.20",
            home=tmp_path,
        )
    )

    assert (assigned["data"]["ip-address"], assigned["data"]["vnic-id"]) == ("10.0.0.20", vnic_b)
    listed = _json(oci_cli(emulator, "network", "private-ip", "list", "--vnic-id", vnic_b, home=tmp_path))
    assert sorted(p["ip-address"] for p in listed["data"]) == ["10.0.0.20", "10.0.0.3"]

    done = oci_cli(
        emulator,
        "network",
        "vnic",
        "unassign-private-ip",
        "--vnic-id",
        vnic_b,
        "--ip-address",
        "10.0.0.20",
        home=tmp_path,
    )

    assert "Unassigned IP address 10.0.0.20" in done.stderr
    listed = _json(oci_cli(emulator, "network", "private-ip", "list", "--vnic-id", vnic_b, home=tmp_path))
    assert [p["ip-address"] for p in listed["data"]] == ["10.0.0.3"]
    assert [e["operation"] for e in emulator.audit()] == ["CreatePrivateIp", "DeletePrivateIp"]


def test_unassigning_the_vip_leaves_its_reserved_public_ip_unassigned_not_deleted(
    emulator: Emulator, topology: dict[str, Any], tmp_path: Path
) -> None:
    vnic_a = topology["instances"][0]["vnics"][0]["id"]
    public_id = topology["publicIps"][0]["id"]

    oci_cli(
        emulator,
        "network",
        "vnic",
        "unassign-private-ip",
        "--vnic-id",
        vnic_a,
        "--ip-address",
        "10.0.0.4",
        home=tmp_path,
    )

    public = _json(oci_cli(emulator, "network", "public-ip", "get", "--public-ip-id", public_id, home=tmp_path))
    assert (public["data"]["lifecycle-state"], public["data"]["private-ip-id"]) == ("AVAILABLE", None)
    assert public["data"]["ip-address"] == "203.0.113.10" and public["data"]["lifetime"] == "RESERVED"


def test_monitoring_alarm_list_and_status(emulator: Emulator, topology: dict[str, Any], tmp_path: Path) -> None:
    compartment = topology["compartments"][0]["id"]

    alarms = _json(
        oci_cli(emulator, "monitoring", "alarm", "list", "--compartment-id", compartment, "--all", home=tmp_path)
    )
    statuses = _json(
        oci_cli(
            emulator,
            "monitoring",
            "alarm-status",
            "list-alarms-status",
            "--compartment-id",
            compartment,
            "--all",
            home=tmp_path,
        )
    )

    assert sorted(a["id"] for a in alarms["data"]) == sorted(a["id"] for a in topology["alarms"])
    assert {s["status"] for s in statuses["data"]} == {"OK"}
    alarm = _json(
        oci_cli(emulator, "monitoring", "alarm", "get", "--alarm-id", topology["alarms"][0]["id"], home=tmp_path)
    )
    assert alarm["etag"] and alarm["data"]["time-created"] and alarm["data"]["time-updated"]


def test_notification_topic_points_at_the_emulator(
    emulator: Emulator, topology: dict[str, Any], tmp_path: Path
) -> None:
    topic = _json(
        oci_cli(emulator, "ons", "topic", "get", "--topic-id", topology["topics"][0]["topicId"], home=tmp_path)
    )

    assert topic["data"]["api-endpoint"] == emulator.endpoint
    assert topic["etag"] == topic["data"]["etag"]


def test_errors_follow_the_api_error_table(emulator: Emulator, topology: dict[str, Any]) -> None:
    """A body naming an unknown VNIC is 400 RelatedResourceNotAuthorizedOrNotFound; an unknown
    path is 404 NotFound and a wrong method 405 MethodNotAllowed; nothing changes."""
    vip = topology["privateIps"][0]["id"]
    config = oci.config.from_file(emulator.oci_config_file)
    net = oci.core.VirtualNetworkClient(config, service_endpoint=emulator.endpoint)
    client = oci.base_client.BaseClient(
        "core",
        config,
        oci.signer.Signer(config["tenancy"], config["user"], config["fingerprint"], config["key_file"]),
        {},
        service_endpoint=emulator.endpoint,
    )
    cases = [
        (
            lambda: net.update_private_ip(
                vip, oci.core.models.UpdatePrivateIpDetails(vnic_id="ocid1.vnic.oc1.iad.aaaaaaaanotavnic")
            ),
            400,
            "RelatedResourceNotAuthorizedOrNotFound",
        ),
        (lambda: client.call_api(resource_path="/20160918/nothingHere", method="GET"), 404, "NotFound"),
        (lambda: client.call_api(resource_path=f"/20160918/privateIps/{vip}", method="PATCH"), 405, "MethodNotAllowed"),
    ]
    for call, status, code in cases:
        try:
            call()
        except oci.exceptions.ServiceError as error:
            assert (error.status, error.code) == (status, code)
        else:
            raise AssertionError(f"expected {status} {code}")
    assert emulator.audit() == []


def test_fn_function_invoke_reads_the_invoke_endpoint_then_invokes(tmp_path: Path, topology: dict[str, Any]) -> None:
    function_id = topology["functions"][0]["id"]
    with Emulator.start(function_dir=REPO) as emu:
        got = _json(oci_cli(emu, "fn", "function", "get", "--function-id", function_id, home=tmp_path))
        assert got["data"]["invoke-endpoint"] == emu.endpoint

        out = tmp_path / "answer.json"
        oci_cli(
            emu,
            "fn",
            "function",
            "invoke",
            "--function-id",
            function_id,
            "--file",
            str(out),
            "--body",
            json.dumps({"action": "status"}),
            home=tmp_path,
        )

        answer = json.loads(out.read_text())
    assert answer["decision"] == "status"
    assert [e["operation"] for e in emu.audit()] == []


def test_ipv6_get_update_and_route_table_get_on_multi(tmp_path: Path) -> None:
    """`network ipv6 update` is the command that works for moving an IPv6 address (the CLI's
    `vnic assign-ipv6` does not move one); the route table shows its rule to vip-2."""
    topology_path = REPO / "ocisim" / "topologies" / "multi.json"
    topology = json.loads(topology_path.read_text())
    [vip6], [table] = topology["ipv6s"], topology["routeTables"]
    vnic_b = topology["instances"][1]["vnics"][0]["id"]
    with Emulator.start(topology=topology_path, state=None) as emulator:
        got = _json(oci_cli(emulator, "network", "ipv6", "get", "--ipv6-id", vip6["id"], home=tmp_path))
        assert (got["data"]["ip-address"], got["data"]["vnic-id"]) == (vip6["ipAddress"], vip6["vnicId"])

        moved = _json(
            oci_cli(
                emulator,
                "network",
                "ipv6",
                "update",
                "--ipv6-id",
                vip6["id"],
                "--vnic-id",
                vnic_b,
                "--if-match",
                got["etag"],
                "--force",
                home=tmp_path,
            )
        )
        stale = oci_cli(
            emulator,
            "network",
            "ipv6",
            "update",
            "--ipv6-id",
            vip6["id"],
            "--vnic-id",
            vnic_b,
            "--if-match",
            got["etag"],
            "--force",
            home=tmp_path,
            expect_ok=False,
        )
        listed = _json(oci_cli(emulator, "network", "ipv6", "list", "--vnic-id", vnic_b, home=tmp_path))
        rules = _json(oci_cli(emulator, "network", "route-table", "get", "--rt-id", table["id"], home=tmp_path))

        assert moved["data"]["vnic-id"] == vnic_b
        assert stale.returncode != 0 and "NoEtagMatch" in stale.stderr
        assert [i["id"] for i in listed["data"]] == [vip6["id"]]
        assert [r["network-entity-id"] for r in rules["data"]["route-rules"]] == [
            table["routeRules"][0]["networkEntityId"]
        ]
        assert [e["operation"] for e in emulator.audit()] == ["UpdateIpv6"]
