"""Hostile inputs to the pure parts: configuration, tags, alarm messages and the decision table.

Each case is one way a failover controller does the wrong thing on its worst day: a copy-pasted
URL, a garbled tag another tool wrote, an alarm that is not ours, a MASTER notice from the holder.
"""

import json
import math

import pytest

from failover.config import ConfigError
from failover.decide import Action, Health, View, decide
from failover.events import AlarmEvent, KeepalivedNotice, Stream, parse_event
from failover.tags import MAX_CLOCK_SKEW_SECONDS, LastMove, last_move, read_last_move, with_move
from tests.support.function_env import VNIC_A, VNIC_B, config, fixture_bytes

H, D, U = Health.HEALTHY, Health.DOWN, Health.UNKNOWN
NOW = 1_800_000_000.0
OWN_ALARM = "ocid1.alarm.oc1.iad.aaaaaaaavipfailovernodedown"
CPU_ALARM = "ocid1.alarm.oc1.iad.aaaaaaaacpuhigh"


def owned(**overrides: str):
    return config(ALARM_IDS=OWN_ALARM, **overrides)


def alarm(firing=("node-a",), ok=(), alarm_id=OWN_ALARM, ts: float | None = NOW - 5, kind="OK_TO_FIRING"):
    streams = tuple(Stream("FIRING", (("node", n),), alarm_id) for n in firing)
    streams += tuple(Stream("OK", (("node", n),), alarm_id) for n in ok)
    return AlarmEvent(
        type=kind, dedupe_key="k", timestamp_ms=None if ts is None else int(ts * 1000), title="t", streams=streams
    )


def view(health, holder="node-a", last=None):
    return View(holder=holder, health=health, last_move=last, now=NOW)


# --- configuration -------------------------------------------------------------------------


@pytest.mark.parametrize("raw", [" , ", ",", " ,, , "])
def test_a_vip_list_of_only_separators_is_a_config_error(raw):
    with pytest.raises(ConfigError) as err:
        config(VIP_PRIVATE_IP_IDS=raw)
    assert err.value.key == "VIP_PRIVATE_IP_IDS"


def test_two_nodes_with_the_same_health_url_are_refused():
    nodes = [
        {"name": "node-a", "vnic_id": VNIC_A, "health_url": "http://10.0.0.2:8405/healthz"},
        {"name": "node-b", "vnic_id": VNIC_B, "health_url": "http://10.0.0.2:8405/healthz"},
    ]
    with pytest.raises(ConfigError) as err:
        config(NODES=json.dumps(nodes))
    assert err.value.key == "NODES" and "health_url" in str(err.value)


@pytest.mark.parametrize("role", ["admin", "Events ", ""])
def test_role_is_events_or_operator(role):
    if role.strip().lower() in ("events", ""):
        assert config(ROLE=role).role == "events"
        return
    with pytest.raises(ConfigError) as err:
        config(ROLE=role)
    assert err.value.key == "ROLE"


def test_alarm_ids_must_be_alarm_ocids():
    assert owned().alarm_ids == frozenset({OWN_ALARM})
    with pytest.raises(ConfigError) as err:
        config(ALARM_IDS="ocid1.instance.oc1.iad.x")
    assert err.value.key == "ALARM_IDS"


# --- the last-move tag ---------------------------------------------------------------------


@pytest.mark.parametrize("value", ["nan", "NaN", "inf", "-inf", "1e400", "-5"])
def test_an_impossible_last_move_time_is_ignored_with_a_reason(value):
    read = read_last_move({"failover-last-move-at": value, "failover-last-to": "node-a"}, NOW)
    assert read.last is None and value in read.problem


def test_a_last_move_in_the_future_is_ignored_beyond_the_clock_skew():
    ahead = {"failover-last-move-at": f"{NOW * 1000:.3f}", "failover-last-to": "node-a"}  # milliseconds
    read = read_last_move(ahead, NOW)
    assert read.last is None and "future" in read.problem
    near = {"failover-last-move-at": f"{NOW + MAX_CLOCK_SKEW_SECONDS / 2:.3f}", "failover-last-to": "node-a"}
    assert read_last_move(near, NOW).last is not None


def test_last_move_values_are_finite_so_answers_stay_json():
    for value in ("nan", "inf"):
        assert last_move({"failover-last-move-at": value}) is None
    last = last_move({"failover-last-move-at": "12.5"})
    assert last is not None and math.isfinite(last.at)


def test_a_move_changes_only_the_functions_own_tag_keys():
    tags = {"failover-owner": "ops", "failover-runbook": "https://wiki/x", "team": "net", "failover-last-to": "node-b"}
    move = LastMove(at=NOW, from_node="node-a", to_node="node-b", reason="r", event_key=None, move_id="m1")
    merged = with_move(tags, move)
    assert merged["failover-owner"] == "ops" and merged["failover-runbook"] == "https://wiki/x"
    assert merged["team"] == "net" and merged["failover-last-to"] == "node-b"
    assert merged["failover-last-move-id"] == "m1"


# --- alarm messages ------------------------------------------------------------------------


def test_streams_carry_the_alarm_they_came_from():
    event = parse_event(fixture_bytes("alarm_ok_to_firing_split.json"))
    assert isinstance(event, AlarmEvent) and {s.alarm_id for s in event.streams} == {OWN_ALARM}


@pytest.mark.parametrize(
    "change",
    [
        {"type": "OK_TO_SOMETHING_NEW"},
        {"alarmMetaData": None},
        {"alarmMetaData": [{"id": OWN_ALARM, "status": "PENDING", "dimensions": [{"node": "node-a"}]}]},
    ],
)
def test_an_alarm_we_do_not_fully_understand_is_a_recheck_not_a_bad_request(change):
    body = {**json.loads(fixture_bytes("alarm_ok_to_firing_split.json")), **change}
    if change.get("alarmMetaData", 0) is None:
        del body["alarmMetaData"]
    event = parse_event(json.dumps(body).encode())
    assert isinstance(event, AlarmEvent) and event.not_understood
    # No evidence from it: the holder's own probe decides, and the reason says so.
    moved = decide(event, view({"node-a": D, "node-b": H}), owned())
    assert (moved.action, moved.target) == (Action.MOVE, "node-b") and "own probes" in moved.reason
    stayed = decide(event, view({"node-a": U, "node-b": H}), owned())
    assert stayed.action is Action.STAY and "own probes" in stayed.reason


# --- alarm evidence ------------------------------------------------------------------------


def test_an_alarm_that_is_not_the_deployments_is_no_evidence():
    health = {"node-a": U, "node-b": H}
    assert decide(alarm(alarm_id=OWN_ALARM), view(health), owned()).action is Action.MOVE
    cpu = decide(alarm(alarm_id=CPU_ALARM), view(health), owned())
    assert cpu.action is Action.STAY, cpu.reason


def test_without_configured_alarms_no_alarm_is_evidence():
    d = decide(alarm(), view({"node-a": U, "node-b": H}), config(ALARM_IDS=None))
    assert d.action is Action.STAY


def test_an_alarm_without_a_timestamp_is_stale():
    d = decide(alarm(ts=None), view({"node-a": U, "node-b": H}), owned())
    assert d.action is Action.STAY, d.reason


def test_only_the_deployments_own_alarm_triggers_failback():
    cfg = owned(FAILBACK_POLICY="preferred")
    health = {"node-a": H, "node-b": H}
    back = decide(alarm(firing=(), ok=("node-a",), kind="FIRING_TO_OK"), view(health, holder="node-b"), cfg)
    assert (back.action, back.target) == (Action.MOVE, "node-a")
    foreign = decide(alarm(firing=("web-1",), alarm_id=CPU_ALARM), view(health, holder="node-b"), cfg)
    assert (foreign.action, foreign.target) == (Action.STAY, "node-b"), foreign.reason


# --- keepalived MASTER notices -------------------------------------------------------------


def test_the_holders_own_master_notice_repairs_when_it_no_longer_serves():
    d = decide(KeepalivedNotice("node-a", "MASTER"), view({"node-a": D, "node-b": H}), owned())
    assert (d.action, d.target) == (Action.MOVE, "node-b"), d.reason
    assert "no healthy node" not in d.reason


def three_nodes():
    nodes = [
        {
            "name": n,
            "vnic_id": f"ocid1.vnic.oc1.iad.{n.replace('-', '')}",
            "health_url": f"http://127.0.0.1:{i}/",
            "priority": p,
        }
        for i, (n, p) in enumerate((("node-a", 100), ("node-b", 90), ("node-c", 80)), 1)
    ]
    return config(NODES=json.dumps(nodes), ALARM_IDS=OWN_ALARM)


def test_a_master_notice_from_an_unverified_node_never_beats_a_healthy_one():
    d = decide(KeepalivedNotice("node-b", "MASTER"), view({"node-a": D, "node-b": U, "node-c": H}), three_nodes())
    assert (d.action, d.target) == (Action.MOVE, "node-c"), d.reason


def test_a_master_notice_from_a_healthy_node_still_goes_there():
    d = decide(KeepalivedNotice("node-c", "MASTER"), view({"node-a": D, "node-b": H, "node-c": H}), three_nodes())
    assert (d.action, d.target) == (Action.MOVE, "node-c"), d.reason
