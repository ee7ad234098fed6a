"""The decision table: what to do with one VIP, given an event and what the shell observed.

Pure: no I/O, no clock (``View.now`` is handed in). The rules, in the order they apply:

0. The events function (``ROLE=events``) refuses manual failover/failback and the doctor before
   anything is read (``permitted``): only the operators' function takes them.
1. ``status`` reports; nothing moves.
2. An alarm message identical to the one that caused the last move (same dedupeKey and
   timestamp) is a duplicate delivery: nothing moves.
3. Manual ``failover``/``failback``: the target is ``to``, the best healthy other node, or the
   preferred node. It must probe *healthy* and the last move must be older than the cooldown
   (unless the holder is down); ``force`` skips both checks and is reported as forced.
4. Automatic events (alarm, keepalived) move the VIP only away from a holder that is *lost*:
   its probe says *down*, or it could not be verified (*unknown*) **and** the event
   independently reports it gone (a FIRING stream naming it that is newer than the last move and
   evaluated less than ALARM_EVIDENCE_MAX_AGE_SECONDS ago, a peer's keepalived becoming MASTER,
   or the holder's own keepalived leaving MASTER). "Could not verify" alone never moves anything,
   and a holder that probes healthy is never moved away from, whatever the event says.
   The target must probe healthy (keepalived MASTER: the node that became MASTER, since the
   alias is there; alarm, or the holder leaving MASTER: the highest-priority healthy node,
   preferring nodes the event does not report gone; of those, nodes whose keepalived runs
   before nodes known unmanaged, rule 4b). No healthy target:
   the VIP stays where it is and the reason says so.
   A node's health endpoint answers healthy only while the node can serve the floating IP
   (haproxy up *and* the OS alias present: health_probe/serving.py), so "healthy" here means
   "serving", not merely "haproxy answers".
4a. keepalived BACKUP/FAULT/STOP from the holder is a request to repair: keepalived dropped
   (or is about to drop) the alias there, and no peer may ever notify again (after a SIGKILL
   the peer has been MASTER all along). It is evaluated as rule 4 with the holder reporting
   itself gone, so its own probe decides: not serving and another node serving → move there;
   still serving (alias kept) → stay. The same notice from any other node changes nothing.
4b. A holder that serves but is *unmanaged* (its agent reports keepalived not running: after a
   SIGKILL the alias stays, so it serves, but nothing there will notice the next fault, and the
   peer, MASTER since the kill, will never notify again) is handed to a healthy, *managed* peer
   (its agent reports keepalived running; serving, so keepalived there holds the alias: it is
   MASTER), as a planned move with ``code`` ``holder_unmanaged``. The natural trigger is that
   peer's MASTER notice (the peer is then first), but any automatic event that finds the same
   state does it (the highest-priority such peer, nodes the event reports gone last), except the
   outside-in alarm (rule 7 comes first). A node whose agent does not report keepalived (an
   older agent) is neither unmanaged nor managed. Never to an unmanaged or unhealthy node; with
   no managed healthy peer the VIP stays and the reason says so. While both run (split brain:
   both MASTER, both managed) the holder keeps the VIP, as in rule 4. It comes before rule 5.
   The cooldown does not hold it: the MASTER notice that triggers it is sent once, so a move
   held back would never be asked for again, and it cannot ping-pong: it only ever leaves a node
   known unmanaged for one known managed, and no automatic move (rules 4, 4b, 5) goes to a node
   known unmanaged while another healthy node exists (rule 4 prefers managed nodes, rule 5 skips
   unmanaged ones). After the move the new holder is managed, so a repeated notice does nothing.
5. With ``FAILBACK_POLICY=preferred``, a fresh message of the deployment's own alarms, or the
   keepalived MASTER notice of a node that outranks the holder, moves a VIP held by a healthy
   lesser node back to the highest-priority healthy node that outranks the holder (and that
   the event does not report down, and whose keepalived is not known to be stopped) once the
   cooldown has passed: with two nodes the preferred node, with N the best one health allows.
6. While the VIP group is paused (``View.paused``, an operator's maintenance pause), every
   automatic event is answered ``pause``: nothing moves, and the reason says what would have
   happened. A manual command still acts: "nothing moves unless an operator asks".
7. The outside-in alarm (``events.OUTSIDE_IN_NAMESPACE``, one of ``ALARM_IDS``) says clients
   cannot reach the VIP; it names no node, so it is never evidence against one and never a
   failback trigger. Rules 4 and 4a still repair what the function's own checks find: a holder
   probing down moves to a healthy node, one that cannot be verified stays, a split group is
   completed. When the holder serves (its probe healthy means haproxy up and the alias
   present) and the VIP is on its VNIC, the firing alarm is refused loudly (``code``):
   ``public_ip_detached`` when no public IP rides on the group's VIPs (re-attaching needs a
   permission the function does not have), else ``outside_unreachable`` (every check holds:
   the fault is in front of the nodes, an NSG, security list, route or gateway). Its
   FIRING_TO_OK and RESET are logged and change nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from .config import Config
from .events import AlarmEvent, Command, Event, KeepalivedNotice
from .tags import LastMove, Pause

# Why a firing outside-in alarm was refused while the holder serves (Decision.code).
OUTSIDE_UNREACHABLE = "outside_unreachable"
PUBLIC_IP_DETACHED = "public_ip_detached"
# Why a serving holder was left (Decision.code of a move, rule 4b): its keepalived does not run.
HOLDER_UNMANAGED = "holder_unmanaged"
# Alarm types that say the outside-in alarm has cleared.
CLEARED_TYPES = ("FIRING_TO_OK", "RESET")

# An alarm evaluated longer ago than this is no evidence that a node is gone *now*: Notifications
# retries a delivery for two hours, while a firing alarm repeats every 5 minutes (PT5M), so a
# fresh message always follows a real outage well inside this window.
ALARM_EVIDENCE_MAX_AGE_SECONDS = 600.0


class Health(StrEnum):
    HEALTHY = "healthy"
    DOWN = "down"
    UNKNOWN = "unknown"  # could not verify: timeout, unreachable network. Never the same as down.


class Action(StrEnum):
    MOVE = "move"  # write: put the VIP on ``target``
    STAY = "stay"  # nothing to do: already right, or nothing calls for a move
    REFUSE = "refuse"  # a move was asked for or needed but is not safe or not allowed
    REPORT = "report"  # status only
    PAUSE = "pause"  # an automatic event while an operator paused automatic moves; ``target``: the move held


@dataclass(frozen=True)
class View:
    """What the shell observed about one VIP, and the time it observed it."""

    holder: str | None  # the configured node whose VNIC holds the VIP group; None: not one of ours
    health: Mapping[str, Health]
    last_move: LastMove | None  # the group's newest recorded move: one cooldown per group
    now: float
    # Where else VIPs of the group sit (None: a VNIC that is no configured node). Non-empty after
    # a partial move: the next event completes it.
    split: frozenset[str | None] = frozenset()
    paused: Pause | None = None  # an operator's maintenance pause in force
    # The public IPs riding on the group's VIPs; None: not read (read for the outside-in alarm).
    public_ips: tuple[str, ...] | None = None
    # False for a group of IPv6 VIPs only: no public IP can ride on it, so the outside-in alarm
    # (it watches the reserved public IP) says nothing about it.
    carries_public_ip: bool = True
    # Whether each node's keepalived runs, as its agent's answer says (probe.keepalived_of); a
    # node absent: not reported. Rule 4b.
    keepalived: Mapping[str, bool] = field(default_factory=dict)


@dataclass(frozen=True)
class Decision:
    action: Action
    target: str | None
    reason: str
    forced: bool = False
    # A refusal that must be looked at (OUTSIDE_UNREACHABLE, PUBLIC_IP_DETACHED), or why a
    # planned move left a serving holder (HOLDER_UNMANAGED).
    code: str | None = None


MANUAL_MOVES = ("failover", "failback")
# Only the operators' function takes these: the moves, and the doctor (it reads the whole chain,
# alarms and subscriptions included, which is no business of a node's).
OPERATOR_ONLY = (*MANUAL_MOVES, "doctor")


def permitted(event: Event, role: str) -> str | None:
    """Why this deployment refuses the event, or None. Privilege follows the caller: the events
    function (ROLE=events), which the nodes and Notifications may invoke, never takes a manual
    move, so a node's credentials cannot cause a manual or forced move by any route."""
    if role == "operator" or not isinstance(event, Command) or event.action not in OPERATOR_ONLY:
        return None
    return (
        f"manual {event.action} is accepted only by the operators' function (this one has ROLE={role}); "
        "use the operators' function or `python -m failover` with operator credentials: nothing moved"
    )


def decide(event: Event, view: View, config: Config) -> Decision:
    """One decision for a group of VIPs; a group left split by a partial move is completed onto
    its holder when that holder serves (the same move, so no cooldown applies)."""
    decision = _completed(event, view, config)
    if view.paused is not None and not isinstance(event, Command):
        return _held(decision, view.paused)
    return decision


def _held(decision: Decision, pause: Pause) -> Decision:
    until = dt.datetime.fromtimestamp(pause.until, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    why = f"paused until {until} ({pause.reason or 'no reason given'})"
    if decision.action is Action.MOVE:
        return Decision(
            Action.PAUSE,
            decision.target,
            f"{why}: not moving to {decision.target}, which this event called for ({decision.reason}); "
            "an operator's move still works",
        )
    return Decision(Action.PAUSE, None, f"{why}: {decision.reason}")


def _completed(event: Event, view: View, config: Config) -> Decision:
    decision = _decide(event, view, config)
    if view.split and decision.action is Action.STAY and view.holder and _health(view, view.holder) is Health.HEALTHY:
        elsewhere = ", ".join(sorted(n or "an unconfigured VNIC" for n in view.split))
        return Decision(
            Action.MOVE,
            view.holder,
            f"{decision.reason}; completing the VIP group: some VIPs are still on "
            f"{elsewhere}, {view.holder} is healthy",
        )
    return decision


def _decide(event: Event, view: View, config: Config) -> Decision:
    if isinstance(event, Command):
        return _manual(event, view, config)
    if isinstance(event, AlarmEvent) and view.last_move and view.last_move.event_key == event.key:
        return Decision(Action.STAY, view.holder, f"duplicate delivery of alarm message {event.key}: already handled")
    if isinstance(event, KeepalivedNotice) and event.state != "MASTER" and event.node != view.holder:
        return Decision(
            Action.STAY,
            view.holder,
            f"keepalived on {event.node} went {event.state}, but {event.node} does not hold the VIP: nothing to repair",
        )
    return _automatic(event, view, config)


def cooldown_left(view: View, config: Config) -> float:
    """Seconds until another move is allowed (0 when none is recorded or it has passed)."""
    if view.last_move is None:
        return 0.0
    return max(0.0, view.last_move.at + config.cooldown_seconds - view.now)


def _health(view: View, node: str | None) -> Health:
    return view.health.get(node, Health.UNKNOWN) if node else Health.UNKNOWN


def _unmanaged(view: View, node: str | None) -> bool:
    """The node's agent says its keepalived does not run (not merely: did not say)."""
    return node is not None and view.keepalived.get(node) is False


def _managed(view: View, node: str | None) -> bool:
    return node is not None and view.keepalived.get(node) is True


def _manual(cmd: Command, view: View, config: Config) -> Decision:
    if cmd.action == "status":
        return Decision(Action.REPORT, view.holder, "status requested")
    others = [n.name for n in config.nodes if n.name != view.holder]
    if cmd.action == "failback":
        target = config.preferred.name
    elif cmd.to is not None:
        target = cmd.to
    else:
        healthy = [n for n in others if _health(view, n) is Health.HEALTHY]
        if not healthy and not cmd.force:
            return Decision(
                Action.REFUSE, None, f"no healthy node other than {view.holder} ({_describe(view, others)})"
            )
        target = (healthy or others)[0]
    if target == view.holder:
        return Decision(Action.STAY, target, f"VIP already on {target}")
    if cmd.force:
        return Decision(
            Action.MOVE,
            target,
            f"forced {cmd.action} to {target} by operator: health check and cooldown skipped "
            f"({_describe(view, [target])})",
            forced=True,
        )
    if _health(view, target) is not Health.HEALTHY:
        return Decision(
            Action.REFUSE,
            target,
            f'target {target} is {_health(view, target).value}: not moving ("force": true overrides)',
        )
    wait = cooldown_left(view, config)
    if wait > 0 and _health(view, view.holder) is not Health.DOWN:
        return Decision(Action.REFUSE, target, _cooldown_reason(view, wait))
    return Decision(
        Action.MOVE, target, f"operator {cmd.action} to {target} ({_describe(view, [view.holder, target])})"
    )


def _reported_down(event: Event, view: View, config: Config) -> frozenset[str]:
    """Nodes the event itself says are gone: independent evidence beside our own probes."""
    if isinstance(event, KeepalivedNotice) and event.state == "MASTER":
        # A peer became MASTER: it stopped hearing the holder's VRRP adverts.
        return frozenset(n for n in (view.holder,) if n is not None and n != event.node)
    if isinstance(event, KeepalivedNotice):
        # The holder's own keepalived left MASTER (decide() lets no other node's notice here).
        return frozenset({event.node})
    assert isinstance(event, AlarmEvent)
    if event.not_understood or not _alarm_is_fresh(event, view):
        return frozenset()  # no evidence: our own probes decide
    return event.nodes_with("FIRING", config.alarm_ids)


def _alarm_is_fresh(event: AlarmEvent, view: View) -> bool:
    """Evaluated after the last move and within ALARM_EVIDENCE_MAX_AGE_SECONDS. A message that
    does not say when it was evaluated could be a two-hour-old redelivery: stale."""
    if event.timestamp_ms is None:
        return False
    evaluated = event.timestamp_ms / 1000.0
    after_last_move = view.last_move is None or evaluated >= view.last_move.at
    return after_last_move and evaluated >= view.now - ALARM_EVIDENCE_MAX_AGE_SECONDS


def _outside_in(event: Event, config: Config) -> bool:
    return isinstance(event, AlarmEvent) and event.is_outside_in(config.alarm_ids)


def _source(event: AlarmEvent | KeepalivedNotice) -> str:
    if isinstance(event, KeepalivedNotice):
        return f"keepalived {event.state} from {event.node}"
    if any(s.outside_in for s in event.streams):
        return f"outside-in alarm {event.type} (clients cannot reach the VIP)"
    if event.not_understood:
        return f"alarm {event.type} ({', '.join(event.not_understood)} not understood: re-checked with own probes)"
    return f"alarm {event.type}"


def _automatic(event: AlarmEvent | KeepalivedNotice, view: View, config: Config) -> Decision:
    holder = view.holder
    if holder is None:
        return Decision(
            Action.REFUSE, None, "VIP is on a VNIC that is not a configured node: automatic events leave it alone"
        )
    reported = _reported_down(event, view, config)
    held = _health(view, holder)
    source = _source(event)
    if held is Health.HEALTHY:
        return _when_holder_serves(event, view, config, reported, source)
    if held is Health.UNKNOWN and holder not in reported:
        return Decision(
            Action.STAY,
            holder,
            f"could not verify holder {holder} (probe unknown) and {source} does not report it down: not moving",
        )
    why = (
        f"holder {holder} is down"
        if held is Health.DOWN
        else f"holder {holder} could not be verified and {source} reports it down"
    )
    if held is Health.DOWN and (
        isinstance(event, AlarmEvent)
        and (event.not_understood or _outside_in(event, config))
        or isinstance(event, KeepalivedNotice)
    ):
        why += f" after {source}"
    return _move_off_lost_holder(event, view, config, reported, why)


def _candidates(
    event: AlarmEvent | KeepalivedNotice, view: View, config: Config, reported: frozenset[str]
) -> list[str]:
    """Where a VIP leaving a lost holder may go, best first. By priority, nodes the event also
    reports gone last: our own probe of a node beats a peer's report about it, but of two
    healthy nodes the unreported one is the safer bet. A peer's MASTER notice puts that peer
    first (keepalived gave it the alias); the holder's own MASTER notice is no reason to stay."""
    others = [n.name for n in config.nodes if n.name != view.holder]
    ranked = [n for n in others if n not in reported] + [n for n in others if n in reported]
    if isinstance(event, KeepalivedNotice) and event.state == "MASTER" and event.node != view.holder:
        return [event.node] + [n for n in ranked if n != event.node]
    return ranked


def _move_off_lost_holder(
    event: AlarmEvent | KeepalivedNotice, view: View, config: Config, reported: frozenset[str], why: str
) -> Decision:
    candidates = _candidates(event, view, config, reported)
    healthy = [n for n in candidates if _health(view, n) is Health.HEALTHY]
    target = next((n for n in healthy if not _unmanaged(view, n)), None) or next(iter(healthy), None)
    if target is not None:
        unmanaged = " (its keepalived does not run, but no healthy node's does)" if _unmanaged(view, target) else ""
        return Decision(Action.MOVE, target, f"{why}; {target} is healthy{unmanaged}")
    if _self_reported_master(event, view):
        assert isinstance(event, KeepalivedNotice)
        return Decision(
            Action.MOVE,
            event.node,
            f"{why}; {event.node} could not be verified from here but became "
            "MASTER itself (keepalived takes the alias only while its own haproxy check passes)",
        )
    return Decision(
        Action.REFUSE, None, f"{why}, but no healthy node to move to ({_describe(view, candidates)}): VIP stays"
    )


def _self_reported_master(event: Event, view: View) -> bool:
    """A MASTER notice is the target's own word that it holds the alias and haproxy passed its
    check. It stands in for our probe only when that probe could not tell (unknown, e.g. the
    path from the function to its health port is cut), the holder is verified down and no
    other node probes healthy: moving away from a dead holder cannot make things worse, and
    staying is a certain outage."""
    return (
        isinstance(event, KeepalivedNotice)
        and event.state == "MASTER"
        and event.node != view.holder
        and _health(view, view.holder) is Health.DOWN
        and _health(view, event.node) is Health.UNKNOWN
    )


def _when_holder_serves(
    event: AlarmEvent | KeepalivedNotice, view: View, config: Config, reported: frozenset[str], source: str
) -> Decision:
    holder = view.holder
    if isinstance(event, AlarmEvent) and _outside_in(event, config):
        return _outside_in_serving(event, view)
    if _unmanaged(view, holder):
        return _protect(event, view, config, reported, source)
    failback = _failback(event, view, config, reported, source)
    if failback is not None:
        return failback
    if isinstance(event, KeepalivedNotice) and event.node != holder:
        return Decision(
            Action.STAY,
            holder,
            f"{event.node} became MASTER but holder {holder} is healthy: VIP stays (split brain arbitration)",
        )
    if isinstance(event, KeepalivedNotice) and event.state != "MASTER":
        return Decision(
            Action.STAY,
            holder,
            f"keepalived on holder {holder} went {event.state}, but {holder} still serves the floating IP: VIP stays",
        )
    if holder in reported:
        return Decision(Action.STAY, holder, f"{source} reports {holder} down but it probes healthy: not moving")
    return Decision(Action.STAY, holder, f"VIP on {holder}, which is healthy: nothing to do")


def _protect(
    event: AlarmEvent | KeepalivedNotice, view: View, config: Config, reported: frozenset[str], source: str
) -> Decision:
    """Rule 4b: a serving holder whose keepalived does not run goes to a healthy peer whose
    keepalived runs (the MASTER notice's node first); none: it stays."""
    holder = view.holder
    why = f"holder {holder} serves but its keepalived does not run (nothing there would handle the next fault)"
    candidates = _candidates(event, view, config, reported)
    target = next((n for n in candidates if _health(view, n) is Health.HEALTHY and _managed(view, n)), None)
    if target is None:
        return Decision(
            Action.STAY,
            holder,
            f"{why}; no healthy node whose keepalived runs ({_describe(view, candidates)}): VIP stays",
        )
    return Decision(
        Action.MOVE,
        target,
        f"{why}; {target} is healthy and its keepalived runs: planned move after {source}",
        code=HOLDER_UNMANAGED,
    )


def _outside_in_serving(event: AlarmEvent, view: View) -> Decision:
    """Rule 7 with a holder that serves: nothing the function may change is wrong, so say so."""
    holder = view.holder
    if event.type in CLEARED_TYPES:
        return Decision(
            Action.STAY, holder, f"outside-in alarm {event.type}: clients reach the VIP again; {holder} serves"
        )
    if view.split:
        return Decision(Action.STAY, holder, f"outside-in alarm {event.type}: clients cannot reach the VIP")
    if not view.carries_public_ip:
        return Decision(
            Action.STAY,
            holder,
            f"outside-in alarm {event.type} watches the reserved public IP, which no VIP of this group (IPv6) "
            f"carries; holder {holder} serves: nothing to do",
        )
    if view.public_ips == ():
        return Decision(
            Action.REFUSE,
            None,
            f"outside-in alarm {event.type}: clients cannot reach the VIP and no public IP is attached to it; "
            f"holder {holder} serves and holds the VIP: re-attach the reserved public IP (UpdatePublicIp, a "
            "permission this function does not have): not moving",
            code=PUBLIC_IP_DETACHED,
        )
    attached = (
        f"public IP {', '.join(view.public_ips)} attached"
        if view.public_ips
        else "the public IP's attachment could not be read"
    )
    return Decision(
        Action.REFUSE,
        None,
        f"outside-in alarm {event.type}: clients cannot reach the VIP but every check holds (holder {holder} "
        f"serves and holds the VIP, {attached}): look at NSG/security list/route/gateway: not moving on an "
        "outside signal alone",
        code=OUTSIDE_UNREACHABLE,
    )


def _failback(
    event: AlarmEvent | KeepalivedNotice, view: View, config: Config, reported: frozenset[str], source: str
) -> Decision | None:
    """FAILBACK_POLICY=preferred, rule 5 (None: the event is no failback trigger). Triggers: the
    MASTER notice of a node that outranks the holder, or a fresh message of the deployment's own
    alarms. The target is the highest-priority healthy node that outranks the holder and that the
    event does not report gone: with N nodes the VIP climbs back as far as health allows, as
    keepalived's preemption does with the alias."""
    holder = view.holder
    better = [n.name for n in config.nodes[: _rank(config, holder)]]
    if config.failback_policy != "preferred" or not better:
        return None
    if isinstance(event, KeepalivedNotice):
        if event.node not in better:
            return None
    elif any(s.outside_in for s in event.streams) or not (
        event.is_from(config.alarm_ids) and _alarm_is_fresh(event, view)
    ):
        return None  # the outside-in alarm is about the public IP, never a reason to fail back
    target = next(
        (n for n in better if _health(view, n) is Health.HEALTHY and n not in reported and not _unmanaged(view, n)),
        None,
    )
    if target is None:
        return Decision(
            Action.STAY,
            holder,
            f"holder {holder} is healthy; failback waits for a node that outranks it ({_describe(view, better)}"
            + (f"; {source} reports {', '.join(sorted(reported & set(better)))} down" if reported & set(better) else "")
            + ")",
        )
    wait = cooldown_left(view, config)
    if wait > 0:
        return Decision(Action.REFUSE, target, f"failback to {target} held: {_cooldown_reason(view, wait)}")
    return Decision(
        Action.MOVE, target, f"failback policy preferred: {target} outranks {holder} and is healthy ({source})"
    )


def _rank(config: Config, name: str | None) -> int:
    """Position in priority order (0: the preferred node); a node not configured ranks last."""
    return next((i for i, n in enumerate(config.nodes) if n.name == name), len(config.nodes))


def _cooldown_reason(view: View, wait: float) -> str:
    last = view.last_move
    assert last is not None
    return f"cooldown: last move {last.from_node or '?'}→{last.to_node} {view.now - last.at:.0f}s ago, {wait:.0f}s left"


def _describe(view: View, nodes: Sequence[str | None]) -> str:
    """Each node's health and, where its agent reports it, whether its keepalived runs."""
    said: dict[bool | None, str] = {True: " (keepalived running)", False: " (keepalived not running)", None: ""}
    return (
        ", ".join(f"{n} {_health(view, n).value}{said[view.keepalived.get(n)]}" for n in nodes if n) or "no candidates"
    )
