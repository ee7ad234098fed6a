"""Malformed requests get an OCI error body with a 4xx status, never a 5xx, and change nothing."""

from __future__ import annotations

import json
import socket
import struct
import time
from typing import Any

import oci
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ocisim import Emulator
from tests.support.logs import capture_logs
from tests.support.topology import Topology

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)
FIELDS = st.sampled_from(["vnicId", "displayName", "hostnameLabel", "freeformTags", "definedTags"])
DETAILS = st.dictionaries(FIELDS, JSON, max_size=3) | JSON
# HTTP header values: printable ASCII with no leading white space (a client strips or refuses it).
PRINTABLE = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=40).map(str.lstrip)
FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def signer(config: dict[str, Any]) -> oci.signer.Signer:
    return oci.signer.Signer(config["tenancy"], config["user"], config["fingerprint"], config["key_file"])


def assert_oci_4xx(response: requests.Response) -> None:
    assert 400 <= response.status_code < 500, response.text
    assert set(response.json()) == {"code", "message"}


@FUZZ
@given(details=DETAILS)
def test_signed_update_with_arbitrary_json_never_5xx(emulator: Emulator, config, topo: Topology, details: Any) -> None:
    emulator.set_latency("UpdatePrivateIp", 0.0)
    response = requests.put(
        f"{emulator.endpoint}/20160918/privateIps/{topo.vip_id}",
        data=json.dumps(details),
        auth=signer(config),
        headers={"content-type": "application/json"},
        timeout=5,
    )
    if response.status_code == 200:
        assert isinstance(details, dict) and len(emulator.audit()) >= 1
    else:
        assert_oci_4xx(response)


@FUZZ
@given(body=st.binary(max_size=64), path=st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789._-", max_size=30))
def test_signed_garbage_bodies_and_ids_never_5xx(emulator: Emulator, config, body: bytes, path: str) -> None:
    emulator.set_latency("UpdatePrivateIp", 0.0)
    before = len(emulator.audit())
    response = requests.put(
        f"{emulator.endpoint}/20160918/privateIps/x{path}",
        data=body,
        auth=signer(config),
        headers={"content-type": "application/json"},
        timeout=5,
    )
    assert_oci_4xx(response)
    assert len(emulator.audit()) == before


@FUZZ
@given(
    authorization=PRINTABLE
    | st.builds(
        lambda kid, headers, sig: (
            f'Signature version="1",keyId="{kid}",algorithm="rsa-sha256",headers="{headers}",signature="{sig}"'
        ),
        PRINTABLE | st.just("ST$a.b.c"),
        PRINTABLE,
        PRINTABLE,
    ),
    date=PRINTABLE | st.just("Tue, 01 Jan 2030 00:00:00 GMT"),
)
def test_malformed_signatures_are_401(emulator: Emulator, topo: Topology, authorization: str, date: str) -> None:
    """Header values HTTP itself allows; bytes HTTP forbids are refused by the HTTP parser."""
    response = requests.get(
        f"{emulator.endpoint}/20160918/privateIps/{topo.vip_id}",
        headers={"authorization": authorization, "date": date},
        timeout=5,
    )
    assert response.status_code == 401 and response.json()["code"] == "NotAuthenticated"


def test_a_caller_gone_mid_request_is_logged_as_gone_not_as_a_server_error(emulator: Emulator) -> None:
    """A node restarted while its InvokeFunction was on the wire: the connection is reset before
    the body arrives. Nobody is left to answer, and nothing failed on the emulator's side, so
    the request is logged ``client_gone``, never as a crashed handler or a 500."""
    path = f"/20260325/functions/{next(iter(emulator.functions.values()))}/actions/invoke"
    with capture_logs("ocisim") as logs:
        with socket.create_connection((emulator.host, emulator.port), timeout=10) as peer:
            peer.sendall(f"POST {path} HTTP/1.1\r\nHost: {emulator.host}\r\nContent-Length: 100\r\n\r\nx".encode())
            time.sleep(0.2)  # the emulator is now waiting for the rest of the body
            peer.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close = RST
        deadline = time.monotonic() + 10
        while not [e for e in logs.events("request") if e["path"] == path] and time.monotonic() < deadline:
            time.sleep(0.05)
    [request] = [e for e in logs.events("request") if e["path"] == path]
    assert (request["operation"], request["status"]) == ("InvokeFunction", "client_gone")
    assert logs.events("handler crashed") == []
