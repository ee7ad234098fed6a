"""Instance metadata (IMDS v2) as tools read it: the instance document, single keys, the VNICs."""

from __future__ import annotations

import requests

from ocisim import Emulator
from tests.support.topology import Topology

ORACLE = {"Authorization": "Bearer Oracle"}


def imds(
    emulator: Emulator, node: str, path: str, headers: dict[str, str] | None = ORACLE, version: str = "v2"
) -> requests.Response:
    return requests.get(f"{emulator.endpoint}/imds/{node}/opc/{version}/{path}", headers=headers, timeout=5)


def test_vnics_lists_the_primary_vnic_as_ocivip_reads_it(emulator: Emulator, topo: Topology) -> None:
    answer = imds(emulator, "node-b", "vnics/")

    assert answer.status_code == 200
    [vnic] = answer.json()
    assert vnic == {
        "vnicId": topo.vnic_b,
        "privateIp": "10.0.0.3",
        "vlanTag": 0,
        "macAddr": "02:00:17:00:00:03",
        "virtualRouterIp": "10.0.0.1",
        "subnetCidrBlock": "10.0.0.0/25",
        "nicIndex": 0,
    }


def test_single_keys_answer_text_and_objects_json(emulator: Emulator, topo: Topology) -> None:
    assert imds(emulator, "node-a", "instance/id").text == topo.instance_a
    assert imds(emulator, topo.instance_a, "instance/region").text == "us-ashburn-1"
    assert imds(emulator, "node-a", "instance/faultDomain").text == "FAULT-DOMAIN-1"
    assert imds(emulator, "node-a", "instance/shapeConfig").json()["ocpus"] == 1.0
    document = imds(emulator, "node-a", "instance/").json()
    assert (document["id"], document["displayName"], document["canonicalRegionName"]) == (
        topo.instance_a,
        "node-a",
        "us-ashburn-1",
    )
    assert imds(emulator, "node-a", "instance/noSuchKey").status_code == 404


def test_v1_and_requests_without_the_bearer_header_are_refused(emulator: Emulator) -> None:
    assert imds(emulator, "node-a", "vnics/", headers=None).status_code == 401
    assert imds(emulator, "node-a", "instance/id", headers={"Authorization": "Bearer Other"}).status_code == 401
    legacy = imds(emulator, "node-a", "instance/id", version="v1")
    assert (legacy.status_code, legacy.json()["code"]) == (404, "NotFound")
    assert imds(emulator, "node-z", "vnics/").status_code == 404
