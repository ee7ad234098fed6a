"""Logs never carry keys or tokens: a full failover (fast path, alarm path, an expired token
refreshed, an operator, junk), then every line the function and the emulator logged is scanned
for every private key and session token the emulator issued."""

import re
import time

import pytest

from chaos.faults import FAST_LATENCY
from chaos.lane import Lane
from chaos.scenarios import master
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

    held = lane.emu.secrets()  # its keys, and every token it minted (with their signatures alone)
    tokens = [s for s in held if s.count(".") == 2]
    secrets += held
    assert len(tokens) >= 2 and all(len(s) >= 8 for s in secrets)  # the last line of a PEM body is short

    function_log = lane.emu.function_log(lane.function_id).read_text().splitlines()
    emulator_log = lane.capture.lines
    assert any(
        entry["event"] == "request" and entry.get("operation") == "InvokeFunction" for entry in lane.capture.entries
    )
    assert any('"event":"moved"' in line for line in function_log)
    leaks = [(line[:120], secret[:12]) for line in function_log + emulator_log for secret in secrets if secret in line]
    assert leaks == []
    assert not [line for line in function_log + emulator_log if re.search(r"ST\$[A-Za-z0-9_-]{20}", line)]
