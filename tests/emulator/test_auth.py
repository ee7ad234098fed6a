"""Only correctly signed requests get through: API keys, resource principals, forged tokens."""

from __future__ import annotations

import time

import oci
import pytest
import requests

from ocisim import Emulator
from ocisim.auth import Keyring, new_private_key, private_pem
from tests.support.clients import move
from tests.support.topology import Topology


def assert_not_authenticated(response: requests.Response) -> None:
    assert response.status_code == 401
    assert response.json()["code"] == "NotAuthenticated"
    assert response.headers["opc-request-id"]


def test_unsigned_request_is_401(emulator: Emulator, topo: Topology) -> None:
    response = requests.get(f"{emulator.endpoint}/20160918/privateIps/{topo.vip_id}", timeout=5)
    assert_not_authenticated(response)


def test_request_signed_with_another_key_is_401(emulator: Emulator, config, tmp_path, topo: Topology) -> None:
    """Same user and fingerprint in the keyId, but the signature comes from a different key."""
    wrong_key = tmp_path / "wrong.pem"
    wrong_key.write_text(private_pem(new_private_key()))
    client = oci.core.VirtualNetworkClient(dict(config, key_file=str(wrong_key)), service_endpoint=emulator.endpoint)
    with pytest.raises(oci.exceptions.ServiceError) as caught:
        client.get_private_ip(topo.vip_id)
    assert (caught.value.status, caught.value.code) == (401, "NotAuthenticated")


def test_body_changed_after_signing_is_401(emulator: Emulator, config, net, topo: Topology) -> None:
    """x-content-sha256 is signed; a body swapped in transit no longer matches it."""
    signer = oci.signer.Signer(config["tenancy"], config["user"], config["fingerprint"], config["key_file"])
    url = f"{emulator.endpoint}/20160918/privateIps/{topo.vip_id}"
    honest = f'{{"vnicId": "{topo.vnic_a}"}}'.encode()
    prepared = requests.Request("PUT", url, data=honest, headers={"content-type": "application/json"}).prepare()
    signer(prepared)
    prepared.body = f'{{"vnicId": "{topo.vnic_b}"}}'.encode()  # same length, different VNIC

    with requests.Session() as session:
        assert_not_authenticated(session.send(prepared, timeout=5))
    assert net.get_private_ip(topo.vip_id).data.vnic_id == topo.vnic_a
    assert emulator.audit() == []


def test_resource_principal_signer_works_and_is_audited(
    emulator: Emulator, monkeypatch, tmp_path, topo: Topology
) -> None:
    for name, value in emulator.resource_principal_env(topo.function_id, tmp_path).items():
        monkeypatch.setenv(name, value)
    signer = oci.auth.signers.get_resource_principals_signer()
    assert signer.tenancy_id == emulator.tenancy_id and signer.compartment_id == emulator.compartment_id
    net = oci.core.VirtualNetworkClient({"region": emulator.region}, signer=signer, service_endpoint=emulator.endpoint)

    move(net, topo.vip_id, topo.vnic_b, net.get_private_ip(topo.vip_id).headers["etag"])

    [entry] = emulator.audit()
    assert entry["principal"] == {
        "kind": "resource",
        "id": topo.function_id,
        "tenancy_id": emulator.tenancy_id,
        "compartment_id": emulator.compartment_id,
    }


def test_session_token_not_issued_by_the_emulator_is_401(
    emulator: Emulator, monkeypatch, tmp_path, topo: Topology
) -> None:
    forger = Keyring.new()
    session_key = new_private_key()
    token = forger.issue_session_token(
        topo.function_id,
        session_key.public_key(),
        ptype="resource",
        tenancy_id=emulator.tenancy_id,
        compartment_id=emulator.compartment_id,
    )
    (tmp_path / "rpst").write_text(token)
    (tmp_path / "key.pem").write_text(private_pem(session_key))
    monkeypatch.setenv("OCI_RESOURCE_PRINCIPAL_VERSION", "2.2")
    monkeypatch.setenv("OCI_RESOURCE_PRINCIPAL_RPST", str(tmp_path / "rpst"))
    monkeypatch.setenv("OCI_RESOURCE_PRINCIPAL_PRIVATE_PEM", str(tmp_path / "key.pem"))
    monkeypatch.setenv("OCI_RESOURCE_PRINCIPAL_REGION", emulator.region)
    net = oci.core.VirtualNetworkClient(
        {"region": emulator.region},
        signer=oci.auth.signers.get_resource_principals_signer(),
        service_endpoint=emulator.endpoint,
    )
    with pytest.raises(oci.exceptions.ServiceError) as caught:
        net.get_private_ip(topo.vip_id)
    assert (caught.value.status, caught.value.code) == (401, "NotAuthenticated")


def test_expired_resource_principal_token_is_401_until_the_files_are_rotated(
    emulator: Emulator, monkeypatch, tmp_path, topo: Topology
) -> None:
    for name, value in emulator.resource_principal_env(topo.function_id, tmp_path, ttl_seconds=2).items():
        monkeypatch.setenv(name, value)
    net = oci.core.VirtualNetworkClient(
        {"region": emulator.region},
        signer=oci.auth.signers.get_resource_principals_signer(),
        service_endpoint=emulator.endpoint,
    )
    assert net.get_private_ip(topo.vip_id).status == 200
    time.sleep(3.2)  # expiry plus the verifier's 1 s leeway

    with pytest.raises(oci.exceptions.ServiceError) as caught:
        net.get_private_ip(topo.vip_id)
    assert (caught.value.status, caught.value.code) == (401, "NotAuthenticated")

    emulator.resource_principal_env(topo.function_id, tmp_path)  # the runtime rotates the files
    assert net.get_private_ip(topo.vip_id).status == 200
