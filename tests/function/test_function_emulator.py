"""The function in the emulator, called through the real FunctionsInvokeClient: fdk on a unix
socket, resource-principal credentials the emulator issued, real SDK calls back to Core."""

import json
import threading
import time

from tests.support.function_env import fixture_bytes
from tests.support.topology import VNICS


def fresh(name: str, offset_s: float = 0.0) -> dict:
    """A fixture message as if evaluated just now: an old evaluation is no evidence (decide.py)."""
    return {**json.loads(fixture_bytes(name)), "timestampEpochMillis": int((time.time() + offset_s) * 1000)}


def firing() -> dict:
    return fresh("alarm_ok_to_firing_split.json")


def test_alarm_firing_moves_the_ip_then_repeat_and_duplicates_are_free(start_function, nodes):
    fired = firing()
    fn = start_function()
    nodes["node-a"].state = "down"
    answer = fn.invoke(fired)
    assert (answer["decision"], answer["from"], answer["to"]) == ("moved", "node-a", "node-b")
    assert answer["ip_address"] == "10.0.0.4" and answer["public_ip"] == "203.0.113.10"
    assert fn.holder_vnic() == VNICS["node-b"]
    [write] = fn.writes()
    assert write["principal"] == {**write["principal"], "kind": "resource", "id": fn.function_id}
    assert answer["opc_request_ids"] == [write["opc_request_id"]]
    assert (
        write["after"]["freeformTags"]["failover-last-event"] == f"{fired['dedupeKey']}@{fired['timestampEpochMillis']}"
    )

    assert fn.invoke(fresh("alarm_repeat_split.json", 60))["decision"] == "no_change"
    duplicate = fn.invoke(fired)
    assert duplicate["decision"] == "no_change" and "duplicate" in duplicate["reason"]
    assert len(fn.writes()) == 1


def test_alarm_that_our_probe_contradicts_moves_nothing(start_function, nodes):
    fired = firing()
    fn = start_function()
    answer = fn.invoke(fired)  # node-a probes healthy
    assert answer["decision"] == "no_change" and "probes healthy" in answer["reason"]
    nodes["node-a"].state = "hang"  # cannot verify, but this alarm is about node-b only
    answer = fn.invoke({**fired, "alarmMetaData": [{**fired["alarmMetaData"][0], "dimensions": [{"node": "node-b"}]}]})
    assert answer["decision"] == "no_change" and answer["unverified"] == ["node-a"]
    assert fn.writes() == []


def test_failback_policy_preferred_returns_after_ok(start_function, nodes):
    fired = firing()
    fn = start_function(FAILBACK_POLICY="preferred", COOLDOWN_SECONDS="0")
    nodes["node-a"].state = "down"
    assert fn.invoke(fired)["to"] == "node-b"
    nodes["node-a"].state = "up"
    answer = fn.invoke(fresh("alarm_firing_to_ok_split.json", 120))
    assert (answer["decision"], answer["to"]) == ("moved", "node-a")
    assert fn.holder_vnic() == VNICS["node-a"] and len(fn.writes()) == 2


def test_manual_failover_failback_and_dry_run(start_function, nodes):
    fn = start_function(COOLDOWN_SECONDS="0")
    dry = fn.operate({"action": "failover", "dry_run": True})
    assert (dry["decision"], dry["to"], dry["dry_run"]) == ("would_move", "node-b", True)
    assert fn.writes() == []
    assert fn.operate({"action": "failover"})["decision"] == "moved"
    assert fn.holder_vnic() == VNICS["node-b"]
    back = fn.operate({"action": "failback"})
    assert (back["decision"], back["from"], back["to"]) == ("moved", "node-b", "node-a")
    status = fn.invoke({"action": "status"})
    assert status["decision"] == "status" and status["from"] == "node-a"
    assert status["vips"][0]["last_move"]["to"] == "node-a"
    assert len(fn.writes()) == 2


def test_unhealthy_target_refused_unless_forced_and_cooldown(start_function, nodes):
    fn = start_function()
    nodes["node-b"].state = "down"
    refused = fn.operate({"action": "failover", "to": "node-b"})
    assert refused["decision"] == "refused" and "node-b is down" in refused["reason"]
    assert fn.writes() == []
    forced = fn.operate({"action": "failover", "to": "node-b", "force": True})
    assert forced["decision"] == "moved" and forced["forced"] is True
    nodes["node-b"].state = "up"
    cooling = fn.operate({"action": "failback"})
    assert cooling["decision"] == "refused" and "cooldown" in cooling["reason"]
    assert len(fn.writes()) == 1


def test_keepalived_fast_path_and_split_brain(start_function, nodes):
    fn = start_function()
    notice = {"source": "keepalived", "node": "node-b", "state": "MASTER"}
    split = fn.invoke(notice)  # both healthy: the function arbitrates, the VIP stays
    assert split["decision"] == "no_change" and "split brain" in split["reason"]
    nodes["node-a"].state = "hang"  # node-a unreachable and node-b lost its adverts: gone
    moved = fn.invoke(notice)
    assert (moved["decision"], moved["to"]) == ("moved", "node-b")
    assert len(fn.writes()) == 1


def test_two_concurrent_invocations_make_exactly_one_move(start_function, nodes):
    fn = start_function()
    # Warm two containers, then slow GetPrivateIp so both calls read the same etag before either writes.
    warm = [threading.Thread(target=fn.operate, args=({"action": "status"},)) for _ in range(2)]
    [t.start() for t in warm]
    [t.join(30) for t in warm]
    fn.emu.set_latency("GetPrivateIp", 0.4)
    answers = []
    calls = [
        threading.Thread(target=lambda: answers.append(fn.operate({"action": "failover", "to": "node-b"})))
        for _ in range(2)
    ]
    [t.start() for t in calls]
    [t.join(60) for t in calls]
    assert sorted(a["decision"] for a in answers) == ["moved", "no_change"]
    assert len(fn.writes()) == 1 and fn.holder_vnic() == VNICS["node-b"]
    log = fn.emu.function_log(fn.operator_id).read_text()
    assert '"event":"etag_mismatch"' in log  # the loser really lost the race on the etag


def test_throttling_and_server_errors_are_retried(start_function, nodes):
    fn = start_function(COOLDOWN_SECONDS="0")
    fn.emu.inject_fault("GetPrivateIp", status=500, count=2)
    fn.emu.inject_fault("UpdatePrivateIp", status=429, code="TooManyRequests", count=2)
    answer = fn.operate({"action": "failover", "to": "node-b"})
    assert answer["decision"] == "moved" and len(fn.writes()) == 1
    # The write commits but its response is lost: the retry meets 412 and recognises its own move.
    fn.emu.inject_fault("UpdatePrivateIp", drop="after", count=1)
    answer = fn.operate({"action": "failback"})
    assert answer["decision"] == "moved" and len(fn.writes()) == 2


def test_api_down_means_cannot_verify_not_move(start_function, nodes):
    fired = firing()
    fn = start_function(RETRY_DEADLINE_SECONDS="2")
    nodes["node-a"].state = "down"
    fn.emu.inject_fault("GetPrivateIp", status=503, count=None)
    answer = fn.invoke(fired)
    assert answer["ok"] is False and answer["error"] == "cannot_verify" and "nothing moved" in answer["reason"]
    fn.emu.clear_faults()
    assert fn.writes() == []


def test_bad_requests_are_clear_errors_and_move_nothing(start_function, nodes):
    fired = firing()
    fn = start_function()
    nodes["node-a"].state = "down"
    for body, fragment in [
        (b"\xff\xfenot json", "not UTF-8"),
        ('{"action": "failover", "to": "node-z"}', "unknown node 'node-z'"),
        ({"source": "keepalived", "node": "node-q", "state": "MASTER"}, "unknown node 'node-q'"),
        ({"action": "failover", "dryrun": True}, "unknown key(s) ['dryrun']"),
        ({**fired, "alarmMetaData": "x"}, "alarmMetaData must be a list"),
    ]:
        answer = fn.invoke(body)
        assert (answer["ok"], answer["error"]) == (False, "bad_request") and fragment in answer["reason"], answer
    assert fn.writes() == []


def test_private_ip_not_in_oci_is_a_clear_error(start_function, nodes):
    fn = start_function(VIP_PRIVATE_IP_IDS="ocid1.privateip.oc1.iad.aaaaaaaadoesnotexist")
    answer = fn.operate({"action": "failover", "to": "node-b"})
    assert answer["error"] == "cannot_verify" and "not found or not authorized" in answer["reason"]
    bad = start_function(VIP_PRIVATE_IP_IDS="10.0.0.4")
    answer = bad.invoke({"action": "status"})
    assert answer["error"] == "config_error" and answer["reason"].startswith(
        "function configuration: VIP_PRIVATE_IP_IDS:"
    )
    assert fn.writes() == [] and bad.writes() == []


def test_logs_are_json_lines_once_and_carry_no_credentials(start_function, nodes):
    fired = firing()
    fn = start_function()
    nodes["node-a"].state = "down"
    fn.invoke(fired)
    log = fn.emu.function_log(fn.function_id).read_text()
    container = fn.emu.container_directories(fn.function_id)[0]
    secrets = [(container / "rp" / "rpst").read_text().strip()]
    secrets += [line for line in (container / "rp" / "private.pem").read_text().splitlines() if "-----" not in line]
    assert not any(s in log for s in secrets)
    ours = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    decisions = [e for e in ours if e["event"] == "decision"]
    assert len(decisions) == 1 and decisions[0]["action"] == "move" and decisions[0]["reason"]
    assert "failover" not in "".join(line for line in log.splitlines() if not line.startswith("{"))


def test_resource_principal_files_are_refreshed_for_long_lived_containers(start_function, nodes, monkeypatch):
    from ocisim.functions import runtime

    fn = start_function()
    rpst = fn.emu.container_directories(fn.function_id)[0] / "rp" / "rpst"
    first = rpst.read_text()
    monkeypatch.setattr(runtime, "RP_REFRESH_SECONDS", 0.0)
    assert fn.invoke({"action": "status"})["decision"] == "status"
    assert rpst.read_text() != first
    nodes["node-a"].state = "down"
    assert fn.invoke({"source": "keepalived", "node": "node-b", "state": "MASTER"})["decision"] == "moved"


def test_refused_answer_names_the_target_and_where_the_vip_stays(start_function, nodes):
    fn = start_function()
    nodes["node-b"].state = "hang"
    answer = fn.operate({"action": "failover", "to": "node-b"})
    assert (answer["decision"], answer["from"], answer["to"], answer["target"]) == (
        "refused",
        "node-a",
        "node-a",
        "node-b",
    )
    assert answer["unverified"] == ["node-b"] and "node-b is unknown" in answer["reason"]
