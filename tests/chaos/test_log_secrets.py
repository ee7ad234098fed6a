"""Logs never carry keys or tokens: a full failover (fast path, alarm path, an expired token
refreshed, an operator, junk), then every line the function and the emulator logged is scanned
for every private key and session token the emulator issued."""

import re
import time

import pytest

from chaos.faults import FAST_LATENCY
from chaos.lane import Lane
from chaos.scenarios import master
from ocisim.auth import private_pem
from ocisim.notifications import delivery
from tests.support.logs import capture_logs


def pem_lines(pem: str) -> list[str]:
    return [line for line in pem.splitlines() if line and "-----" not in line]


@pytest.fixture
def lane():
    with capture_logs("") as capture:  # every line of this process, as `ocisim serve` writes them
        lane = Lane("never", FAST_LATENCY)
        lane.capture = capture
        yield lane
        lane.close()


def test_no_key_or_token_in_any_log_line(lane):
    keyring = lane.emu.backend.keyring
    issued: list[str] = []
    issue = keyring.issue_session_token

    def recording(*args, **kwargs):
        token = issue(*args, **kwargs)
        issued.append(token)
        return token

    keyring.issue_session_token = recording
    rp = lane.emu.container_directories(lane.function_id)[0] / "rp"
    secrets = [(rp / "rpst").read_text().strip(), *pem_lines((rp / "private.pem").read_text())]

    lane.reset()
    lane.nodes.set("node-a", "down")
    assert lane.invoke(master("node-b"), "automatic").body["decision"] == "moved"
    lane.emu.resource_principal_env(lane.function_id, rp)  # the runtime rotates, and the server refuses the old token
    secrets += [(rp / "rpst").read_text().strip(), *pem_lines((rp / "private.pem").read_text())]
    lane.emu.inject_fault("GetPrivateIp", status=401, code="NotAuthenticated", count=1)
    assert lane.invoke({"action": "status"}, "manual").body["decision"] == "status"
    answer = lane.delivered(lane.publish(lane.alarm("node-a", "REPEAT")), "automatic")
    assert answer.status == 200 and answer.body["decision"] == "no_change"
    lane.nodes.set("node-a", "up")
    assert lane.invoke({"action": "failback", "force": True}, "forced").body["decision"] == "moved"
    assert lane.invoke(b"\xff not json", "bad_input").body["error"] == "bad_request"
    time.sleep(0.2)  # the last request lines are written as the responses complete

    secrets += issued + pem_lines(lane.emu.backend.api_private_key) + pem_lines(private_pem(keyring.token_key))
    secrets += pem_lines(private_pem(delivery.session_key(lane.emu.backend)))
    secrets += [
        token.rsplit(".", 1)[1] for token in issued
    ]  # a JWT's signature alone is enough to forge nothing, but still
    assert len(issued) >= 2 and all(len(s) >= 8 for s in secrets)  # the last line of a PEM body is short

    function_log = lane.emu.function_log(lane.function_id).read_text().splitlines()
    emulator_log = lane.capture.lines
    assert any(
        entry["event"] == "request" and entry.get("operation") == "InvokeFunction" for entry in lane.capture.entries
    )
    assert any('"event":"moved"' in line for line in function_log)
    leaks = [(line[:120], secret[:12]) for line in function_log + emulator_log for secret in secrets if secret in line]
    assert leaks == []
    assert not [line for line in function_log + emulator_log if re.search(r"ST\$[A-Za-z0-9_-]{20}", line)]
