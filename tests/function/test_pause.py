"""The maintenance pause: written by `python -m failover pause` as tags on the private IP, obeyed
by the function (automatic events answered "paused", operators still move), ended by `resume`
or by time."""

from __future__ import annotations

import json

import pytest

from failover.config import Config
from failover.decide import Action, Health, View, decide
from failover.events import Command, KeepalivedNotice
from failover.pause import PauseError, parse_duration, pause_until
from failover.tags import MAX_PAUSE_SECONDS, Pause, read_pause, with_pause
from tests.support.function_emulator import nodes_config, run_cli
from tests.support.topology import VIP_ID, VNICS

NOTICE = {"source": "keepalived", "node": "node-b", "state": "MASTER"}


def _env_file(tmp_path, nodes):
    path = tmp_path / "fn-config.json"
    path.write_text(
        json.dumps(
            {"VIP_PRIVATE_IP_IDS": VIP_ID, "NODES": json.loads(nodes_config(nodes)), "PROBE_TIMEOUT_SECONDS": "0.3"}
        )
    )
    return path


def test_paused_group_holds_automatic_moves_and_takes_an_operators(start_function, nodes, tmp_path):
    fn = start_function()
    env_file = _env_file(tmp_path, nodes)
    code, paused = run_cli(fn.emu, env_file, "pause", "--for", "30m", "--reason", "kernel patching")
    assert code == 0 and paused["written"] == [VIP_ID] and paused["paused"]["reason"] == "kernel patching"
    nodes["node-a"].state = "down"
    held = fn.invoke(NOTICE)
    assert held["decision"] == "paused" and "kernel patching" in held["reason"] and "node-b" in held["reason"]
    assert fn.holder_vnic() == VNICS["node-a"]
    status = fn.invoke({"action": "status"})
    assert status["paused"]["reason"] == "kernel patching"
    moved = fn.operate({"action": "failover", "to": "node-b"})
    assert moved["decision"] == "moved" and fn.holder_vnic() == VNICS["node-b"]
    # The move kept the pause: the next automatic event is still held.
    nodes["node-a"].state, nodes["node-b"].state = "up", "down"
    back = {"source": "keepalived", "node": "node-a", "state": "MASTER"}
    assert fn.invoke(back)["decision"] == "paused"
    code, resumed = run_cli(fn.emu, env_file, "resume")
    assert code == 0 and resumed["paused"] is None
    assert fn.invoke(back)["decision"] == "moved" and fn.holder_vnic() == VNICS["node-a"]


def test_bad_pause_requests_are_refused_and_write_nothing(emulator, nodes, tmp_path):
    env_file = _env_file(tmp_path, nodes)
    for args in (
        ["--for", "forever", "--reason", "x"],
        ["--for", "30d", "--reason", "x"],
        ["--for", "1h", "--reason", " "],
    ):
        with pytest.raises(json.JSONDecodeError):  # argparse refuses on stderr, prints no answer
            run_cli(emulator, env_file, "pause", *args)
    assert emulator.audit() == []


def test_durations():
    assert parse_duration("30m") == 1800 and parse_duration("2h") == 7200 and parse_duration("90s") == 90
    for bad in ("30", "m", "-5m", "1.5h", "8d", "0s"):
        with pytest.raises(PauseError):
            parse_duration(bad)


def test_a_pause_ends_by_itself_and_a_garbled_one_never_holds_failover():
    now = 1_000_000.0
    tags = with_pause({"owner": "ops"}, Pause(until=now + 60, reason="patch"))
    assert tags["owner"] == "ops"
    assert read_pause(tags, now).pause == Pause(until=now + 60, reason="patch")
    assert read_pause(tags, now + 61).pause is None
    assert read_pause(with_pause(tags, None), now).pause is None and with_pause(tags, None) == {"owner": "ops"}
    for raw in ("soon", "nan", f"{now + MAX_PAUSE_SECONDS + 10:.0f}"):
        read = read_pause({"failover-paused-until": raw}, now)
        assert read.pause is None and read.problem
    with pytest.raises(PauseError):
        pause_until(60, "")


def _config() -> Config:
    nodes = [
        {"name": "node-a", "vnic_id": "ocid1.vnic.oc1.iad.a", "health_url": "http://127.0.0.1:1/", "priority": 100},
        {"name": "node-b", "vnic_id": "ocid1.vnic.oc1.iad.b", "health_url": "http://127.0.0.1:2/", "priority": 90},
    ]
    return Config.from_env({"VIP_PRIVATE_IP_IDS": "ocid1.privateip.oc1.iad.v", "NODES": json.dumps(nodes)})


def test_pause_in_the_decision_table():
    config = _config()
    pause = Pause(until=2000.0, reason="patch")
    lost = View(holder="node-a", health={"node-a": Health.DOWN, "node-b": Health.HEALTHY}, last_move=None, now=1000.0)
    fine = View(
        holder="node-a", health={"node-a": Health.HEALTHY, "node-b": Health.HEALTHY}, last_move=None, now=1000.0
    )
    notice = KeepalivedNotice(node="node-b", state="MASTER")
    assert decide(notice, lost, config).action is Action.MOVE
    held = decide(notice, View(**{**lost.__dict__, "paused": pause}), config)
    assert (held.action, held.target) == (Action.PAUSE, "node-b")
    quiet = decide(notice, View(**{**fine.__dict__, "paused": pause}), config)
    assert (quiet.action, quiet.target) == (Action.PAUSE, None)  # nothing was held: no move was needed
    manual = decide(Command(action="failover", to="node-b"), View(**{**fine.__dict__, "paused": pause}), config)
    assert manual.action is Action.MOVE
