"""Instance metadata (IMDS v2) and the X.509 federation endpoint, as the SDK calls them.

``InstancePrincipalsSecurityTokenSigner`` (oci/auth/signers/instance_principals_security_token_signer.py)
reads, under ``OCI_METADATA_BASE_URL`` and with ``Authorization: Bearer Oracle``:
``/instance/region``, ``/identity/cert.pem``, ``/identity/key.pem``, ``/identity/intermediate.pem``;
then X509FederationClient POSTs ``{"certificate", "publicKey", "intermediateCertificates"}``
(base64 DER, PEM armour stripped) to ``<federation endpoint>/v1/x509``, signed with the leaf
key under keyId ``<tenancy>/fed-x509/<SHA1 fingerprint>``, and expects ``{"token": JWT}``.

One emulator serves every instance, so the metadata base carries the instance:
``OCI_METADATA_BASE_URL=<endpoint>/imds/<instance name or OCID>/opc/v2``. Besides the identity
documents it serves what tools read from IMDS v2: ``/instance/`` (the instance document),
``/instance/<key>`` (one key of it), and ``/vnics/`` (the instance's VNICs, which the
ClusterLabs ``ocivip`` agent reads). The legacy v1 paths answer 404, as on an instance with
legacy endpoints disabled (the default for new instances).
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.hashes import SHA1

from ocisim.auth import parse_authorization, signing_string, verify_rsa_signature
from ocisim.errors import InvalidParameter, NotAuthenticated, NotFound, not_found
from ocisim.identity.models import IdentityState, Instance
from ocisim.service import Call, Reply

FEDERATION_PATH = "/v1/x509"
TOKEN_TTL_SECONDS = 1200.0  # OCI's instance-principal tokens last about 20 minutes


def _instance(call: Call) -> Instance:
    """The instance whose metadata service this is; IMDS v2 insists on the Bearer header."""
    if call.headers.get("authorization") != "Bearer Oracle":
        raise NotAuthenticated("IMDS v2 requires the header 'Authorization: Bearer Oracle'")
    state: IdentityState = call.state
    instance = state.find(call.params["instance"])
    if instance is None:
        raise not_found("Instance", call.params["instance"])
    return instance


def _text(value: str) -> Reply:
    return Reply(body=value, content_type="text/plain")


def get_region(call: Call) -> Reply:
    _instance(call)
    return _text(call.state.region)


def _document(call: Call, instance: Instance) -> dict[str, Any]:
    """The IMDS v2 instance document, from the instance as Core holds it."""
    region = call.state.region
    core = call.backend.states["core"].instances.get(instance.id, {})
    return {
        "id": instance.id,
        "displayName": instance.name,
        "hostname": instance.name,
        "compartmentId": instance.compartment_id,
        "availabilityDomain": instance.availability_domain,
        "faultDomain": instance.fault_domain,
        "shape": instance.shape,
        "region": region,
        "canonicalRegionName": region,
        "ociAdName": instance.availability_domain.split(":")[-1].lower(),
        "tenantId": call.state.tenancy_id,
        "image": core.get("imageId"),
        "state": core.get("lifecycleState", "Running").title(),
        "timeCreated": core.get("timeCreated"),
        "shapeConfig": core.get("shapeConfig"),
        "metadata": core.get("metadata", {}),
        "freeformTags": core.get("freeformTags", {}),
        "definedTags": core.get("definedTags", {}),
    }


def get_instance(call: Call) -> Reply:
    return Reply(body=_document(call, _instance(call)))


def get_instance_key(call: Call) -> Reply:
    """One key of the instance document: a string as text, anything else as JSON."""
    document = _document(call, _instance(call))
    key = call.params["key"]
    if key not in document:
        raise NotFound(f"No instance metadata key {key!r}")
    value = document[key]
    return _text(value) if isinstance(value, str) else Reply(body=value)


def get_vnics(call: Call) -> Reply:
    """The instance's VNICs as IMDS lists them: primary first, then by NIC index."""
    instance = _instance(call)
    core = call.backend.states["core"]
    attachments = sorted(
        (
            a
            for a in core.vnic_attachments.values()
            if a["instanceId"] == instance.id and a["lifecycleState"] == "ATTACHED"
        ),
        key=lambda a: (not core.vnics[a["vnicId"]]["isPrimary"], a["nicIndex"]),
    )
    listed = []
    for attachment in attachments:
        vnic = core.vnic(attachment["vnicId"])
        subnet = core.subnets[vnic["subnetId"]]
        listed.append(
            {
                "vnicId": vnic["id"],
                "privateIp": vnic["privateIp"],
                "vlanTag": attachment["vlanTag"],
                "macAddr": vnic["macAddress"],
                "virtualRouterIp": subnet.get("virtualRouterIp"),
                "subnetCidrBlock": subnet["cidrBlock"],
                "nicIndex": attachment["nicIndex"],
            }
        )
    return Reply(body=listed)


def legacy_v1(call: Call) -> Reply:
    raise NotFound("IMDS v1 endpoints are disabled on this instance; use /opc/v2 with 'Authorization: Bearer Oracle'")


def get_certificate(call: Call) -> Reply:
    credential = call.state.leaf(_instance(call))
    call.mutated = True  # a new credential must reach the state file
    return _text(credential.cert_pem)


def get_key(call: Call) -> Reply:
    credential = call.state.leaf(_instance(call))
    call.mutated = True
    return _text(credential.key_pem)


def get_intermediate(call: Call) -> Reply:
    _instance(call)
    call.mutated = True
    return _text(call.state.ca_credential().cert_pem)


def x509_federation(call: Call) -> Reply:
    """Exchange a signed instance certificate + session public key for a session token."""
    state: IdentityState = call.state
    params = parse_authorization(call.headers.get("authorization"))
    tenancy, kind, fp = (params["keyId"].split("/") + ["", "", ""])[:3]
    if kind != "fed-x509" or tenancy != state.tenancy_id:
        raise NotAuthenticated("keyId must be <tenancy>/fed-x509/<certificate fingerprint>")
    payload = call.json()
    if not isinstance(payload, dict) or not {"certificate", "publicKey"} <= payload.keys():
        raise InvalidParameter("Body must carry certificate and publicKey")
    try:
        cert = x509.load_der_x509_certificate(base64.b64decode(payload["certificate"]))
        session_key = serialization.load_der_public_key(base64.b64decode(payload["publicKey"]))
    except ValueError as exc:
        raise InvalidParameter(f"Unreadable certificate or public key: {exc}") from exc
    if ":".join(f"{b:02X}" for b in cert.fingerprint(SHA1())) != fp.upper():
        raise NotAuthenticated("keyId fingerprint does not match the certificate")
    try:
        instance = state.verify_leaf(cert)
    except Exception as exc:  # noqa: BLE001 - any verification failure is the same 401
        raise NotAuthenticated(f"Certificate rejected: {exc}") from exc
    signed = params["headers"].lower().split()
    if "date" not in signed or "(request-target)" not in signed:
        raise NotAuthenticated("date and (request-target) must be signed")
    if (
        "x-content-sha256" in signed
        and call.headers.get("x-content-sha256") != base64.b64encode(hashlib.sha256(call.body).digest()).decode()
    ):
        raise NotAuthenticated("x-content-sha256 does not match the body")
    public_key = cert.public_key()
    if not isinstance(public_key, rsa.RSAPublicKey) or not isinstance(session_key, rsa.RSAPublicKey):
        raise InvalidParameter("Only RSA keys are supported")
    verify_rsa_signature(public_key, signing_string("POST", FEDERATION_PATH, call.headers, signed), params["signature"])
    token = call.backend.keyring.issue_session_token(
        instance.id,
        session_key,
        ptype="instance",
        tenancy_id=state.tenancy_id,
        compartment_id=instance.compartment_id,
        ttl_seconds=TOKEN_TTL_SECONDS,
    )
    return Reply(body={"token": token})
