"""Who is calling: OCI HTTP signature verification and session tokens the emulator issues.

Why cryptographic and not "any Authorization header will do": the controller's credentials
(API key in the lab, resource principal in the function, instance principal on the nodes) are
part of what we claim works. A request is accepted only if its draft-cavage signature verifies
against a key the emulator knows:

- API keys: keyId `<tenancy>/<user>/<fingerprint>`, public key registered in `Keyring`.
- Session tokens: keyId `ST$<jwt>`. The JWT must carry the emulator's own RS256 signature (it
  issued the token: resource principals for functions, instance principals through the identity
  service's X.509 federation) and its `jwk` claim holds the session public key the request is
  signed with, as in OCI's RPST.

The signing string is rebuilt from exactly the header list the client declared; body headers
(`x-content-sha256`, `content-length`, `content-type`) are checked against the body received.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import time
import uuid
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any

import jwt
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from ocisim.errors import NotAuthenticated

MAX_CLOCK_SKEW_SECONDS = 300  # request date header vs now, as OCI allows
TOKEN_LEEWAY_SECONDS = 1  # emulator and clients share one host clock: expiry is expiry
BODY_HEADERS = ("content-length", "content-type", "x-content-sha256")
_AUTH_PARAM = re.compile(r'(\w+)="([^"]*)"')


@dataclass(frozen=True)
class Principal:
    """The authenticated caller, attached to every request and written to the audit log."""

    kind: str  # "user" | "resource" | "instance" | "admin"
    id: str
    tenancy_id: str
    compartment_id: str | None = None
    claims: Mapping[str, Any] = field(default_factory=dict, compare=False)

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "id": self.id, "tenancy_id": self.tenancy_id, "compartment_id": self.compartment_id}


ADMIN = Principal(kind="admin", id="ocisim-admin", tenancy_id="")


# --- keys -----------------------------------------------------------------------------------


def new_private_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def private_pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def public_pem(key: rsa.RSAPublicKey) -> str:
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def load_private_pem(pem: str) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(pem.encode(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return key


def load_public_pem(pem: str) -> rsa.RSAPublicKey:
    key = serialization.load_pem_public_key(pem.encode())
    assert isinstance(key, rsa.RSAPublicKey)
    return key


def fingerprint(public_key: rsa.RSAPublicKey) -> str:
    """OCI's API key fingerprint: MD5 of the DER public key, colon-separated hex."""
    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    digest = hashlib.md5(der).hexdigest()
    return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))


ISSUED_KEPT = 256  # session tokens remembered for Emulator.secrets()


@dataclass
class Keyring:
    """API keys (keyId -> principal + public key) and the token-signing key pair.

    Serialised with the state, so a restarted emulator accepts the same config file and tokens.
    """

    token_key: rsa.RSAPrivateKey
    api_keys: dict[str, tuple[Principal, rsa.RSAPublicKey]] = field(default_factory=dict)
    # The last tokens minted, never serialised: what a leak check must not find in any log.
    issued: deque[str] = field(default_factory=lambda: deque(maxlen=ISSUED_KEPT), repr=False, compare=False)

    @classmethod
    def new(cls) -> Keyring:
        return cls(token_key=new_private_key())

    def add_api_key(self, tenancy_id: str, user_id: str, public_key: rsa.RSAPublicKey) -> str:
        key_id = f"{tenancy_id}/{user_id}/{fingerprint(public_key)}"
        self.api_keys[key_id] = (Principal("user", user_id, tenancy_id), public_key)
        return key_id

    def to_json(self) -> dict[str, Any]:
        return {
            "token_key": private_pem(self.token_key),
            "api_keys": {
                kid: {"principal": p.to_json(), "public_key": public_pem(k)} for kid, (p, k) in self.api_keys.items()
            },
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Keyring:
        keyring = cls(token_key=load_private_pem(data["token_key"]))
        for kid, entry in data["api_keys"].items():
            p = entry["principal"]
            keyring.api_keys[kid] = (
                Principal(p["kind"], p["id"], p["tenancy_id"], p["compartment_id"]),
                load_public_pem(entry["public_key"]),
            )
        return keyring

    # --- session tokens ----------------------------------------------------------------------

    def issue_session_token(
        self,
        principal_id: str,
        session_public_key: rsa.RSAPublicKey,
        *,
        ptype: str,
        tenancy_id: str,
        compartment_id: str,
        ttl_seconds: float = 3600.0,
        issued_at: float | None = None,
        extra_claims: Mapping[str, Any] | None = None,
    ) -> str:
        """Mint an RS256 JWT in the shape of OCI's RPST / instance-principal token.

        `ptype` is "resource" (function resource principal) or "instance". The SDK reads
        `res_tenant`, `res_compartment`, `exp` and `iat`; `jwk` carries the session public key
        that requests with keyId `ST$<token>` must be signed with. Expiry is wall-clock time.
        """
        now = time.time() if issued_at is None else issued_at
        numbers = session_public_key.public_numbers()
        jwk = {
            "kid": uuid.uuid4().hex,
            "kty": "RSA",
            "alg": "RS256",
            "use": "sig",
            "n": _b64url_uint(numbers.n),
            "e": _b64url_uint(numbers.e),
        }
        claims: dict[str, Any] = {
            "iss": "authService.oracle.com",
            "aud": "oci",
            "sub": principal_id,
            "ptype": ptype,
            "ttype": "res" if ptype == "resource" else "x509",
            "res_id": principal_id,
            "res_tenant": tenancy_id,
            "res_compartment": compartment_id,
            "opc-tenant": tenancy_id,
            "opc-compartment": compartment_id,
            "iat": int(now),
            "exp": int(now + ttl_seconds),
            "jti": uuid.uuid4().hex,
            "jwk": json.dumps(jwk),
        }
        claims.update(extra_claims or {})
        token = jwt.encode(claims, self.token_key, algorithm="RS256")
        self.issued.append(token)
        return token

    def verify_session_token(self, token: str) -> tuple[Principal, rsa.RSAPublicKey]:
        try:
            claims = jwt.decode(
                token, self.token_key.public_key(), algorithms=["RS256"], audience="oci", leeway=TOKEN_LEEWAY_SECONDS
            )
            jwk = jwt.algorithms.RSAAlgorithm.from_jwk(claims["jwk"])
            principal = Principal(
                kind=claims.get("ptype", "resource"),
                id=claims["sub"],
                tenancy_id=claims["res_tenant"],
                compartment_id=claims.get("res_compartment"),
                claims=claims,
            )
        except Exception as exc:  # any defect in a presented token is the caller's, never a 500
            raise NotAuthenticated(f"Invalid session token: {type(exc).__name__}") from exc
        if not isinstance(jwk, rsa.RSAPublicKey):
            raise NotAuthenticated("Session token jwk is not an RSA public key")
        return principal, jwk

    # --- requests ----------------------------------------------------------------------------

    def authenticate(
        self,
        method: str,
        raw_path: str,
        headers: Mapping[str, str],
        body: bytes,
        *,
        require_body_headers: bool,
        now: float | None = None,
    ) -> Principal:
        """Verify a request's OCI signature and return who made it (raises NotAuthenticated).

        `now` (default: the wall clock) is what the date header is held against.
        """
        params = parse_authorization(headers.get("authorization"))
        key_id = params["keyId"]
        if key_id.startswith("ST$"):
            principal, public_key = self.verify_session_token(key_id[3:])
        elif key_id in self.api_keys:
            principal, public_key = self.api_keys[key_id]
        else:
            raise NotAuthenticated("Unknown keyId")
        signed = params["headers"].lower().split()
        check_signed_headers(method, signed, headers, body, require_body_headers, now)
        verify_rsa_signature(public_key, signing_string(method, raw_path, headers, signed), params["signature"])
        return principal


def _b64url_uint(value: int) -> str:
    raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


# --- the draft-cavage pieces, also usable by services that authenticate on their own -----------


def parse_authorization(header: str | None) -> dict[str, str]:
    if not header or not header.lower().startswith("signature "):
        raise NotAuthenticated("The required information to complete authentication was not provided.")
    params = dict(_AUTH_PARAM.findall(header))
    missing = {"keyId", "signature", "headers"} - params.keys()
    if missing:
        raise NotAuthenticated(f"Authorization header lacks {', '.join(sorted(missing))}")
    if params.get("algorithm", "rsa-sha256") != "rsa-sha256":
        raise NotAuthenticated("Unsupported signature algorithm")
    return params


def signing_string(method: str, path_qs: str, headers: Mapping[str, str], signed: list[str]) -> str:
    lines = []
    for name in signed:
        if name == "(request-target)":
            lines.append(f"(request-target): {method.lower()} {path_qs}")
        else:
            value = headers.get(name)
            if value is None:
                raise NotAuthenticated(f"Signed header {name} is missing from the request")
            lines.append(f"{name}: {value}")
    return "\n".join(lines)


def verify_rsa_signature(public_key: rsa.RSAPublicKey, text: str, signature_b64: str) -> None:
    try:
        public_key.verify(base64.b64decode(signature_b64), text.encode(), padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, ValueError) as exc:
        raise NotAuthenticated("The signature does not verify") from exc


def check_signed_headers(
    method: str,
    signed: list[str],
    headers: Mapping[str, str],
    body: bytes,
    require_body_headers: bool,
    now: float | None = None,
) -> None:
    """The headers OCI insists on being signed, and the body headers matching the body."""
    for name in ("date", "(request-target)", "host"):
        if name not in signed and not (name == "date" and "x-date" in signed):
            raise NotAuthenticated(f"Header {name} must be signed")
    _check_date(headers.get("x-date") or headers.get("date"), time.time() if now is None else now)
    if require_body_headers and method.upper() in ("PUT", "POST", "PATCH"):
        for name in BODY_HEADERS:
            if name not in signed:
                raise NotAuthenticated(f"Header {name} must be signed for {method.upper()}")
    if "x-content-sha256" in signed:
        digest = base64.b64encode(hashlib.sha256(body).digest()).decode()
        if headers.get("x-content-sha256") != digest:
            raise NotAuthenticated("x-content-sha256 does not match the body")
    if "content-length" in signed and headers.get("content-length") != str(len(body)):
        raise NotAuthenticated("content-length does not match the body")


def _check_date(value: str | None, now: float) -> None:
    if value is None:
        raise NotAuthenticated("Missing date header")
    try:
        stamp = parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError) as exc:
        raise NotAuthenticated("Unparseable date header") from exc
    if abs(now - stamp) > MAX_CLOCK_SKEW_SECONDS:
        raise NotAuthenticated("Date header is outside the allowed clock skew")
