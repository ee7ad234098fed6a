"""Instance identities: an emulator CA and, per instance, a leaf certificate and key.

Shaped like OCI's instance certificates so the SDK's own code reads them: the subject carries
``opc-tenant:<tenancy>`` (the SDK takes the tenancy from it), ``opc-instance:<id>`` and
``opc-compartment:<id>``; the leaf is signed by an intermediate CA that the federation endpoint
trusts. Keys are made on first use (not at seed), so emulators that never use instance
principals start as fast as before; once made they are saved with the state.
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from ocisim.auth import load_private_pem, new_private_key, private_pem

CERT_VALIDITY = dt.timedelta(days=365)


@dataclass(frozen=True)
class Instance:
    id: str
    name: str
    compartment_id: str
    availability_domain: str
    fault_domain: str
    shape: str


@dataclass
class Credential:
    key_pem: str
    cert_pem: str


@dataclass
class IdentityState:
    tenancy_id: str
    region: str
    instances: dict[str, Instance]  # by display name
    ca: Credential | None = None
    leaves: dict[str, Credential] = field(default_factory=dict)  # by instance OCID

    def find(self, name_or_id: str) -> Instance | None:
        if name_or_id in self.instances:
            return self.instances[name_or_id]
        return next((i for i in self.instances.values() if i.id == name_or_id), None)

    def ca_credential(self) -> Credential:
        """The intermediate CA, created on first use."""
        if self.ca is None:
            key = new_private_key()
            name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ocisim instance intermediate CA")])
            cert = _certificate(name, name, key.public_key(), key, is_ca=True)
            self.ca = Credential(private_pem(key), _pem(cert))
        return self.ca

    def leaf(self, instance: Instance) -> Credential:
        """The instance's certificate and key (what the metadata service hands the instance)."""
        if instance.id not in self.leaves:
            ca = self.ca_credential()
            ca_cert = x509.load_pem_x509_certificate(ca.cert_pem.encode())
            key = new_private_key()
            # OCIDs exceed X.520's 64-character bound, as in OCI's own instance certificates.
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                subject = _instance_subject(self.tenancy_id, instance)
            cert = _certificate(subject, ca_cert.subject, key.public_key(), load_private_pem(ca.key_pem), is_ca=False)
            self.leaves[instance.id] = Credential(private_pem(key), _pem(cert))
        return self.leaves[instance.id]

    def verify_leaf(self, cert: x509.Certificate) -> Instance:
        """The instance a presented certificate belongs to, if our CA issued it and it is current."""
        ca_cert = x509.load_pem_x509_certificate(self.ca_credential().cert_pem.encode())
        if cert.issuer != ca_cert.subject:
            raise ValueError("certificate not issued by the instance CA")
        ca_cert.public_key().verify(
            cert.signature, cert.tbs_certificate_bytes, padding.PKCS1v15(), cert.signature_hash_algorithm
        )  # type: ignore[arg-type]
        now = dt.datetime.now(dt.UTC)
        if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
            raise ValueError("certificate is not currently valid")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            common_name = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
        instance = self.find(str(common_name))
        if instance is None or self.leaves.get(instance.id, Credential("", "")).cert_pem != _pem(cert):
            raise ValueError("certificate does not belong to a known instance")
        return instance

    def to_json(self) -> dict[str, Any]:
        return {
            "tenancy_id": self.tenancy_id,
            "region": self.region,
            "instances": [vars(i) for i in self.instances.values()],
            "ca": vars(self.ca) if self.ca else None,
            "leaves": {k: vars(v) for k, v in self.leaves.items()},
        }

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> IdentityState:
        instances = {i["name"]: Instance(**i) for i in raw["instances"]}
        return cls(
            raw["tenancy_id"],
            raw["region"],
            instances,
            Credential(**raw["ca"]) if raw.get("ca") else None,
            {k: Credential(**v) for k, v in raw.get("leaves", {}).items()},
        )


def seed(topology: Mapping[str, Any], backend: Any) -> IdentityState:
    instances = {
        i["displayName"]: Instance(
            id=i["id"],
            name=i["displayName"],
            compartment_id=i["compartmentId"],
            availability_domain=i.get("availabilityDomain", ""),
            fault_domain=i.get("faultDomain", ""),
            shape=i.get("shape", ""),
        )
        for i in topology.get("instances", [])
    }
    return IdentityState(topology["tenancy"]["id"], topology["region"], instances)


def _instance_subject(tenancy_id: str, instance: Instance) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, instance.id, _validate=False),
            *(
                x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, value, _validate=False)
                for value in (
                    "opc-certtype:instance",
                    f"opc-compartment:{instance.compartment_id}",
                    f"opc-instance:{instance.id}",
                    f"opc-tenant:{tenancy_id}",
                )
            ),
        ]
    )


def _certificate(
    subject: x509.Name, issuer: x509.Name, public_key: rsa.RSAPublicKey, signing_key: rsa.RSAPrivateKey, *, is_ca: bool
) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + CERT_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=is_ca, path_length=None), critical=True)
        .sign(signing_key, hashes.SHA256())
    )


def _pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()
