"""Rule 4b by example: a holder that serves but whose keepalived does not run (SIGKILLed, the
alias left behind) hands the VIP to a healthy peer whose keepalived runs, once. Pure."""

from __future__ import annotations

import dataclasses

import pytest

from failover.decide import HOLDER_UNMANAGED, Action, Health, View, decide, permitted
from failover.events import KeepalivedNotice
from failover.tags import LastMove, Pause
from tests.function.test_decide import NEVER, NOW, PREFERRED, alarm
from tests.function.test_decide_nodes import THREE, THREE_PREFERRED
from tests.function.test_decide_nodes import alarm as cluster_alarm

H, D, U = Health.HEALTHY, Health.DOWN, Health.UNKNOWN
MASTER_B = KeepalivedNotice("node-b", "MASTER")


def view(
    health: dict[str, Health],
    keepalived: dict[str, bool],
    holder: str = "node-a",
    moved_ago: float | None = None,
    paused: Pause | None = None,
) -> View:
    last = None
    if moved_ago is not None:
        last = LastMove(at=NOW - moved_ago, from_node="node-b", to_node=holder, reason="r", event_key=None, move_id="m")
    return View(holder=holder, health=health, last_move=last, now=NOW, paused=paused, keepalived=keepalived)


KILLED_ON_A = view({"node-a": H, "node-b": H}, {"node-a": False, "node-b": True})


def test_the_peers_master_notice_moves_the_vip_off_a_holder_whose_keepalived_was_killed() -> None:
    d = decide(MASTER_B, KILLED_ON_A, NEVER)
    assert (d.action, d.target, d.code) == (Action.MOVE, "node-b", HOLDER_UNMANAGED)
    assert "holder node-a serves but its keepalived does not run" in d.reason and "planned move" in d.reason
    assert not d.forced


@pytest.mark.parametrize("moved_ago", [1.0, 30.0])
def test_the_cooldown_does_not_hold_it_back_the_notice_comes_once(moved_ago: float) -> None:
    d = decide(MASTER_B, dataclasses.replace(KILLED_ON_A, last_move=view({}, {}, moved_ago=moved_ago).last_move), NEVER)
    assert (d.action, d.target) == (Action.MOVE, "node-b")


@pytest.mark.parametrize(
    "event", [alarm(), alarm("REPEAT"), alarm("FIRING_TO_OK", firing=(), ok=("node-a",)), alarm(ts=NOW - 7200)]
)
def test_an_alarm_that_finds_the_same_state_moves_it_too(event: object) -> None:
    d = decide(event, KILLED_ON_A, NEVER)  # type: ignore[arg-type]
    assert (d.action, d.target, d.code) == (Action.MOVE, "node-b", HOLDER_UNMANAGED)


def test_split_brain_with_both_keepalived_running_keeps_the_vip_where_it_is() -> None:
    d = decide(MASTER_B, view({"node-a": H, "node-b": H}, {"node-a": True, "node-b": True}), NEVER)
    assert (d.action, d.target, d.code) == (Action.STAY, "node-a", None) and "split brain" in d.reason


@pytest.mark.parametrize(
    "health, keepalived, why",
    [
        ({"node-a": H, "node-b": H}, {"node-a": False, "node-b": False}, "node-b healthy (keepalived not running)"),
        ({"node-a": H, "node-b": H}, {"node-a": False}, "node-b healthy)"),  # its agent does not say
        ({"node-a": H, "node-b": D}, {"node-a": False, "node-b": True}, "node-b down (keepalived running)"),
        ({"node-a": H, "node-b": U}, {"node-a": False, "node-b": True}, "node-b unknown"),
    ],
)
def test_never_to_an_unmanaged_or_unhealthy_target(health: dict, keepalived: dict, why: str) -> None:
    d = decide(MASTER_B, view(health, keepalived), NEVER)
    assert (d.action, d.target) == (Action.STAY, "node-a")
    assert "no healthy node whose keepalived runs" in d.reason and why in d.reason


def test_a_holder_whose_agent_does_not_report_keepalived_is_not_unmanaged() -> None:
    d = decide(MASTER_B, view({"node-a": H, "node-b": H}, {"node-b": True}), NEVER)
    assert (d.action, d.target) == (Action.STAY, "node-a") and "split brain" in d.reason


def test_paused_nothing_moves_and_the_reason_says_what_would_have() -> None:
    pause = Pause(until=NOW + 600, reason="maintenance")
    d = decide(MASTER_B, dataclasses.replace(KILLED_ON_A, paused=pause), NEVER)
    assert (d.action, d.target) == (Action.PAUSE, "node-b")
    assert "not moving to node-b" in d.reason and "keepalived does not run" in d.reason


def test_the_events_function_takes_it_it_is_no_manual_move() -> None:
    assert permitted(MASTER_B, "events") is None
    assert not decide(MASTER_B, KILLED_ON_A, NEVER).forced


def test_once_moved_a_repeated_notice_or_alarm_does_nothing_and_no_failback_returns_to_the_unmanaged_node() -> None:
    after = view({"node-a": H, "node-b": H}, {"node-a": False, "node-b": True}, holder="node-b", moved_ago=5.0)
    assert decide(MASTER_B, after, NEVER).action is Action.STAY
    later = dataclasses.replace(after, last_move=view({}, {}, moved_ago=3600).last_move)
    for cfg in (NEVER, PREFERRED):
        for event in (alarm("FIRING_TO_OK", firing=(), ok=("node-a",)), KeepalivedNotice("node-a", "MASTER")):
            d = decide(event, later, cfg)
            assert (d.action, d.target) == (Action.STAY, "node-b"), d.reason


def test_the_holders_own_release_notice_with_the_alias_kept_and_keepalived_gone_moves_too() -> None:
    d = decide(KeepalivedNotice("node-a", "STOP"), KILLED_ON_A, NEVER)
    assert (d.action, d.target, d.code) == (Action.MOVE, "node-b", HOLDER_UNMANAGED)


def test_a_lost_holder_goes_to_a_managed_node_before_an_unmanaged_one_but_an_unmanaged_one_beats_staying() -> None:
    health = {"node-a": D, "node-b": H, "node-c": H}
    d = decide(alarm(), view(health, {"node-b": False, "node-c": True}), THREE)
    assert (d.action, d.target) == (Action.MOVE, "node-c")
    d = decide(alarm(), view({"node-a": D, "node-b": H}, {"node-b": False}), NEVER)
    assert (d.action, d.target) == (Action.MOVE, "node-b") and "no healthy node's does" in d.reason


# Three nodes: node-a (100) holds, node-b (90), node-c (80).
KILLED_ON_A3 = view({"node-a": H, "node-b": H, "node-c": H}, {"node-a": False, "node-b": True, "node-c": True})


def test_three_nodes_the_node_that_became_master_is_first() -> None:
    d = decide(KeepalivedNotice("node-c", "MASTER"), KILLED_ON_A3, THREE)
    assert (d.action, d.target, d.code) == (Action.MOVE, "node-c", HOLDER_UNMANAGED)


def test_three_nodes_an_alarm_takes_the_best_managed_node_the_alarm_does_not_report() -> None:
    assert decide(alarm(firing=()), KILLED_ON_A3, THREE).target == "node-b"
    assert decide(alarm(firing=("node-b",)), KILLED_ON_A3, THREE).target == "node-c"


def test_three_nodes_a_master_that_is_itself_unmanaged_or_down_is_passed_over() -> None:
    unmanaged_c = dataclasses.replace(KILLED_ON_A3, keepalived={"node-a": False, "node-b": True, "node-c": False})
    assert decide(KeepalivedNotice("node-c", "MASTER"), unmanaged_c, THREE).target == "node-b"
    down_b = dataclasses.replace(KILLED_ON_A3, health={"node-a": H, "node-b": D, "node-c": H})
    assert decide(MASTER_B, down_b, THREE).target == "node-c"
    nobody = dataclasses.replace(KILLED_ON_A3, keepalived={"node-a": False, "node-b": False, "node-c": False})
    d = decide(MASTER_B, nobody, THREE)
    assert (d.action, d.target) == (Action.STAY, "node-a")


def test_three_nodes_split_brain_with_every_keepalived_running_stays() -> None:
    running = dataclasses.replace(KILLED_ON_A3, keepalived={"node-a": True, "node-b": True, "node-c": True})
    assert decide(KeepalivedNotice("node-c", "MASTER"), running, THREE).action is Action.STAY


def test_three_nodes_failback_skips_an_unmanaged_preferred_node_for_the_next_best() -> None:
    v = view(
        {"node-a": H, "node-b": H, "node-c": H}, {"node-a": False, "node-b": True, "node-c": True}, holder="node-c"
    )
    d = decide(cluster_alarm(kind="FIRING_TO_OK"), v, THREE_PREFERRED)
    assert (d.action, d.target) == (Action.MOVE, "node-b") and d.code is None
