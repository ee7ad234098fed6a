"""OCI's published request-signing test values: the emulator accepts exactly those requests.

Pure logic (no I/O): the verifier of ocisim.auth is handed each documented request with its
documented Authorization header and the date it was signed at as "now"; every alteration of a
signed part is refused. The oci SDK's own signer, given the same key and headers, produces the
same header, so SDK, documentation and emulator agree on one signing string.
"""

from __future__ import annotations

import json
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import oci
import pytest
import requests

from ocisim.auth import Keyring, Principal, load_private_pem, signing_string
from ocisim.errors import NotAuthenticated

VECTORS = json.loads((Path(__file__).parent / "fixtures" / "oci-signing-vectors" / "vectors.json").read_text())
REQUESTS = {r["name"]: r for r in VECTORS["requests"]}


@pytest.fixture(scope="module")
def keyring() -> Keyring:
    """The test key registered under the documented key id. The documented fingerprint is the
    docs' example value everywhere, not this key's MD5, so it is taken as given."""
    ring = Keyring.new()
    ring.api_keys[VECTORS["key_id"]] = (
        Principal("user", VECTORS["user_id"], VECTORS["tenancy_id"]),
        load_private_pem(VECTORS["private_key_pem"]).public_key(),
    )
    return ring


def verify(
    ring: Keyring,
    vector: dict[str, Any],
    *,
    headers: dict[str, str] | None = None,
    path: str | None = None,
    body: str | None = None,
    method: str | None = None,
) -> Any:
    sent = {**vector["headers"], "authorization": vector["authorization"], **(headers or {})}
    return ring.authenticate(
        method or vector["method"],
        vector["path"] if path is None else path,
        sent,
        (vector["body"] if body is None else body).encode(),
        require_body_headers=True,
        now=parsedate_to_datetime(vector["headers"]["date"]).timestamp(),
    )


@pytest.mark.parametrize("name", sorted(REQUESTS))
def test_the_documented_request_is_accepted_as_the_documented_user(keyring: Keyring, name: str) -> None:
    vector = REQUESTS[name]
    signed = vector["authorization"].split('headers="')[1].split('"')[0].split()

    assert signing_string(vector["method"], vector["path"], vector["headers"], signed) == vector["signing_string"]
    principal = verify(keyring, vector)
    assert (principal.kind, principal.id, principal.tenancy_id) == ("user", VECTORS["user_id"], VECTORS["tenancy_id"])


def _flip(signature_header: str) -> str:
    head, signature = signature_header.rsplit('signature="', 1)
    first = "A" if signature[0] != "A" else "B"
    return f'{head}signature="{first}{signature[1:]}'


GET_ALTERATIONS = {
    "signature": {"headers": {"authorization": _flip(REQUESTS["GET"]["authorization"])}},
    "query order": {
        "path": REQUESTS["GET"]["path"].replace("availabilityDomain=Pjwf%3A%20PHX-AD-1&", "")
        + "&availabilityDomain=Pjwf%3A%20PHX-AD-1"
    },
    "query value": {"path": REQUESTS["GET"]["path"].replace("TeamXInstances", "TeamYInstances")},
    "method": {"method": "DELETE"},
    "host": {"headers": {"host": "iaas.us-ashburn-1.oraclecloud.com"}},
    "date": {"headers": {"date": "Thu, 05 Jan 2014 21:31:41 GMT"}},
    "key id": {"headers": {"authorization": REQUESTS["GET"]["authorization"].replace("20:3b", "21:3b")}},
    "host unsigned": {
        "headers": {
            "authorization": REQUESTS["GET"]["authorization"].replace(
                'headers="date (request-target) host"', 'headers="date (request-target)"'
            )
        }
    },
}
POST_ALTERATIONS = {
    "body": {"body": REQUESTS["POST"]["body"].replace("instanceId", "instanceID")},
    "content-length": {"headers": {"content-length": "317"}},
    "content-type": {"headers": {"content-type": "text/plain"}},
    "body headers unsigned": {
        "headers": {
            "authorization": REQUESTS["POST"]["authorization"].replace(
                " content-length content-type x-content-sha256", ""
            )
        }
    },
}


@pytest.mark.parametrize(
    ("name", "alteration"), [("GET", a) for a in GET_ALTERATIONS] + [("POST", a) for a in POST_ALTERATIONS]
)
def test_any_alteration_is_refused(keyring: Keyring, name: str, alteration: str) -> None:
    with pytest.raises(NotAuthenticated):
        verify(keyring, REQUESTS[name], **{**GET_ALTERATIONS, **POST_ALTERATIONS}[alteration])


def test_a_documented_request_is_refused_outside_the_clock_skew(keyring: Keyring) -> None:
    vector = REQUESTS["GET"]
    sent = {**vector["headers"], "authorization": vector["authorization"]}
    with pytest.raises(NotAuthenticated, match="clock skew"):
        keyring.authenticate("GET", vector["path"], sent, b"", require_body_headers=True)


@pytest.mark.parametrize("name", sorted(REQUESTS))
def test_the_oci_sdk_signer_produces_the_documented_header(name: str) -> None:
    vector = REQUESTS[name]
    signer = oci.signer.Signer(
        VECTORS["tenancy_id"],
        VECTORS["user_id"],
        VECTORS["fingerprint"],
        None,
        private_key_content=VECTORS["private_key_pem"],
    )
    request = requests.Request(
        vector["method"],
        f"https://{vector['host']}{vector['path']}",
        headers={"date": vector["headers"]["date"], "content-type": "application/json"},
        data=vector["body"] or None,
    ).prepare()

    signed = signer(request)

    wanted = dict(part.split("=", 1) for part in vector["authorization"].removeprefix("Signature ").split(","))
    got = dict(part.split("=", 1) for part in signed.headers["authorization"].removeprefix("Signature ").split(","))
    assert got == wanted
