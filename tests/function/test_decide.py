"""The decision table, exhaustively and by property. Pure: no I/O, no clock."""

import dataclasses
import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from failover.decide import HOLDER_UNMANAGED, Action, Decision, Health, View, cooldown_left, decide
from failover.events import AlarmEvent, Command, KeepalivedNotice, Stream
from failover.tags import LastMove, Pause
from tests.support.function_env import RECORDED_ALARM_ID, config

H, D, U = Health.HEALTHY, Health.DOWN, Health.UNKNOWN
NOW = 1_800_000_000.0
NEVER = config()
PREFERRED = config(FAILBACK_POLICY="preferred")


def alarm(kind="OK_TO_FIRING", firing=("node-a",), ok=(), ts=NOW + 5):
    streams = tuple(Stream("FIRING", (("node", n),), RECORDED_ALARM_ID) for n in firing)
    streams += tuple(Stream("OK", (("node", n),), RECORDED_ALARM_ID) for n in ok)
    return AlarmEvent(type=kind, dedupe_key="alarm-1", timestamp_ms=int(ts * 1000), title="t", streams=streams)


def view(a=H, b=H, holder="node-a", moved_ago=None, event_key=None):
    last = None
    if moved_ago is not None:
        last = LastMove(
            at=NOW - moved_ago, from_node="node-b", to_node="node-a", reason="r", event_key=event_key, move_id="m"
        )
    return View(holder=holder, health={"node-a": a, "node-b": b}, last_move=last, now=NOW)


# The table, row by row: event, holder health (node-a holds), peer health, cooldown?, policy → action, target.
TABLE = [
    # Alarm FIRING about the holder.
    (alarm(), H, H, False, NEVER, Action.STAY, "node-a"),  # alarm disagrees with our probe: trust the probe
    (alarm(), D, H, False, NEVER, Action.MOVE, "node-b"),
    (alarm(), D, H, True, NEVER, Action.MOVE, "node-b"),  # cooldown never pins the IP to a dead holder
    (alarm(), U, H, False, NEVER, Action.MOVE, "node-b"),  # unverifiable + independent report: gone
    (alarm(), D, D, False, NEVER, Action.REFUSE, None),  # nowhere to go: stay, say so
    (alarm(), D, U, False, NEVER, Action.REFUSE, None),  # target unverifiable: never a destination
    (alarm(), U, U, False, NEVER, Action.REFUSE, None),
    # REPEAT after the move already happened (holder node-b): nothing to do.
    (alarm("REPEAT"), H, H, False, NEVER, Action.STAY, "node-a"),
    # Alarm about the *other* node, holder unverifiable: "cannot verify" alone never moves.
    (alarm(firing=("node-b",)), U, H, False, NEVER, Action.STAY, "node-a"),
    (alarm(firing=("node-b",)), D, H, False, NEVER, Action.MOVE, "node-b"),  # our probe of node-b beats the report
    (alarm(firing=("node-a", "node-b")), U, H, False, NEVER, Action.MOVE, "node-b"),
    # FIRING_TO_OK / RESET: repair if the holder is down, otherwise nothing (failback: see below).
    (alarm("FIRING_TO_OK", firing=(), ok=("node-a",)), H, H, False, NEVER, Action.STAY, "node-a"),
    (alarm("FIRING_TO_OK", firing=(), ok=("node-a",)), D, H, False, NEVER, Action.MOVE, "node-b"),
    (alarm("RESET", firing=()), U, H, False, NEVER, Action.STAY, "node-a"),
    # keepalived: node-b became MASTER.
    (KeepalivedNotice("node-b", "MASTER"), H, H, False, NEVER, Action.STAY, "node-a"),  # split brain: holder serves
    (KeepalivedNotice("node-b", "MASTER"), D, H, False, NEVER, Action.MOVE, "node-b"),
    (
        KeepalivedNotice("node-b", "MASTER"),
        U,
        H,
        False,
        NEVER,
        Action.MOVE,
        "node-b",
    ),  # peer lost VRRP + we cannot reach
    (KeepalivedNotice("node-b", "MASTER"), D, D, False, NEVER, Action.REFUSE, None),
    (KeepalivedNotice("node-b", "MASTER"), D, U, False, NEVER, Action.MOVE, "node-b"),  # its own word: holds the alias
    (KeepalivedNotice("node-a", "MASTER"), H, H, False, NEVER, Action.STAY, "node-a"),  # already there
    (KeepalivedNotice("node-a", "MASTER"), U, H, False, NEVER, Action.STAY, "node-a"),
    # keepalived left MASTER. From a node that does not hold the VIP: nothing to repair.
    (KeepalivedNotice("node-b", "BACKUP"), D, H, False, NEVER, Action.STAY, "node-a"),
    (KeepalivedNotice("node-b", "STOP"), U, H, False, NEVER, Action.STAY, "node-a"),
    # From the holder: a repair request; the holder's own probe ("serving") decides.
    (KeepalivedNotice("node-a", "STOP"), D, H, False, NEVER, Action.MOVE, "node-b"),  # stopped: alias dropped
    (KeepalivedNotice("node-a", "BACKUP"), D, H, True, NEVER, Action.MOVE, "node-b"),  # restarted as BACKUP
    (KeepalivedNotice("node-a", "FAULT"), D, H, False, NEVER, Action.MOVE, "node-b"),
    (KeepalivedNotice("node-a", "STOP"), H, H, False, NEVER, Action.STAY, "node-a"),  # alias kept: still serves
    (KeepalivedNotice("node-a", "BACKUP"), U, H, False, NEVER, Action.MOVE, "node-b"),  # unreachable, says it left
    (KeepalivedNotice("node-a", "BACKUP"), D, D, False, NEVER, Action.REFUSE, None),  # nobody serves: stay
    (KeepalivedNotice("node-a", "FAULT"), D, U, False, NEVER, Action.REFUSE, None),  # target unverifiable
    (KeepalivedNotice("node-a", "STOP"), U, U, False, NEVER, Action.REFUSE, None),
    # Manual.
    (Command("status"), D, D, False, NEVER, Action.REPORT, "node-a"),
    (Command("failover"), H, H, False, NEVER, Action.MOVE, "node-b"),
    (Command("failover", "node-b"), H, D, False, NEVER, Action.REFUSE, "node-b"),
    (Command("failover", "node-b"), H, U, False, NEVER, Action.REFUSE, "node-b"),
    (Command("failover"), H, D, False, NEVER, Action.REFUSE, None),
    (Command("failover", "node-b"), H, H, True, NEVER, Action.REFUSE, "node-b"),  # cooldown
    (Command("failover", "node-b"), D, H, True, NEVER, Action.MOVE, "node-b"),  # ...unless holder down
    (Command("failover", "node-b", force=True), H, D, True, NEVER, Action.MOVE, "node-b"),
    (Command("failover", "node-a"), H, H, False, NEVER, Action.STAY, "node-a"),
    (Command("failback"), H, H, False, NEVER, Action.STAY, "node-a"),
]


@pytest.mark.parametrize("event, a, b, cooling, cfg, action, target", TABLE)
def test_table(event, a, b, cooling, cfg, action, target):
    decision = decide(event, view(a, b, moved_ago=10 if cooling else None), cfg)
    assert (decision.action, decision.target) == (action, target), decision.reason


# Holder node-b (after a failover); node-a is preferred. Failback rows.
FAILBACK = [
    (alarm("FIRING_TO_OK", firing=(), ok=("node-a",)), H, H, False, PREFERRED, Action.MOVE, "node-a"),
    (alarm("FIRING_TO_OK", firing=(), ok=("node-a",)), H, H, True, PREFERRED, Action.REFUSE, "node-a"),
    (alarm("FIRING_TO_OK", firing=(), ok=("node-a",)), U, H, False, PREFERRED, Action.STAY, "node-b"),
    (alarm("FIRING_TO_OK", firing=(), ok=("node-a",)), H, H, False, NEVER, Action.STAY, "node-b"),
    (alarm("RESET", firing=(), ok=("node-a",)), H, H, False, PREFERRED, Action.MOVE, "node-a"),
    (alarm("REPEAT", firing=("node-a",)), H, H, False, PREFERRED, Action.STAY, "node-b"),  # preferred still firing
    (KeepalivedNotice("node-a", "MASTER"), H, H, False, PREFERRED, Action.MOVE, "node-a"),  # preemption
    (KeepalivedNotice("node-a", "MASTER"), H, H, False, NEVER, Action.STAY, "node-b"),
    (KeepalivedNotice("node-a", "MASTER"), H, H, True, PREFERRED, Action.REFUSE, "node-a"),
    (Command("failback"), H, H, False, NEVER, Action.MOVE, "node-a"),  # manual works under any policy
    (Command("failback"), D, H, False, NEVER, Action.REFUSE, "node-a"),
    (Command("failback", dry_run=True), H, H, False, NEVER, Action.MOVE, "node-a"),  # dry run: shell skips the write
]


@pytest.mark.parametrize("event, a, b, cooling, cfg, action, target", FAILBACK)
def test_failback_table(event, a, b, cooling, cfg, action, target):
    decision = decide(event, view(a, b, holder="node-b", moved_ago=10 if cooling else None), cfg)
    assert (decision.action, decision.target) == (action, target), decision.reason


def test_duplicate_alarm_delivery_is_a_no_op():
    event = alarm()
    decision = decide(event, view(D, H, moved_ago=5, event_key=event.key), NEVER)
    assert decision.action is Action.STAY and "duplicate" in decision.reason


def test_stale_alarm_is_not_evidence():
    # Delivered late: evaluated before the last move. It cannot vouch that the holder is gone now.
    stale = alarm(ts=NOW - 3600)
    assert decide(stale, view(U, H, moved_ago=60), NEVER).action is Action.STAY
    assert decide(stale, view(D, H, moved_ago=60), NEVER).action is Action.MOVE  # our own probe still counts


def test_alarm_delivered_hours_late_is_not_evidence_even_without_a_move_on_record():
    # Found by the chaos matrix (notifications:2h-late): Notifications retries for two hours, so a
    # FIRING about a holder the function cannot reach (but which serves) may arrive long after the
    # fact, with no move since to compare against. Only a recent evaluation vouches for "gone".
    late = alarm(ts=NOW - 2 * 3600)
    assert decide(late, view(U, H), NEVER).action is Action.STAY
    assert decide(late, view(D, H), NEVER).action is Action.MOVE  # our own probe still counts
    assert decide(alarm(ts=NOW - 60), view(U, H), NEVER).action is Action.MOVE


def test_a_release_notice_from_the_holder_names_what_happened():
    moved = decide(KeepalivedNotice("node-a", "STOP"), view(D, H), NEVER)
    assert "keepalived STOP from node-a" in moved.reason and "node-b is healthy" in moved.reason
    kept = decide(KeepalivedNotice("node-a", "BACKUP"), view(H, H), NEVER)
    assert "still serves" in kept.reason
    ignored = decide(KeepalivedNotice("node-b", "FAULT"), view(D, H), NEVER)
    assert "does not hold the VIP" in ignored.reason


def test_a_release_notice_from_a_lesser_holder_is_no_failback():
    # node-b holds and still serves; its BACKUP notice must not send the VIP to preferred node-a.
    assert decide(KeepalivedNotice("node-b", "BACKUP"), view(H, H, holder="node-b"), PREFERRED).action is Action.STAY
    assert decide(KeepalivedNotice("node-b", "BACKUP"), view(H, D, holder="node-b"), PREFERRED).target == "node-a"


def test_three_nodes_a_release_notice_moves_to_the_best_serving_node():
    import json

    nodes = [
        {"name": n, "vnic_id": f"ocid1.vnic.oc1.iad.{n}", "health_url": f"http://127.0.0.1:1/{n}", "priority": p}
        for n, p in (("node-a", 100), ("node-b", 90), ("node-c", 80))
    ]
    cfg = config(NODES=json.dumps(nodes))
    v = View(holder="node-a", health={"node-a": D, "node-b": D, "node-c": H}, last_move=None, now=NOW)
    assert decide(KeepalivedNotice("node-a", "STOP"), v, cfg).target == "node-c"


def test_vip_on_a_foreign_vnic():
    assert decide(alarm(), view(D, H, holder=None), NEVER).action is Action.REFUSE
    assert decide(Command("failover", "node-b"), view(D, H, holder=None), NEVER).action is Action.MOVE


def test_forced_move_is_marked_and_says_so():
    decision = decide(Command("failover", "node-b", force=True), view(H, D), NEVER)
    assert decision.forced and "forced" in decision.reason


def test_reasons_name_what_could_not_be_verified():
    assert "could not verify" in decide(alarm(firing=("node-b",)), view(U, H), NEVER).reason
    assert "node-b unknown" in decide(alarm(), view(D, U), NEVER).reason


def test_cooldown_left():
    assert cooldown_left(view(moved_ago=None), NEVER) == 0
    assert cooldown_left(view(moved_ago=20), NEVER) == pytest.approx(40)
    assert cooldown_left(view(moved_ago=90), NEVER) == 0


# Properties over every combination: the invariants of docs/reliability.md in decision form.
healths = st.sampled_from([H, D, U])
events = st.one_of(
    st.builds(
        alarm,
        st.sampled_from(["OK_TO_FIRING", "REPEAT", "FIRING_TO_OK", "RESET"]),
        st.lists(st.sampled_from(["node-a", "node-b", "other"]), max_size=3).map(tuple),
        st.lists(st.sampled_from(["node-a", "node-b"]), max_size=2).map(tuple),
        st.sampled_from([NOW - 7200, NOW - 30, NOW + 5]),
    ),
    st.builds(
        KeepalivedNotice, st.sampled_from(["node-a", "node-b"]), st.sampled_from(["MASTER", "BACKUP", "FAULT", "STOP"])
    ),
    st.builds(Command, st.sampled_from(["status", "failover", "failback"]), st.none(), st.booleans(), st.booleans()),
    st.builds(Command, st.just("failover"), st.sampled_from(["node-a", "node-b"]), st.booleans(), st.booleans()),
)
# Whether a node's keepalived runs as its agent says; None: the agent does not say.
keepalived_states = st.sampled_from([True, False, None])


def with_keepalived(v: View, **running: bool | None) -> View:
    """``v`` with each node's keepalived as given (``node_a=False``: node-a's does not run)."""
    said = {name.replace("_", "-"): state for name, state in running.items() if state is not None}
    return dataclasses.replace(v, keepalived=said)


views = st.builds(
    lambda a, b, holder, ago, ka, kb: with_keepalived(view(a, b, holder=holder, moved_ago=ago), node_a=ka, node_b=kb),
    healths,
    healths,
    st.sampled_from(["node-a", "node-b", None]),
    st.sampled_from([None, 1.0, 30.0, 3600.0]),
    keepalived_states,
    keepalived_states,
)


@settings(max_examples=2000, deadline=None)
@given(events, views, st.sampled_from([NEVER, PREFERRED]))
def test_invariants(event, v, cfg):
    d: Decision = decide(event, v, cfg)
    manual = isinstance(event, Command)
    holder_health = v.health.get(v.holder, U) if v.holder else U
    protective = d.code == HOLDER_UNMANAGED
    assert isinstance(d.reason, str) and d.reason
    if protective:
        # Rule 4b: only off a serving holder known unmanaged, only to a healthy peer known managed.
        assert d.action is Action.MOVE and not manual
        assert holder_health is H and v.keepalived.get(v.holder) is False
        assert v.health[d.target] is H and v.keepalived.get(d.target) is True
    if d.action is Action.MOVE:
        assert d.target is not None and d.target != v.holder
        if not d.forced:
            self_reported = (
                isinstance(event, KeepalivedNotice)
                and event.state == "MASTER"
                and event.node == d.target
                and holder_health is D
            )
            assert v.health[d.target] is H or (self_reported and v.health[d.target] is U), (
                "moves only to a node verified healthy, or one that took the alias itself from a dead holder"
            )
            if cooldown_left(v, cfg) > 0:
                assert holder_health is not H or protective, (
                    "inside the cooldown only a lost or unmanaged holder is left"
                )
        if not manual:
            assert not d.forced
            if holder_health is H and not protective:
                assert cfg.failback_policy == "preferred" and d.target == cfg.preferred.name
                assert v.keepalived.get(d.target) is not False, "no failback to a node whose keepalived is stopped"
            if holder_health is U and isinstance(event, AlarmEvent):
                assert v.holder in event.nodes_with("FIRING", cfg.alarm_ids), "unknown alone never moves"
            if isinstance(event, KeepalivedNotice) and event.state != "MASTER":
                assert event.node == v.holder, "only the holder's own release asks for a repair"
                assert holder_health is not H or protective, "a managed holder that still serves is never left"
    if d.forced:
        assert manual and event.force
    if isinstance(event, Command) and event.action == "status":
        assert d.action is Action.REPORT


@settings(max_examples=300, deadline=None)
@given(events, views, st.sampled_from([NEVER, PREFERRED]))
def test_deciding_twice_is_the_same(event, v, cfg):
    assert decide(event, v, cfg) == decide(event, v, cfg)


@settings(max_examples=500, deadline=None)
@given(st.sampled_from(["BACKUP", "FAULT", "STOP"]), views, st.sampled_from([NEVER, PREFERRED]))
def test_a_release_notice_from_a_non_holder_changes_nothing(state, v, cfg):
    for node in ("node-a", "node-b"):
        if node != v.holder:
            d = decide(KeepalivedNotice(node, state), v, cfg)
            assert (d.action, d.target) == (Action.STAY, v.holder)


@settings(max_examples=500, deadline=None)
@given(
    st.sampled_from(["BACKUP", "FAULT", "STOP"]),
    healths,
    healths,
    st.sampled_from([NEVER, PREFERRED]),
    st.sampled_from([None, 1.0, 3600.0]),
)
def test_a_release_notice_from_the_holder_repairs_exactly_when_it_no_longer_serves(state, a, b, cfg, ago):
    d = decide(KeepalivedNotice("node-a", state), view(a, b, moved_ago=ago), cfg)
    repair_needed = a is not H and b is H
    assert (d.action is Action.MOVE) == repair_needed, d.reason
    if repair_needed:
        assert d.target == "node-b"  # the cooldown never pins the VIP to a node that stopped serving
    elif a is H:
        assert (d.action, d.target) == (Action.STAY, "node-a")
    else:
        assert (d.action, d.target) == (Action.REFUSE, None)


@settings(max_examples=500, deadline=None)
@given(events, st.sampled_from([None, 1.0, 30.0, 3600.0]), st.sampled_from([NEVER, PREFERRED]))
def test_a_serving_holder_whose_keepalived_does_not_run_goes_to_the_managed_peer_on_any_automatic_event(
    event, ago, cfg
):
    v = with_keepalived(view(H, H, moved_ago=ago), node_a=False, node_b=True)
    d = decide(event, v, cfg)
    nothing_to_repair = isinstance(event, KeepalivedNotice) and event.node == "node-b" and event.state != "MASTER"
    if isinstance(event, Command) or nothing_to_repair:
        assert d.code is None
    else:
        assert (d.action, d.target, d.code) == (Action.MOVE, "node-b", HOLDER_UNMANAGED), d.reason
    # Both managed (split brain) or the holder's keepalived not reported: rule 4b never acts.
    for running in (True, None):
        assert decide(event, with_keepalived(v, node_a=running, node_b=True), cfg).code is None


def test_every_combination_of_the_matrix_decides():
    combos = itertools.product(
        [
            alarm(),
            alarm("REPEAT"),
            alarm("FIRING_TO_OK", firing=(), ok=("node-a",)),
            alarm("RESET", firing=()),
            KeepalivedNotice("node-b", "MASTER"),
            KeepalivedNotice("node-a", "STOP"),
            Command("failover"),
            Command("failback"),
            Command("status"),
        ],
        [H, D, U],
        [H, D, U],
        [None, 10.0],
        [NEVER, PREFERRED],
        ["node-a", "node-b"],
        [None, Pause(until=NOW + 600, reason="maintenance")],
    )
    seen = {
        decide(e, dataclasses.replace(view(a, b, holder=holder, moved_ago=ago), paused=p), cfg).action
        for e, a, b, ago, cfg, holder, p in combos
    }
    assert seen == set(Action)


def test_three_nodes_prefer_a_healthy_node_the_alarm_does_not_report():
    import json

    nodes = [
        {"name": n, "vnic_id": f"ocid1.vnic.oc1.iad.{n}", "health_url": f"http://127.0.0.1:1/{n}", "priority": p}
        for n, p in (("node-a", 100), ("node-b", 90), ("node-c", 80))
    ]
    cfg = config(NODES=json.dumps(nodes))
    v = View(holder="node-a", health={"node-a": D, "node-b": H, "node-c": H}, last_move=None, now=NOW)
    assert decide(alarm(firing=("node-a", "node-b")), v, cfg).target == "node-c"
    assert decide(alarm(firing=("node-a",)), v, cfg).target == "node-b"
    assert decide(Command("failover"), v, cfg).target == "node-b"


def test_master_notice_from_an_unverifiable_peer_moves_off_a_dead_holder():
    """The lab's health-blocked fault: the function cannot reach node-b's health port, node-a's
    haproxy dies, node-b becomes MASTER. Staying is a certain outage; node-b's own notice counts."""
    d = decide(KeepalivedNotice("node-b", "MASTER"), view(D, U), NEVER)
    assert (d.action, d.target) == (Action.MOVE, "node-b") and "became MASTER itself" in d.reason


@pytest.mark.parametrize("holder, peer", [(U, U), (H, U), (D, D)])
def test_master_notice_is_no_substitute_when_the_holder_is_not_verified_down(holder, peer):
    d = decide(KeepalivedNotice("node-b", "MASTER"), view(holder, peer), NEVER)
    assert d.action is not Action.MOVE or peer is H
