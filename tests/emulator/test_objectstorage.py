"""Object Storage in the emulator, through the real `oci` SDK and the `oci` CLI: OCI's paths
(object names with slashes), headers, conditional requests, error bodies, persistence, the
signature the SDK sends for PutObject, and the deployed policy for the nodes' config fetch."""

from __future__ import annotations

import base64
import hashlib
import json
import socket
import subprocess
import sys
import time
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import oci
import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ocisim import Emulator, chain
from ocisim.emulator import DEFAULT_TOPOLOGY
from ocisim.objectstorage.errors import StorageLimitExceeded
from ocisim.objectstorage.models import MAX_STORED_BYTES, ObjectStorageState
from tests.support.topology import two_node

TOPOLOGY = two_node()
NAMESPACE = TOPOLOGY["objectStorage"]["namespace"]
BUCKET = TOPOLOGY["objectStorage"]["buckets"][0]["name"]
NAME = "node-agent/node-a.yaml"
CONTENT = "node_name: node-a\nπ: ünïcode\n".encode()


def md5(body: bytes) -> str:
    return base64.b64encode(hashlib.md5(body).digest()).decode()


@pytest.fixture
def store(emulator: Emulator, config: dict[str, Any]) -> oci.object_storage.ObjectStorageClient:
    return oci.object_storage.ObjectStorageClient(
        config, service_endpoint=emulator.endpoint, retry_strategy=oci.retry.NoneRetryStrategy()
    )


def refused(call: Any, status: int, code: str) -> oci.exceptions.ServiceError:
    with pytest.raises(oci.exceptions.ServiceError) as caught:
        call()
    assert (caught.value.status, caught.value.code) == (status, code), caught.value.message
    return caught.value


def test_namespace_and_the_topologys_bucket(store: oci.object_storage.ObjectStorageClient, emulator: Emulator) -> None:
    assert store.get_namespace().data == NAMESPACE
    bucket = store.get_bucket(NAMESPACE, BUCKET)
    assert (bucket.data.name, bucket.data.compartment_id) == (BUCKET, emulator.compartment_id)
    assert bucket.headers["etag"] == bucket.data.etag


def test_put_get_head_round_trip_with_ocis_headers(store: oci.object_storage.ObjectStorageClient) -> None:
    put = store.put_object(NAMESPACE, BUCKET, NAME, CONTENT, content_type="application/yaml")
    got = store.get_object(NAMESPACE, BUCKET, NAME)
    head = store.head_object(NAMESPACE, BUCKET, NAME)

    assert got.data.content == CONTENT
    assert put.headers["opc-content-md5"] == got.headers["opc-content-md5"] == md5(CONTENT)
    assert got.headers["content-md5"] == md5(CONTENT)
    assert put.headers["etag"] == got.headers["etag"] == head.headers["etag"]
    assert got.headers["content-type"] == head.headers["content-type"] == "application/yaml"
    assert got.headers["content-length"] == head.headers["content-length"] == str(len(CONTENT))
    assert parsedate_to_datetime(got.headers["last-modified"]) == parsedate_to_datetime(put.headers["last-modified"])
    assert got.headers["opc-request-id"] != put.headers["opc-request-id"]


def test_names_with_slashes_spaces_and_dots_are_distinct_keys(store: oci.object_storage.ObjectStorageClient) -> None:
    names = ["a/b/c.txt", "a/b c.txt", "a%2Fb", "..", "a//b", "ü/é"]
    for i, name in enumerate(names):
        store.put_object(NAMESPACE, BUCKET, name, str(i).encode())
    for i, name in enumerate(names):
        assert store.get_object(NAMESPACE, BUCKET, name).data.content == str(i).encode()
    listed = [o.name for o in store.list_objects(NAMESPACE, BUCKET).data.objects]
    assert listed == sorted(names)


def test_a_wrong_content_md5_stores_nothing(store: oci.object_storage.ObjectStorageClient) -> None:
    refused(
        lambda: store.put_object(NAMESPACE, BUCKET, NAME, CONTENT, content_md5=md5(b"other")),
        400,
        "UnmatchedContentMD5",
    )
    refused(
        lambda: store.put_object(NAMESPACE, BUCKET, NAME, CONTENT, content_md5="not-base64!"), 400, "InvalidContentMD5"
    )
    refused(lambda: store.get_object(NAMESPACE, BUCKET, NAME), 404, "ObjectNotFound")
    assert store.put_object(NAMESPACE, BUCKET, NAME, CONTENT, content_md5=md5(CONTENT)).status == 200


def test_conditional_puts(store: oci.object_storage.ObjectStorageClient) -> None:
    first = store.put_object(NAMESPACE, BUCKET, NAME, b"one", if_none_match="*").headers["etag"]
    refused(lambda: store.put_object(NAMESPACE, BUCKET, NAME, b"two", if_none_match="*"), 412, "IfNoneMatchFailed")
    second = store.put_object(NAMESPACE, BUCKET, NAME, b"two", if_match=first).headers["etag"]
    refused(lambda: store.put_object(NAMESPACE, BUCKET, NAME, b"three", if_match=first), 412, "IfMatchFailed")
    refused(lambda: store.put_object(NAMESPACE, BUCKET, "absent", b"x", if_match=first), 412, "IfMatchFailed")

    assert second != first
    got = store.get_object(NAMESPACE, BUCKET, NAME)
    assert (got.data.content, got.headers["etag"]) == (b"two", second)


def test_conditional_gets(
    store: oci.object_storage.ObjectStorageClient, emulator: Emulator, config: dict[str, Any]
) -> None:
    etag = store.put_object(NAMESPACE, BUCKET, NAME, CONTENT).headers["etag"]
    assert store.get_object(NAMESPACE, BUCKET, NAME, if_match=etag).data.content == CONTENT
    refused(lambda: store.get_object(NAMESPACE, BUCKET, NAME, if_match="stale"), 412, "IfMatchFailed")
    refused(lambda: store.head_object(NAMESPACE, BUCKET, NAME, if_match="stale"), 412, None)  # HEAD: no body

    signer = oci.signer.Signer(config["tenancy"], config["user"], config["fingerprint"], config["key_file"])
    url = f"{emulator.endpoint}/n/{NAMESPACE}/b/{BUCKET}/o/{NAME}"
    unchanged = requests.get(url, auth=signer, headers={"if-none-match": etag}, timeout=5)
    changed = requests.get(url, auth=signer, headers={"if-none-match": "other"}, timeout=5)
    assert (unchanged.status_code, unchanged.content, unchanged.headers["etag"]) == (304, b"", etag)
    assert (changed.status_code, changed.content) == (200, CONTENT)


def test_errors_name_what_is_missing(store: oci.object_storage.ObjectStorageClient) -> None:
    error = refused(lambda: store.get_object(NAMESPACE, BUCKET, "nothing-here"), 404, "ObjectNotFound")
    assert "nothing-here" in error.message
    error = refused(lambda: store.get_object(NAMESPACE, "no-such-bucket", NAME), 404, "BucketNotFound")
    assert "no-such-bucket" in error.message
    refused(lambda: store.list_objects(NAMESPACE, "no-such-bucket"), 404, "BucketNotFound")
    refused(lambda: store.get_object("othernamespace", BUCKET, NAME), 404, "NamespaceNotFound")
    refused(lambda: store.delete_object(NAMESPACE, BUCKET, "nothing-here"), 404, "ObjectNotFound")


def test_delete(store: oci.object_storage.ObjectStorageClient, emulator: Emulator) -> None:
    etag = store.put_object(NAMESPACE, BUCKET, NAME, CONTENT).headers["etag"]
    refused(lambda: store.delete_object(NAMESPACE, BUCKET, NAME, if_match="stale"), 412, "IfMatchFailed")
    assert store.get_object(NAMESPACE, BUCKET, NAME).data.content == CONTENT

    assert store.delete_object(NAMESPACE, BUCKET, NAME, if_match=etag).status == 204
    refused(lambda: store.get_object(NAMESPACE, BUCKET, NAME), 404, "ObjectNotFound")
    assert [(e["operation"], e["resource_id"]) for e in emulator.audit()] == [
        ("PutObject", f"/n/{NAMESPACE}/b/{BUCKET}/o/{NAME}"),
        ("DeleteObject", f"/n/{NAMESPACE}/b/{BUCKET}/o/{NAME}"),
    ]
    assert "body" not in json.dumps(emulator.audit())


def test_list_prefix_delimiter_fields_and_pages(store: oci.object_storage.ObjectStorageClient) -> None:
    names = ["node-agent/node-a.yaml", "node-agent/node-b.yaml", "other/x", "top-a", "top-b"]
    for name in names:
        store.put_object(NAMESPACE, BUCKET, name, name.encode())

    folded = store.list_objects(NAMESPACE, BUCKET, delimiter="/").data
    assert ([o.name for o in folded.objects], folded.prefixes) == (["top-a", "top-b"], ["node-agent/", "other/"])
    under = store.list_objects(NAMESPACE, BUCKET, prefix="node-agent/", fields="size,md5").data
    assert [(o.name, o.size, o.md5) for o in under.objects] == [(n, len(n), md5(n.encode())) for n in names[:2]]
    assert under.objects[0].etag is None  # only the fields asked for

    pages, start = [], None
    for _ in range(len(names) + 1):
        page = store.list_objects(NAMESPACE, BUCKET, limit=2, start=start).data
        pages.append([o.name for o in page.objects])
        start = page.next_start_with
        if start is None:
            break
    assert pages == [names[0:2], names[2:4], names[4:]]
    assert [o.name for o in store.list_objects(NAMESPACE, BUCKET, start_after="top-a").data.objects] == ["top-b"]
    refused(lambda: store.list_objects(NAMESPACE, BUCKET, limit=1001), 400, "InvalidParameter")
    refused(lambda: store.list_objects(NAMESPACE, BUCKET, delimiter=":"), 400, "InvalidParameter")


def test_create_bucket(store: oci.object_storage.ObjectStorageClient, emulator: Emulator) -> None:
    details = oci.object_storage.models.CreateBucketDetails(name="another", compartment_id=emulator.compartment_id)
    created = store.create_bucket(NAMESPACE, details)
    assert store.get_bucket(NAMESPACE, "another").data.id == created.data.id
    refused(lambda: store.create_bucket(NAMESPACE, details), 409, "BucketAlreadyExists")
    bad = oci.object_storage.models.CreateBucketDetails(name="no spaces", compartment_id=emulator.compartment_id)
    refused(lambda: store.create_bucket(NAMESPACE, bad), 400, "InvalidParameter")
    nowhere = oci.object_storage.models.CreateBucketDetails(name="b2", compartment_id="ocid1.compartment.oc1..nosuch")
    refused(lambda: store.create_bucket(NAMESPACE, nowhere), 404, "CompartmentIdNotFound")
    assert [o.name for o in store.list_objects(NAMESPACE, "another").data.objects] == []
    refused(lambda: store.get_bucket(NAMESPACE, "b2"), 404, "BucketNotFound")


def test_objects_survive_a_restart(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    with Emulator.start(topology=DEFAULT_TOPOLOGY, state=state) as emu:
        client = oci.object_storage.ObjectStorageClient(emu.oci_config(), service_endpoint=emu.endpoint)
        etag = client.put_object(NAMESPACE, BUCKET, NAME, bytes(range(256))).headers["etag"]
    with Emulator.start(topology=DEFAULT_TOPOLOGY, state=state) as emu:
        client = oci.object_storage.ObjectStorageClient(emu.oci_config(), service_endpoint=emu.endpoint)
        got = client.get_object(NAMESPACE, BUCKET, NAME)
        assert (got.data.content, got.headers["etag"]) == (bytes(range(256)), etag)


# --- signatures: exactly what the SDK sends for PutObject, nothing weaker --------------------------


def test_put_object_is_signed_without_its_body_and_still_verified(
    emulator: Emulator, config: dict[str, Any], store: oci.object_storage.ObjectStorageClient
) -> None:
    signer = oci.signer.Signer(config["tenancy"], config["user"], config["fingerprint"], config["key_file"])
    url = f"{emulator.endpoint}/n/{NAMESPACE}/b/{BUCKET}/o/{NAME}"
    sdk_style = requests.Request("PUT", url, data=CONTENT).prepare()
    signer.without_content_headers(sdk_style)  # what put_object does: enforce_content_headers=False
    assert 'headers="date (request-target) host"' in sdk_style.headers["authorization"]

    too_little = requests.Request("PUT", url, data=b"forged").prepare()
    signer.without_content_headers(too_little)
    too_little.headers["authorization"] = too_little.headers["authorization"].replace(
        'headers="date (request-target) host"', 'headers="date (request-target)"'
    )

    body_signed = requests.Request("PUT", url, data=CONTENT).prepare()
    signer(body_signed)
    body_signed.body = b"X" * len(CONTENT)  # signed x-content-sha256 no longer matches

    with requests.Session() as session:
        assert session.send(sdk_style, timeout=5).status_code == 200
        assert session.send(too_little, timeout=5).status_code == 401
        assert session.send(body_signed, timeout=5).status_code == 401
        assert requests.put(url, data=b"unsigned", timeout=5).status_code == 401
    assert store.get_object(NAMESPACE, BUCKET, NAME).data.content == CONTENT


def test_both_spellings_of_get_namespace(emulator: Emulator, config: dict[str, Any]) -> None:
    signer = oci.signer.Signer(config["tenancy"], config["user"], config["fingerprint"], config["key_file"])
    for path in ("/n", "/n/"):
        response = requests.get(f"{emulator.endpoint}{path}", auth=signer, timeout=5)
        assert (response.status_code, response.json()) == (200, NAMESPACE)


# --- bounds ------------------------------------------------------------------------------------------


def test_stored_bytes_are_bounded() -> None:
    state = ObjectStorageState(namespace="ns")
    state.create_bucket("ns", "b", "ocid1.compartment.oc1..x", created_by="u", now=0.0)
    chunk = bytes(MAX_STORED_BYTES // 4)
    for i in range(4):
        state.put_object(
            "ns", "b", f"o{i}", chunk, content_type="x", content_md5=None, if_match=None, if_none_match=None, now=0.0
        )
    with pytest.raises(StorageLimitExceeded):
        state.put_object(
            "ns", "b", "one-more", b"x", content_type="x", content_md5=None, if_match=None, if_none_match=None, now=0.0
        )
    state.put_object(
        "ns", "b", "o0", chunk, content_type="x", content_md5=None, if_match=None, if_none_match=None, now=1.0
    )  # replacing frees what it replaces
    assert sorted(state.objects["b"]) == ["o0", "o1", "o2", "o3"]


# --- the oci command-line client ------------------------------------------------------------------


def test_oci_cli_object_commands(emulator: Emulator, tmp_path: Path) -> None:
    def oci_cli(*args: str) -> str:
        done = subprocess.run(
            [
                str(Path(sys.executable).parent / "oci"),
                "--config-file",
                emulator.oci_config_file,
                "--endpoint",
                emulator.endpoint,
                *args,
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    source, target = tmp_path / "node-a.yaml", tmp_path / "fetched.yaml"
    source.write_bytes(CONTENT)
    assert json.loads(oci_cli("os", "ns", "get"))["data"] == NAMESPACE
    oci_cli("os", "object", "put", "--bucket-name", BUCKET, "--name", NAME, "--file", str(source))
    listed = json.loads(oci_cli("os", "object", "list", "--bucket-name", BUCKET))
    assert [o["name"] for o in listed["data"]] == [NAME]
    head = json.loads(oci_cli("os", "object", "head", "--bucket-name", BUCKET, "--name", NAME))
    assert head["opc-content-md5"] == md5(CONTENT)
    oci_cli("os", "object", "get", "--bucket-name", BUCKET, "--name", NAME, "--file", str(target))
    assert target.read_bytes() == CONTENT
    oci_cli("os", "object", "delete", "--bucket-name", BUCKET, "--name", NAME, "--force")
    assert "data" not in json.loads(oci_cli("os", "object", "list", "--bucket-name", BUCKET))  # empty: no objects


def test_a_body_over_the_limit_is_413_and_stores_nothing(
    emulator: Emulator, config: dict[str, Any], store: oci.object_storage.ObjectStorageClient
) -> None:
    signer = oci.signer.Signer(config["tenancy"], config["user"], config["fingerprint"], config["key_file"])
    huge = requests.Request(
        "PUT", f"{emulator.endpoint}/n/{NAMESPACE}/b/{BUCKET}/o/{NAME}", data=bytes(chain.MAX_BODY_BYTES + 1)
    ).prepare()
    signer.without_content_headers(huge)
    with requests.Session() as session:
        response = session.send(huge, timeout=30)
    assert (response.status_code, response.json()["code"]) == (413, "RequestEntityTooLarge")
    refused(lambda: store.get_object(NAMESPACE, BUCKET, NAME), 404, "ObjectNotFound")


def test_a_dripping_body_is_cut_off_with_408(emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    """A hostile peer announces 100 bytes and sends one: the server answers within its bound."""
    monkeypatch.setattr(chain, "BODY_TIMEOUT_SECONDS", 0.5)
    with socket.create_connection((emulator.host, emulator.port), timeout=10) as peer:
        peer.sendall(
            f"PUT /n/{NAMESPACE}/b/{BUCKET}/o/x HTTP/1.1\r\nHost: {emulator.host}\r\n"
            "Content-Length: 100\r\n\r\nx".encode()
        )
        started = time.monotonic()
        answer = peer.recv(4096).decode(errors="replace")
    assert answer.startswith("HTTP/1.1 408") and "RequestTimeout" in answer
    assert time.monotonic() - started < 5


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    name=st.text(min_size=1, max_size=40).filter(str.strip),
    body=st.binary(max_size=64),
    md5_header=st.none() | st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), max_size=30),
    if_match=st.none() | st.sampled_from(["*", "stale", ""]),
)
def test_any_name_body_and_header_is_stored_exactly_or_refused_with_a_4xx(
    store: oci.object_storage.ObjectStorageClient, name: str, body: bytes, md5_header: str | None, if_match: str | None
) -> None:
    try:
        store.put_object(NAMESPACE, BUCKET, name, body, content_md5=md5_header, if_match=if_match)
    except oci.exceptions.ServiceError as error:
        assert 400 <= error.status < 500, error.message
        return
    assert store.get_object(NAMESPACE, BUCKET, name).data.content == body
    assert name in [o.name for o in store.list_objects(NAMESPACE, BUCKET, prefix=name).data.objects]
    store.delete_object(NAMESPACE, BUCKET, name)
