"""The outside-in alarm (OCI Health Checks on the reserved public IP): parsed from the message the
emulator recorded, never evidence against a node, never a failback trigger, and refused loudly
when the function's own checks find nothing wrong. Pure: no I/O, no clock."""

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from failover.config import Config
from failover.decide import OUTSIDE_UNREACHABLE, PUBLIC_IP_DETACHED, Action, Health, View, decide
from failover.events import OUTSIDE_IN_NAMESPACE, AlarmEvent, Stream, parse_event
from failover.tags import LastMove
from tests.support.function_env import RECORDED_ALARM_ID, env
from tests.support.paths import ALARM_FIXTURES

RECORDED = ALARM_FIXTURES / "ocisim-outside-in-split-v1.5.json"
OUTSIDE_ALARM = "ocid1.alarm.oc1.iad.aaaaaaaaoutsideinalarmofthetwonodetopology00000000000000"
MONITOR = "ocid1.httpmonitor.oc1..aaaaaaaaoutsideinmonitorofthetwonodetopology0000000000"
H, D, U = Health.HEALTHY, Health.DOWN, Health.UNKNOWN
NOW = 1_796_180_650.0  # ten seconds after the recorded message was evaluated


def cfg(**overrides: str) -> Config:
    return Config.from_env(env(ALARM_IDS=f"{RECORDED_ALARM_ID},{OUTSIDE_ALARM}", **overrides))


def outside(kind: str = "OK_TO_FIRING", dims: tuple[tuple[str, str], ...] = (("resourceId", MONITOR),)) -> AlarmEvent:
    status = "OK" if kind == "FIRING_TO_OK" else "RESET" if kind == "RESET" else "FIRING"
    stream = Stream(status, dims, OUTSIDE_ALARM, OUTSIDE_IN_NAMESPACE)
    return AlarmEvent(type=kind, dedupe_key="oi", timestamp_ms=int((NOW - 10) * 1000), title="t", streams=(stream,))


def view(a: Health = H, b: Health = H, holder: str = "node-a", public_ips: tuple[str, ...] | None = ("203.0.113.7",)):
    return View(holder=holder, health={"node-a": a, "node-b": b}, last_move=None, now=NOW, public_ips=public_ips)


def test_the_recorded_message_is_the_outside_in_alarm_and_names_no_node() -> None:
    event = parse_event(RECORDED.read_bytes())

    assert isinstance(event, AlarmEvent) and event.type == "OK_TO_FIRING"
    assert [(s.namespace, s.dimensions) for s in event.streams] == [(OUTSIDE_IN_NAMESPACE, (("resourceId", MONITOR),))]
    assert event.is_outside_in(frozenset({OUTSIDE_ALARM}))
    assert not event.is_outside_in(frozenset({RECORDED_ALARM_ID})), "only the deployment's own alarm counts"
    assert event.nodes_with("FIRING", frozenset({OUTSIDE_ALARM})) == frozenset()


def test_a_health_checks_dimension_is_never_read_as_a_node_name() -> None:
    event = outside(dims=(("resourceDisplayName", "node-a"), ("resourceId", MONITOR)))

    assert event.nodes_with("FIRING", frozenset({OUTSIDE_ALARM})) == frozenset()
    # With node-a unverifiable, a stream naming it would move the IP; this one must not.
    assert decide(event, view(a=U), cfg()).action is Action.STAY


def test_holder_serves_and_everything_holds_refuses_loudly() -> None:
    decision = decide(outside(), view(), cfg())

    assert (decision.action, decision.code, decision.target) == (Action.REFUSE, OUTSIDE_UNREACHABLE, None)
    assert "clients cannot reach the VIP but every check holds" in decision.reason
    assert "NSG" in decision.reason and "203.0.113.7" in decision.reason


def test_a_detached_public_ip_is_refused_with_its_own_code() -> None:
    decision = decide(outside("REPEAT"), view(public_ips=()), cfg())

    assert (decision.action, decision.code) == (Action.REFUSE, PUBLIC_IP_DETACHED)
    assert "re-attach the reserved public IP" in decision.reason


def test_a_group_of_ipv6_vips_only_is_not_what_the_outside_in_alarm_watches() -> None:
    decision = decide(outside(), dataclasses.replace(view(public_ips=()), carries_public_ip=False), cfg())

    assert (decision.action, decision.target, decision.code) == (Action.STAY, "node-a", None)
    assert "no VIP of this group (IPv6)" in decision.reason


def test_an_unreadable_attachment_still_refuses_and_says_it_could_not_read() -> None:
    decision = decide(outside(), view(public_ips=None), cfg())

    assert decision.code == OUTSIDE_UNREACHABLE and "could not be read" in decision.reason


def test_holder_down_by_the_functions_own_probe_moves_to_a_healthy_node() -> None:
    decision = decide(outside(), view(a=D), cfg())

    assert (decision.action, decision.target, decision.code) == (Action.MOVE, "node-b", None)
    assert "holder node-a is down after outside-in alarm" in decision.reason


def test_holder_that_cannot_be_checked_stays() -> None:
    assert decide(outside(), view(a=U), cfg()).action is Action.STAY


@pytest.mark.parametrize("kind", ["FIRING_TO_OK", "RESET"])
def test_clearing_is_logged_and_is_never_a_failback(kind: str) -> None:
    # node-b holds, node-a (the preferred node) is healthy: any other alarm of ours fails back.
    decision = decide(outside(kind), view(holder="node-b"), cfg(FAILBACK_POLICY="preferred"))

    assert (decision.action, decision.target, decision.code) == (Action.STAY, "node-b", None)
    assert "clients reach the VIP again" in decision.reason


def test_a_split_group_is_completed_as_the_repair() -> None:
    split = View(
        holder="node-a", health={"node-a": H, "node-b": H}, last_move=None, now=NOW, split=frozenset({"node-b"})
    )

    decision = decide(outside(), split, cfg())

    assert (decision.action, decision.target) == (Action.MOVE, "node-a")


@settings(max_examples=300, deadline=None)
@given(
    kind=st.sampled_from(["OK_TO_FIRING", "REPEAT", "FIRING_TO_OK", "RESET"]),
    a=st.sampled_from([H, D, U]),
    b=st.sampled_from([H, D, U]),
    holder=st.sampled_from(["node-a", "node-b"]),
    policy=st.sampled_from(["never", "preferred"]),
    public_ips=st.sampled_from([None, (), ("203.0.113.7",)]),
    moved_ago=st.none() | st.floats(min_value=0, max_value=10_000),
)
def test_the_outside_in_alarm_never_moves_away_from_a_holder_that_serves(
    kind: str, a: Health, b: Health, holder: str, policy: str, public_ips, moved_ago
) -> None:
    last = None if moved_ago is None else LastMove(NOW - moved_ago, "node-b", "node-a", "r", None, "m")
    v = View(holder=holder, health={"node-a": a, "node-b": b}, last_move=last, now=NOW, public_ips=public_ips)

    decision = decide(outside(kind), v, cfg(FAILBACK_POLICY=policy))

    if v.health[holder] is H:
        assert decision.action is not Action.MOVE
    if decision.action is Action.MOVE:
        assert v.health[holder] is D and v.health[decision.target] is H


def test_rule_7_comes_before_rule_4b_an_unmanaged_holder_that_serves_is_refused_not_moved() -> None:
    """The outside-in alarm says nothing about keepalived: the holder serves, so it is still refused
    loudly (moving would not reach clients either); the peer's MASTER notice hands it over."""
    unmanaged = dataclasses.replace(view(), keepalived={"node-a": False, "node-b": True})
    decision = decide(outside(), unmanaged, cfg())
    assert (decision.action, decision.code) == (Action.REFUSE, OUTSIDE_UNREACHABLE)
