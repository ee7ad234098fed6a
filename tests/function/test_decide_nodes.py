"""The decision table with two to four nodes and priorities, by property and by example. Pure."""

from __future__ import annotations

import dataclasses
import json

from hypothesis import given, settings
from hypothesis import strategies as st

from failover.config import Config
from failover.decide import HOLDER_UNMANAGED, Action, Health, View, cooldown_left, decide
from failover.events import AlarmEvent, Command, KeepalivedNotice, Stream
from failover.tags import LastMove
from tests.support.function_env import RECORDED_ALARM_ID as ALARM_ID
from tests.support.function_env import config

H, D, U = Health.HEALTHY, Health.DOWN, Health.UNKNOWN
NOW = 1_800_000_000.0
NAMES = ("node-a", "node-b", "node-c", "node-d")


def cluster(priorities: list[int], policy: str = "never") -> Config:
    nodes = [
        {"name": n, "vnic_id": f"ocid1.vnic.oc1.iad.{n}", "health_url": f"http://127.0.0.1:{i + 1}/", "priority": p}
        for i, (n, p) in enumerate(zip(NAMES, priorities, strict=False))
    ]
    return config(NODES=json.dumps(nodes), FAILBACK_POLICY=policy)


def alarm(firing: tuple[str, ...] = (), kind: str = "OK_TO_FIRING", ts: float = NOW - 5) -> AlarmEvent:
    """A message of the deployment's own alarm: FIRING streams for ``firing``, OK for the rest."""
    streams = tuple(
        Stream("FIRING" if n in firing else "OK", (("node", n),), ALARM_ID) for n in dict.fromkeys((*firing, *NAMES))
    )
    return AlarmEvent(type=kind, dedupe_key="alarm-1", timestamp_ms=int(ts * 1000), title="t", streams=streams)


def state(holder: str | None, health: dict[str, Health], moved_ago: float | None = None) -> View:
    last = None
    if moved_ago is not None:
        last = LastMove(
            at=NOW - moved_ago, from_node=None, to_node=holder or "", reason="r", event_key=None, move_id="m"
        )
    return View(holder=holder, health=health, last_move=last, now=NOW)


THREE = cluster([100, 90, 80])
THREE_PREFERRED = cluster([100, 90, 80], "preferred")


def test_failover_goes_to_the_highest_priority_healthy_node_other_than_the_failed_one():
    v = state("node-a", {"node-a": D, "node-b": H, "node-c": H})
    assert decide(alarm(("node-a",)), v, THREE).target == "node-b"
    v = state("node-a", {"node-a": D, "node-b": D, "node-c": H})
    assert decide(alarm(("node-a",)), v, THREE).target == "node-c"
    assert decide(KeepalivedNotice("node-a", "FAULT"), v, THREE).target == "node-c"


def test_a_master_notice_from_a_healthy_lesser_node_moves_to_it():
    # keepalived gave node-c the alias (node-b partitioned from it, say): the cloud IP follows the alias.
    v = state("node-a", {"node-a": D, "node-b": H, "node-c": H})
    d = decide(KeepalivedNotice("node-c", "MASTER"), v, THREE)
    assert (d.action, d.target) == (Action.MOVE, "node-c")


def test_a_master_notice_while_the_holder_serves_is_split_brain_whatever_its_priority():
    v = state("node-c", {"node-a": H, "node-b": H, "node-c": H})
    d = decide(KeepalivedNotice("node-b", "MASTER"), v, THREE)
    assert (d.action, d.target) == (Action.STAY, "node-c") and "split brain" in d.reason


def test_failback_climbs_to_the_best_node_health_allows():
    v = state("node-c", {"node-a": D, "node-b": H, "node-c": H})
    d = decide(alarm(), v, THREE_PREFERRED)
    assert (d.action, d.target) == (Action.MOVE, "node-b") and "outranks node-c" in d.reason
    v = state("node-b", {"node-a": H, "node-b": H, "node-c": H})
    assert decide(KeepalivedNotice("node-a", "MASTER"), v, THREE_PREFERRED).target == "node-a"
    # node-b holds: node-c's MASTER notice is no failback (it does not outrank node-b).
    assert decide(KeepalivedNotice("node-c", "MASTER"), v, THREE_PREFERRED).action is Action.STAY


def test_failback_waits_when_no_node_above_the_holder_serves_and_says_which():
    v = state("node-c", {"node-a": D, "node-b": U, "node-c": H})
    d = decide(alarm(), v, THREE_PREFERRED)
    assert (d.action, d.target) == (Action.STAY, "node-c")
    assert "node-a down, node-b unknown" in d.reason


def test_failback_never_targets_a_node_the_alarm_reports_firing():
    v = state("node-c", {"node-a": H, "node-b": H, "node-c": H})
    assert decide(alarm(("node-a",)), v, THREE_PREFERRED).target == "node-b"


def test_failback_waits_out_the_cooldown():
    v = state("node-c", {"node-a": H, "node-b": H, "node-c": H}, moved_ago=10)
    d = decide(alarm(), v, THREE_PREFERRED)
    assert (d.action, d.target) == (Action.REFUSE, "node-a") and "cooldown" in d.reason


def test_manual_failover_without_a_target_takes_the_best_healthy_other_node():
    v = state("node-a", {"node-a": H, "node-b": D, "node-c": H})
    assert decide(Command("failover"), v, THREE).target == "node-c"


# Properties over two to four nodes, arbitrary priorities (ties included), health and holders.
@st.composite
def scenarios(draw: st.DrawFn) -> tuple[object, View, Config]:
    n = draw(st.integers(2, 4))
    names = NAMES[:n]
    cfg = cluster(
        draw(st.lists(st.integers(0, 3), min_size=n, max_size=n)), draw(st.sampled_from(["never", "preferred"]))
    )
    health = {name: draw(st.sampled_from([H, D, U])) for name in names}
    running = {name: draw(st.sampled_from([True, False, None])) for name in names}
    holder = draw(st.sampled_from([*names, None]))
    ago = draw(st.sampled_from([None, 5.0, 3600.0]))
    event = draw(
        st.one_of(
            st.builds(
                alarm,
                st.lists(st.sampled_from([*names, "other"]), max_size=3).map(tuple),
                st.sampled_from(["OK_TO_FIRING", "REPEAT", "FIRING_TO_OK", "RESET"]),
                st.sampled_from([NOW - 7200, NOW - 5]),
            ),
            st.builds(KeepalivedNotice, st.sampled_from(names), st.sampled_from(["MASTER", "BACKUP", "FAULT", "STOP"])),
            st.builds(Command, st.sampled_from(["status", "failover", "failback"]), st.none(), st.booleans()),
            st.builds(Command, st.just("failover"), st.sampled_from(names), st.booleans(), st.booleans()),
        )
    )
    keepalived = {name: said for name, said in running.items() if said is not None}
    return event, dataclasses.replace(state(holder, health, ago), keepalived=keepalived), cfg


def _rank(cfg: Config, name: str | None) -> int:
    return next((i for i, n in enumerate(cfg.nodes) if n.name == name), len(cfg.nodes))


@settings(max_examples=1500, deadline=None)
@given(scenarios())
def test_invariants_with_n_nodes(scenario):
    event, v, cfg = scenario
    d = decide(event, v, cfg)
    assert d.reason
    assert d == decide(event, v, cfg), "deciding twice is the same"
    held = v.health.get(v.holder, U) if v.holder else U
    if isinstance(event, Command) and event.action == "status":
        assert d.action is Action.REPORT
    if d.action is not Action.MOVE:
        return
    assert d.target in {n.name for n in cfg.nodes} and d.target != v.holder
    if d.forced:
        assert isinstance(event, Command) and event.force
        return
    self_reported = (
        isinstance(event, KeepalivedNotice) and event.state == "MASTER" and event.node == d.target and held is D
    )
    assert v.health[d.target] is H or (self_reported and v.health[d.target] is U)
    if isinstance(event, Command):
        return
    others = [n.name for n in cfg.nodes if n.name != v.holder]
    # Best first: the node that became MASTER, then by priority, nodes the event reports gone last.
    order = [n for n in others if not _reported(event, n, cfg, v)] + [n for n in others if _reported(event, n, cfg, v)]
    if isinstance(event, KeepalivedNotice) and event.state == "MASTER" and event.node in others:
        order = [event.node] + [n for n in order if n != event.node]
    healthy = [n for n in order if v.health[n] is H]
    if held is H and d.code == HOLDER_UNMANAGED:
        # Rule 4b: off a serving holder whose keepalived does not run, to the best managed healthy node.
        assert v.keepalived.get(v.holder) is False
        assert d.target == next(n for n in healthy if v.keepalived.get(n) is True)
        return
    if held is H:
        # Otherwise only a failback leaves a serving holder: to the best healthy node above it
        # whose keepalived is not known stopped; never while the holder itself is unmanaged.
        assert cfg.failback_policy == "preferred" and v.keepalived.get(v.holder) is not False
        above = [n.name for n in cfg.nodes[: _rank(cfg, v.holder)]]
        assert d.target == next(
            n
            for n in above
            if v.health[n] is H and not _reported(event, n, cfg, v) and v.keepalived.get(n) is not False
        )
        assert cooldown_left(v, cfg) == 0
        return
    assert d.code is None
    # Moving off a lost holder: in that order, nodes whose keepalived is known stopped last.
    if healthy:
        assert d.target == next((n for n in healthy if v.keepalived.get(n) is not False), healthy[0])
    if isinstance(event, KeepalivedNotice) and event.state != "MASTER":
        assert event.node == v.holder, "only the holder's own release asks for a repair"


def _reported(event: object, node: str, cfg: Config, v: View | None = None) -> bool:
    """The alarm reports ``node`` gone, and is evidence: fresh, and newer than the last move."""
    if not isinstance(event, AlarmEvent) or node not in event.nodes_with("FIRING", cfg.alarm_ids):
        return False
    at = (event.timestamp_ms or 0) / 1000
    return at >= NOW - 600 and (v is None or v.last_move is None or at >= v.last_move.at)


@settings(max_examples=1000, deadline=None)
@given(scenarios())
def test_a_release_notice_from_a_non_holder_changes_nothing_with_n_nodes(scenario):
    _, v, cfg = scenario
    for node in (n.name for n in cfg.nodes if n.name != v.holder):
        for kind in ("BACKUP", "FAULT", "STOP"):
            d = decide(KeepalivedNotice(node, kind), v, cfg)
            assert (d.action, d.target) == (Action.STAY, v.holder)
