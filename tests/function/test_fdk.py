"""func.py the way the Fn runtime calls it: fdk on a unix socket (POST /call), and in-process
with fdk.fixtures. These need no OCI answer for the paths they check, or use the emulator."""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.function_emulator import nodes_config
from tests.support.function_env import env, fixture_bytes
from tests.support.paths import REPO

FDK = Path(sys.executable).with_name("fdk")


class UnixHTTPConnection(http.client.HTTPConnection):
    """http.client over a unix socket, as the Fn agent talks to fdk."""

    def __init__(self, path: str) -> None:
        super().__init__("localhost", timeout=30)
        self.path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(self.path)


@pytest.fixture
def fdk_server(tmp_path, emulator, nodes):
    """fdk serving ./func.py on tmp_path/lsnr.sock with resource principals from the emulator,
    as the operators' function (it takes manual moves too)."""
    sock = tmp_path / "lsnr.sock"
    function_id = emulator.functions["vip-failover-operator"]
    fn_env = {
        "PATH": os.environ["PATH"],
        "PYTHONPATH": str(REPO),
        "FN_LISTENER": f"unix:{sock}",
        "FN_FORMAT": "http-stream",
        "FN_FN_ID": function_id,
        **env(NODES=nodes_config(nodes), PROBE_TIMEOUT_SECONDS="0.3", ROLE="operator"),
        "VIP_PRIVATE_IP_IDS": "ocid1.privateip.oc1.iad.aaaaaaaa3bhoiacy5ruy5jhyssp43buteujyxzvud6fggieqm5iyk36agnfq",
        "OCI_SERVICE_ENDPOINT": emulator.endpoint,
        **emulator.resource_principal_env(function_id, tmp_path / "rp"),
    }
    log = open(tmp_path / "fdk.log", "wb")  # noqa: SIM115 (fdk's output for the server's whole life)
    process = subprocess.Popen(
        [str(FDK), str(REPO / "func.py"), "handler"], env=fn_env, cwd=REPO, stdout=log, stderr=log
    )
    deadline = time.monotonic() + 20
    while not sock.exists():
        assert process.poll() is None and time.monotonic() < deadline, (tmp_path / "fdk.log").read_text()
        time.sleep(0.02)
    yield str(sock), tmp_path / "fdk.log"
    process.terminate()
    process.wait(5)
    log.close()


def call(sock: str, body: bytes) -> tuple[int, dict]:
    connection = UnixHTTPConnection(sock)
    connection.request(
        "POST",
        "/call",
        body=body,
        headers={"Fn-Call-Id": "01TESTCALL", "Fn-Deadline": "2099-01-01T00:00:00Z", "Content-Type": "application/json"},
    )
    response = connection.getresponse()
    payload = response.read()
    connection.close()
    return response.status, json.loads(payload)


def test_fdk_over_unix_socket(fdk_server, emulator):
    sock, log_path = fdk_server
    status, answer = call(sock, b'{"action": "status"}')
    assert status == 200 and answer["decision"] == "status" and answer["from"] == "node-a"
    status, answer = call(sock, b'{"action": "failover", "to": "node-b"}')
    assert status == 200 and answer["decision"] == "moved"
    assert [e["principal"]["kind"] for e in emulator.audit()] == ["resource"]
    status, answer = call(sock, b"\x00garbage")  # bad input: a JSON answer with 200, never a 502
    assert status == 200 and answer["error"] == "bad_request"
    lines = log_path.read_text().splitlines()
    ours = [line for line in lines if '"logger":"failover"' in line]
    assert ours and all(json.loads(line)["call_id"] == "01TESTCALL" for line in ours)
    # fdk's root handler must not print our lines a second time in its own format
    assert not [line for line in lines if " - failover - " in line]


@pytest.fixture(autouse=True)
def root_logger_restored():
    """Importing fdk (func.py does) reconfigures the root logger for the whole process, as it
    does in a function container; undo it so the rest of the test session logs as before."""
    import logging

    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def run(handler_body: bytes) -> tuple[int, dict]:
    from fdk import fixtures

    import func

    async def go():
        call_coro = await fixtures.setup_fn_call(func.handler, content=handler_body)
        content, status, headers = await call_coro
        return status, json.loads(content)

    return asyncio.run(go())


def test_in_process_config_error_is_an_answer(monkeypatch):
    for key in ("VIP_PRIVATE_IP_IDS", "NODES"):
        monkeypatch.delenv(key, raising=False)
    status, answer = run(b'{"action": "status"}')
    assert status == 200 and answer["error"] == "config_error" and "VIP_PRIVATE_IP_IDS" in answer["reason"]


def test_in_process_bad_body_is_an_answer(monkeypatch, tmp_path):
    for key, value in env().items():
        monkeypatch.setenv(key, value)
    config = tmp_path / "config"
    config.write_text(
        "[DEFAULT]\nuser=ocid1.user.oc1..x\nfingerprint=11:22:33:44:55:66:77:88:99:00:aa:bb:cc:dd:ee:ff\ntenancy=ocid1.tenancy.oc1..x\n"
        f"region=us-ashburn-1\nkey_file={tmp_path / 'key.pem'}\n"
    )
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    (tmp_path / "key.pem").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    monkeypatch.setenv("OCI_CONFIG_FILE", str(config))
    monkeypatch.delenv("OCI_RESOURCE_PRINCIPAL_VERSION", raising=False)
    status, answer = run(b'{"action": "reboot"}')
    assert status == 200 and answer["error"] == "bad_request" and "action must be one of" in answer["reason"]


@st.composite
def mutated_alarms(draw) -> bytes:
    """A real alarm message fixture with one key deleted or replaced, then truncated."""
    message = json.loads(fixture_bytes(draw(st.sampled_from(ALARM_FIXTURES))))
    target = draw(st.sampled_from([message, message["alarmMetaData"][0]]))
    key = draw(st.sampled_from(sorted(target)))
    if draw(st.booleans()):
        del target[key]
    else:
        target[key] = draw(JSON_VALUES)
    raw = json.dumps(message).encode()
    return raw[: draw(st.integers(0, len(raw)))]


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
    max_leaves=20,
)
ALARM_FIXTURES = [
    "alarm_ok_to_firing_split.json",
    "alarm_repeat_split.json",
    "alarm_firing_to_ok_split.json",
    "alarm_ok_to_firing_grouped.json",
    "oci_docs_split_v1.5.json",
]
WRONG_TYPES = st.one_of(
    st.fixed_dictionaries({"source": st.just("keepalived"), "node": JSON_VALUES, "state": JSON_VALUES}),
    st.fixed_dictionaries(
        {"action": JSON_VALUES.filter(lambda v: v not in ("failover", "failback")), "to": JSON_VALUES}
    ),
    st.fixed_dictionaries(
        {"action": st.just("failover"), "to": st.sampled_from(["node-b"]), "dry_run": st.text(max_size=4)}
    ),
).map(lambda v: json.dumps(v).encode())
HUGE = st.integers(256 * 1024, 1_200_000).map(lambda n: b'{"action": "status", "pad": "' + b"x" * n + b'"}')
NOT_UTF8 = st.binary(max_size=200).map(lambda b: b"\xff\xfe\xc3" + b)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_bad_input_through_fdk_never_crashes_and_never_writes(fdk_server, emulator, data):
    """Invariant 6 through the real fdk server on its unix socket: arbitrary JSON, truncated and
    mutated real alarm messages, wrong types, huge and non-UTF-8 bodies all get a 200 JSON answer
    that moves nothing; no internal error, and the emulator records no write."""
    sock, _ = fdk_server
    body = data.draw(
        st.one_of(
            st.binary(max_size=300),
            JSON_VALUES.filter(lambda v: not (isinstance(v, dict) and "action" in v)).map(
                lambda v: json.dumps(v).encode()
            ),
            WRONG_TYPES,
            HUGE,
            NOT_UTF8,
            mutated_alarms(),
        )
    )
    status, answer = call(sock, body)
    assert status == 200 and isinstance(answer, dict)
    assert answer.get("error") != "internal_error" and answer.get("moved", []) == []
    assert [e for e in emulator.audit() if e["operation"] == "UpdatePrivateIp"] == []
