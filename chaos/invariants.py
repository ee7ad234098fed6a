"""The invariants of docs/reliability.md, checked on what one trial left behind. Pure: no I/O.

Inputs are what an outside observer has: the emulator's audit log (every UpdatePrivateIp, who
made it, the private IP before and after), the function's answers as its callers received
them, the VNICs that list the floating IP at the end, and the harness's own record of what was
true about the nodes and when (`Change`: a node's probe answer and whether it really served).

1. One holder: exactly one VNIC lists the IP at the end, and the audit log is one unbroken
   chain of moves (each write starts where the previous one left the IP).
2. No wrong move: every write by the function puts the IP on a node that was serving (and
   that the function's own probe found healthy, as its answer reports, or could not verify
   while that node's own MASTER notice asked for the IP away from a holder probed down); an
   automatic one never moves it away from a holder that served throughout the decision window,
   except a failback to the preferred node under FAILBACK_POLICY=preferred once the cooldown
   has passed, or a move off a holder whose keepalived did not run to a node whose keepalived
   did (the timeline says so: `Change.keepalived`). A forced manual move is exempt and must say
   so.
3. Convergence: when some node serves at the end, the holder serves, and it got there within
   the trial's budget of the failure's onset. In the lab "serves" also needs the OS alias, and
   the client's own answers (`ClientView`) must have resumed from the holder within the budget.
4. At most one write per failure: the function's writes never exceed what the trial allows
   (its failures plus a failback the policy allows); duplicates and stale events add none.
5. "Cannot verify" is not "down": an answer that could not read OCI moved nothing and says so;
   a move away from a holder the function could not verify needs independent evidence from
   the event; an API or credentials fault with no real failure makes no write. (The answer's
   ``unverified`` list is compared only where the answer itself was seen, not rebuilt from logs.)
6. Bad input never crashes or writes: every invocation answered 200 with a JSON answer, never
   an internal error; a body that is not a valid event moves nothing.

7. Protected: the IP ends on a node that serves *and* whose keepalived runs (so the next fault
   is handled on the fast path too), and got there within the trial's budget (the same as
   convergence's), unless no node does both at the end. The time is from the onset to the first
   instant from which, to the end (the last write, or when watching stopped), every VIP's holder
   by its audit chain serves and runs keepalived by the timeline (0 when that held from the
   onset on); the client's view is invariant 3's business. It needs to know which nodes run
   keepalived (`Change.keepalived`); a trial whose timeline does not say so for every node
   holds it vacuously.

With several VIPs (``Observation.other_vips``: the multi topology's second IPv4 VIP and its IPv6
VIP) invariants 1, 2 and 4 hold for every VIP on its own (one VNIC, an unbroken chain, no wrong
move, the write bound per VIP), and convergence (3) needs every VIP on a serving node and every
VIP group on one node: a group split at the end is not converged, whatever each VIP's node;
protection (7) needs every VIP on a node that serves and runs keepalived.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

INVARIANTS = (1, 2, 3, 4, 5, 6, 7)


@dataclass(frozen=True)
class Change:
    """From ``at`` on, ``node``'s health endpoint answered ``probe`` and it did (not) serve."""

    at: float
    node: str
    probe: str
    serving: bool
    keepalived: bool | None = None  # and its keepalived ran (None: this change does not say)


@dataclass(frozen=True)
class Write:
    """One UpdatePrivateIp of the floating IP, from the audit log."""

    at: float
    from_node: str | None
    to_node: str | None
    by_function: bool
    reason: str = ""  # the move record the function wrote with it
    previous_move_at: float | None = None


@dataclass(frozen=True)
class Answer:
    """What one invoker got back. ``body`` None: no whole JSON answer came back."""

    kind: str  # "automatic" | "manual" | "forced" | "bad_input"
    status: int | None
    body: Mapping[str, Any] | None
    evidence: frozenset[str] = frozenset()  # nodes the event itself reports gone


@dataclass(frozen=True)
class ClientView:
    """What a client sending requests to the floating IP saw (the lab driver measures this)."""

    steady_from: float | None  # first answer of the unbroken run from the final holder that
    # lasts to the end; None: not answered by it at the end
    requests: int = 0
    failed: int = 0


@dataclass(frozen=True)
class VipEnd:
    """One VIP's writes (from the audit log) and where it ends; ``group`` indexes the function's
    VIP groups, so VIPs with the same ``group`` must end on one node."""

    vip: str
    group: int
    initial_holder: str | None
    final_holder: str | None
    listed_on: int
    writes: tuple[Write, ...]


@dataclass(frozen=True)
class Observation:
    fault: str
    policy: str
    preferred: str
    cooldown_s: float
    window_s: float  # how far back a decision may look (probe + API time)
    onset: float  # start of the (last) failure; convergence counts from here
    initial_holder: str | None
    final_holder: str | None
    listed_on: int  # VNICs that list the IP at the end
    writes: tuple[Write, ...]
    answers: tuple[Answer, ...]
    timeline: tuple[Change, ...]
    failures: int
    allowed_writes: int
    budget_s: float
    api_fault: bool = False  # the fault is in OCI's API or credentials, not in a node
    function_errors: tuple[str, ...] = ()  # internal_error events in the function's log
    exercised: bool = True  # the injected fault really bit (not an invariant: a coverage count)
    observed_until: float | None = None  # when watching stopped (lab); convergence is judged then
    client: ClientView | None = None  # the client's view (lab): part of convergence
    vip_group: int = 0  # the VIP group of the VIP the fields above follow
    other_vips: tuple[VipEnd, ...] = ()  # every other VIP of the topology, judged the same way


@dataclass(frozen=True)
class Verdict:
    held: Mapping[int, bool]
    writes: int  # the function's writes of the most written VIP (the only one, with one VIP)
    failures: int
    convergence_s: float | None
    needless_moves: int = 0
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        return all(self.held.values())


def serving_at(timeline: Iterable[Change], node: str | None, at: float) -> bool:
    """Whether ``node`` served at ``at`` (nodes serve until the timeline says otherwise)."""
    state = True
    for change in sorted(timeline, key=lambda c: c.at):
        if change.at > at:
            break
        if change.node == node:
            state = change.serving
    return node is not None and state


def served_throughout(timeline: Iterable[Change], node: str | None, start: float, end: float) -> bool:
    changes = sorted(timeline, key=lambda c: c.at)
    return serving_at(changes, node, start) and all(
        c.serving for c in changes if c.node == node and start < c.at <= end
    )


def served_within(timeline: Iterable[Change], node: str | None, start: float, end: float) -> bool:
    changes = sorted(timeline, key=lambda c: c.at)
    return (
        serving_at(changes, node, end)
        or serving_at(changes, node, start)
        or any(c.serving for c in changes if c.node == node and start < c.at <= end)
    )


def keepalived_at(timeline: Iterable[Change], node: str | None, at: float) -> bool | None:
    """Whether ``node``'s keepalived ran at ``at``, by the latest change that says (None: none does)."""
    state = None
    for change in sorted(timeline, key=lambda c: c.at):
        if change.at > at:
            break
        if change.node == node and change.keepalived is not None:
            state = change.keepalived
    return state


def vip_ends(obs: Observation) -> tuple[VipEnd, ...]:
    """Every VIP of the trial: the one the Observation's own fields follow (named "" so its notes
    read as they always have), then the others."""
    first = VipEnd("", obs.vip_group, obs.initial_holder, obs.final_holder, obs.listed_on, obs.writes)
    return (first, *obs.other_vips)


def _all_writes(obs: Observation) -> list[Write]:
    return [w for end in vip_ends(obs) for w in end.writes]


def _function_writes(writes: Iterable[Write]) -> int:
    return sum(1 for w in writes if w.by_function)


def _moves(obs: Observation) -> list[Write]:
    return [w for w in _all_writes(obs) if w.by_function and w.from_node != w.to_node]


def _forced(obs: Observation) -> bool:
    return any(a.kind == "forced" for a in obs.answers)


def _manual_sent(obs: Observation) -> bool:
    return any(a.kind in ("manual", "forced") for a in obs.answers)


def _is_manual(write: Write, obs: Observation) -> bool:
    """Believe the move record's "operator"/"forced" only if the trial really sent a command."""
    return _manual_sent(obs) and write.reason.startswith(("operator ", "forced "))


def check_one_holder(obs: Observation) -> list[str]:
    return [note for end in vip_ends(obs) for note in _one_holder(end)]


def _one_holder(end: VipEnd) -> list[str]:
    ip = f"{end.vip} " if end.vip else ""
    notes = [] if end.listed_on == 1 else [f"1: {end.listed_on} VNICs list the floating IP {ip}".rstrip()]
    holder = end.initial_holder
    for write in end.writes:
        if write.from_node != holder:
            notes.append(f"1: a write moved the IP {ip}from {write.from_node} while the chain had it on {holder}")
        holder = write.to_node
    if holder != end.final_holder:
        notes.append(f"1: the audit chain ends on {holder}, the IP {ip}is on {end.final_holder}")
    return notes


def _failback_allowed(write: Write, obs: Observation) -> bool:
    cooled = write.previous_move_at is None or write.at - write.previous_move_at >= obs.cooldown_s
    return obs.policy == "preferred" and write.to_node == obs.preferred and cooled


def _protective(write: Write, obs: Observation) -> bool:
    """A move off a holder whose keepalived did not run, onto a node whose keepalived did (decide.py rule 4b)."""
    return (
        keepalived_at(obs.timeline, write.from_node, write.at) is False
        and keepalived_at(obs.timeline, write.to_node, write.at) is True
    )


def check_no_wrong_move(obs: Observation) -> tuple[list[str], int]:
    """Violations, and moves away from a serving holder that the fault's relaxation excuses."""
    notes, needless = [], 0
    for write in _moves(obs):
        start = write.at - obs.window_s
        if write.reason.startswith("forced "):
            if not _forced(obs):
                notes.append(f"2: a forced move to {write.to_node} nobody asked for")
            continue
        if not served_within(obs.timeline, write.to_node, start, write.at):
            notes.append(f"2: moved to {write.to_node}, which was not serving")
        if _is_manual(write, obs) or _failback_allowed(write, obs) or _protective(write, obs):
            continue
        if served_throughout(obs.timeline, write.from_node, start, write.at):
            needless += 1
            notes.append(f"2: moved away from {write.from_node}, which was serving")
    for answer in obs.answers:
        body = answer.body or {}
        target = body.get("to")
        if body.get("decision") == "moved" and not body.get("forced"):
            seen = ((body.get("health") or {}).get(target) or {}).get("health")
            self_reported = body.get("source") == f"keepalived {target} MASTER" and seen == "unknown"
            if seen != "healthy" and not self_reported:
                notes.append(f"2: moved to {target}, which its own probe found {seen}")
    return notes, needless


def _end(obs: Observation) -> float:
    """The instant the end state is judged at: the last write, or when watching stopped."""
    return max([obs.onset, obs.observed_until or obs.onset] + [w.at for w in _all_writes(obs)])


def split_groups(obs: Observation) -> dict[int, list[str | None]]:
    """The VIP groups whose VIPs end on more than one node: group -> the nodes, VIP by VIP."""
    ends: dict[int, list[str | None]] = {}
    for end in vip_ends(obs):
        ends.setdefault(end.group, []).append(end.final_holder)
    return {group: nodes for group, nodes in ends.items() if len(set(nodes)) > 1}


def convergence(obs: Observation) -> float | None:
    """Seconds from the onset to the last VIP's last arrival on a serving node, every VIP group
    on one node; None: it never got there."""
    end = _end(obs)
    if split_groups(obs) or not all(serving_at(obs.timeline, v.final_holder, end) for v in vip_ends(obs)):
        return None
    moves = [w for w in _all_writes(obs) if w.from_node != w.to_node]
    return max(0.0, max(w.at for w in moves) - obs.onset) if moves else 0.0


def check_convergence(obs: Observation) -> tuple[list[str], float | None]:
    """With a client view, converged also means the client is answered by the holder, and the
    time counts until its answers resumed for good."""
    end = _end(obs)
    nodes = {c.node for c in obs.timeline}
    if not any(serving_at(obs.timeline, n, end) for n in nodes):
        return [], None  # nothing can serve: nowhere to converge to
    took = convergence(obs)
    if took is None:
        return _not_converged(obs, end), None
    if obs.client is not None:
        if obs.client.steady_from is None:
            return [f"3: the client is not answered by {obs.final_holder} at the end"], None
        took = max(took, obs.client.steady_from - obs.onset)
    if took > obs.budget_s:
        return [f"3: converged in {took:.2f}s, budget {obs.budget_s:.2f}s"], took
    return [], took


def holder_at(initial: str | None, writes: Iterable[Write], at: float) -> str | None:
    """Where the audit chain had a VIP at ``at``."""
    holder = initial
    for write in sorted(writes, key=lambda w: w.at):
        if write.at > at:
            break
        holder = write.to_node
    return holder


def protected_nodes(obs: Observation, at: float) -> list[str] | None:
    """The trial's nodes that serve and whose keepalived runs at ``at``; None: the timeline does
    not say for every node whether its keepalived runs."""
    nodes = sorted({c.node for c in obs.timeline})
    running = {n: keepalived_at(obs.timeline, n, at) for n in nodes}
    if not nodes or None in running.values():
        return None
    return [n for n in nodes if running[n] and serving_at(obs.timeline, n, at)]


def protected_after(obs: Observation) -> float:
    """Seconds from the onset to the first instant from which every VIP's holder (by its audit
    chain) is a protected node until the end; the end itself when the chain never got there."""
    end = _end(obs)
    instants = sorted(
        {obs.onset, end}
        | {c.at for c in obs.timeline if obs.onset < c.at < end}
        | {w.at for w in _all_writes(obs) if obs.onset < w.at < end}
    )
    since = None
    for at in instants:
        protected = protected_nodes(obs, at) or []
        held = all(holder_at(v.initial_holder, v.writes, at) in protected for v in vip_ends(obs))
        since = (at if since is None else since) if held else None
    return (end if since is None else since) - obs.onset


def check_protected(obs: Observation) -> list[str]:
    """Invariant 7: every VIP ends on a node that serves and whose keepalived runs, within the
    trial's budget (`protected_after`), unless no node does both at the end; vacuous unless the
    timeline says for every node whether its keepalived runs at the end."""
    end = _end(obs)
    protected = protected_nodes(obs, end)
    if not protected:
        return []
    notes = []
    for v in vip_ends(obs):
        if v.final_holder in protected:
            continue
        if v.final_holder not in {c.node for c in obs.timeline}:
            why = "is no node of the trial"
        elif not serving_at(obs.timeline, v.final_holder, end):
            why = "does not serve"
        else:
            why = "serves but its keepalived does not run"
        ip = f"{v.vip} " if v.vip else "the IP "
        notes.append(f"7: {ip}ends on {v.final_holder}, which {why}, while {', '.join(protected)} could hold it")
    took = protected_after(obs)
    if not notes and took > obs.budget_s:
        notes.append(f"7: on a protected node after {took:.2f}s, budget {obs.budget_s:.2f}s")
    return notes


def _not_converged(obs: Observation, end: float) -> list[str]:
    notes = [
        f"3: {v.vip or 'the IP'} ends on {v.final_holder}, which does not serve"
        for v in vip_ends(obs)
        if not serving_at(obs.timeline, v.final_holder, end)
    ]
    return notes + [
        f"3: VIP group {g} is split at the end: on {', '.join(map(str, n))}" for g, n in split_groups(obs).items()
    ]


def writes_per_vip(obs: Observation) -> int:
    """The function's writes of the most written VIP: what the write bound is about."""
    return max(_function_writes(v.writes) for v in vip_ends(obs))


def check_writes(obs: Observation) -> list[str]:
    notes = []
    for end in vip_ends(obs):
        writes = _function_writes(end.writes)
        if writes > obs.allowed_writes:
            ip = f" of {end.vip}" if end.vip else ""
            notes.append(f"4: {writes} writes{ip}, at most {obs.allowed_writes} allowed ({obs.failures} failure(s))")
    return notes


def check_cannot_verify(obs: Observation) -> list[str]:
    notes = [note for answer in obs.answers if answer.body is not None for note in _unverified_notes(answer)]
    if obs.api_fault and obs.failures == 0 and _function_writes(_all_writes(obs)):
        notes.append("5: an API/credentials fault alone caused a write")
    return notes


def _unverified_notes(answer: Answer) -> list[str]:
    """What one answer got wrong about what it could not verify."""
    body = answer.body
    notes = []
    if body.get("error") == "cannot_verify" and (body.get("moved") or not body.get("reason")):
        notes.append("5: an answer that could not verify OCI moved something or gave no reason")
    health = body.get("health") or {}
    unknown = sorted(n for n, h in health.items() if isinstance(h, dict) and h.get("health") == "unknown")
    if health and "unverified" in body and sorted(body["unverified"] or []) != unknown:
        notes.append(f"5: answer lists unverified {body.get('unverified')}, probes unknown {unknown}")
    holder = body.get("from")
    moved_blind = answer.kind == "automatic" and body.get("decision") == "moved" and holder in unknown
    if moved_blind and holder not in answer.evidence:
        notes.append(f"5: moved away from {holder} (probe unknown) with no evidence from the event")
    return notes


def check_bad_input(obs: Observation) -> list[str]:
    notes = [f"6: the function logged {e}" for e in obs.function_errors]
    for answer in obs.answers:
        if answer.status is not None and answer.status != 200:
            notes.append(f"6: an invocation answered HTTP {answer.status}")
        body = answer.body
        if body is not None and body.get("error") == "internal_error":
            notes.append(f"6: internal error: {body.get('reason')}")
        if answer.kind == "bad_input" and body is not None and body.get("moved"):
            notes.append("6: a bad request moved the IP")
    bad_only = obs.answers and all(a.kind == "bad_input" for a in obs.answers)
    if bad_only and _function_writes(_all_writes(obs)):
        notes.append("6: bad input led to a write")
    return notes


def check(obs: Observation, relaxed: Iterable[int] = ()) -> Verdict:
    """Every invariant on one trial.

    ``relaxed`` may name invariant 2 for a fault documented not to allow its full form: then a
    move away from a serving holder is counted in ``needless_moves`` and kept in ``notes``, and
    only a move *to* a node that does not serve is a violation.
    """
    relaxed = set(relaxed)
    if relaxed - {2}:
        raise ValueError("only invariant 2 has a documented narrower form")
    wrong, needless = check_no_wrong_move(obs)
    late, took = check_convergence(obs)
    found = {
        1: check_one_holder(obs),
        2: wrong,
        3: late,
        4: check_writes(obs),
        5: check_cannot_verify(obs),
        6: check_bad_input(obs),
        7: check_protected(obs),
    }
    notes = tuple(note for n in INVARIANTS for note in found[n])
    if 2 in relaxed:
        found[2] = [n for n in wrong if not n.endswith("which was serving")]
    return Verdict(
        held={n: not found[n] for n in INVARIANTS},
        writes=writes_per_vip(obs),
        failures=obs.failures,
        convergence_s=took,
        needless_moves=needless,
        notes=notes,
    )
