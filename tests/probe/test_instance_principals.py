"""InstancePrincipalsSecurityTokenSigner, unmodified, against the emulator's IMDS and X.509
federation: the node agent authenticates as its instance, and forgeries are refused."""

from __future__ import annotations

import base64
import datetime as dt

import jwt
import oci
import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from health_probe.names import NAMES
from ocisim import Emulator
from tests.support.health_servers import MonitorUriServer
from tests.support.node_agent import agent_config, make_agent, summarize


@pytest.fixture
def node_a_metadata(emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> str:
    base = f"{emulator.endpoint}/imds/node-a/opc/v2"
    monkeypatch.setenv("OCI_METADATA_BASE_URL", base)
    return base


def test_signer_gets_an_instance_token_and_signed_calls_are_accepted(emulator: Emulator, node_a_metadata: str) -> None:
    signer = oci.auth.signers.InstancePrincipalsSecurityTokenSigner(federation_endpoint=f"{emulator.endpoint}/v1/x509")
    assert (signer.region, signer.tenancy_id) == (emulator.region, emulator.tenancy_id)
    claims = jwt.decode(signer.federation_client.get_security_token(), options={"verify_signature": False})
    node_a = next(i for i in emulator.topology["instances"] if i["displayName"] == "node-a")
    assert (claims["sub"], claims["ptype"], claims["res_tenant"]) == (node_a["id"], "instance", emulator.tenancy_id)
    # The token signs calls the emulator accepts: a call outside the nodes' policy is refused by
    # IAM (404, as OCI answers), not by authentication (401).
    compute = oci.core.ComputeClient({"region": signer.region}, signer=signer, service_endpoint=emulator.endpoint)
    with pytest.raises(oci.exceptions.ServiceError) as refused:
        compute.get_instance(node_a["id"])
    assert (refused.value.status, refused.value.code) == (404, "NotAuthorizedOrNotFound")


def test_agent_posts_with_instance_principals(
    emulator: Emulator, node_a_metadata: str, health_servers: dict[str, MonitorUriServer]
) -> None:
    raw = agent_config(
        emulator,
        health_servers,
        "node-a",
        auth="instance_principal",
        oci_config_file="",
        federation_endpoint=f"{emulator.endpoint}/v1/x509",
    )
    make_agent(emulator, raw).run_round()
    assert len(summarize(emulator, f"{NAMES.metric_up}[1m].max()")) == 3


def test_metadata_needs_the_bearer_header(emulator: Emulator, node_a_metadata: str) -> None:
    assert requests.get(f"{node_a_metadata}/identity/key.pem", timeout=5).status_code == 401
    answer = requests.get(f"{node_a_metadata}/instance/region", headers={"Authorization": "Bearer Oracle"}, timeout=5)
    assert (answer.status_code, answer.text) == (200, emulator.region)


def test_federation_refuses_a_certificate_it_did_not_issue(emulator: Emulator) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, f"opc-tenant:{emulator.tenancy_id}")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    fingerprint = ":".join(f"{b:02X}" for b in cert.fingerprint(hashes.SHA1()))
    signer = oci.signer.Signer(
        emulator.tenancy_id,
        "fed-x509",
        fingerprint,
        None,
        private_key_content=key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode(),
    )
    der = base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()
    public = base64.b64encode(
        key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    ).decode()
    answer = requests.post(
        f"{emulator.endpoint}/v1/x509", json={"certificate": der, "publicKey": public}, auth=signer, timeout=5
    )
    assert answer.status_code == 401 and answer.json()["code"] == "NotAuthenticated"
