"""The lab driver's records, read into the invariants' inputs. Pure: no I/O.

In the lab nobody sets a node's health by hand: the trial breaks real processes and links, so
whether a node could serve the floating IP at some instant follows from what the trial did to
it (`Action`: haproxy stopped, link down, ...) and from whether its OS held the alias then
(sampled with `ip -n NODE addr` during the trial). The function's decisions come from its own
log (one ``decision`` and one ``answer`` line per invocation, tied by ``call_id``), the
client's view from `lab.client`'s answer lines.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from chaos.invariants import Answer, Change, ClientView
from chaos.records import json_object

# What each lab fault (and heal) does to a node's ability to serve and to its keepalived; keepalived's
# own faults reach serving only through the alias, which the samples show.
_EFFECTS: Mapping[str, Mapping[str, bool]] = {
    "haproxy-stop": {"haproxy": False},
    "keepalived-stop": {"keepalived": False},
    "keepalived-kill": {"keepalived": False},
    "link-down": {"link": False},
    "crash": {"link": False, "haproxy": False, "keepalived": False},
    "health-blocked": {"blocked": True},
    "heal": {"haproxy": True, "link": True, "blocked": False, "keepalived": True},
}
MIN_STEADY_ANSWERS = 5  # a run of answers shorter than this is not "the client is served"


@dataclass(frozen=True)
class Action:
    """At ``at`` the trial did ``kind`` (a `lab fault` kind, or "heal": every node) to ``node``."""

    at: float
    node: str
    kind: str


@dataclass(frozen=True)
class AliasSample:
    """At ``at``, exactly the nodes in ``holders`` had the floating IP as an OS address."""

    at: float
    holders: frozenset[str]


def _change(at: float, node: str, state: Mapping[str, bool]) -> Change:
    probe = "hang" if not state["link"] or state["blocked"] else "up" if state["haproxy"] else "down"
    return Change(at, node, probe, state["haproxy"] and state["link"] and state["alias"], state["keepalived"])


def timeline(
    nodes: Sequence[str], start: AliasSample, actions: Iterable[Action], samples: Iterable[AliasSample]
) -> tuple[Change, ...]:
    """Each node's state from ``start`` on: it serves while haproxy runs, its link is up and it
    holds the alias; its probe (as the function sees it) hangs while its link is down or its
    health port is blocked; its keepalived runs until a trial stops, kills or crashes it. One
    `Change` per node at the start and at every change after."""
    state = {
        n: {"haproxy": True, "link": True, "blocked": False, "alias": n in start.holders, "keepalived": True}
        for n in nodes
    }
    changes = [_change(start.at, n, state[n]) for n in nodes]
    events: list[tuple[float, int, Any]] = [(a.at, 0, a) for a in actions] + [(s.at, 1, s) for s in samples]
    for at, _, event in sorted(events, key=lambda e: (e[0], e[1])):
        before = {n: dict(state[n]) for n in nodes}
        if isinstance(event, Action):
            for node in nodes if event.kind == "heal" else (event.node,):
                state[node].update(_EFFECTS.get(event.kind, {}))
        else:
            for node in nodes:
                state[node]["alias"] = node in event.holders
        changes += [_change(at, n, state[n]) for n in nodes if state[n] != before[n]]
    return tuple(changes)


def client_view(answers: Sequence[Mapping[str, Any]], holder: str | None) -> ClientView:
    """From `lab.client`'s lines (sent, done, node, error): when the client's answers from
    ``holder`` resumed for good (the unbroken run of them that reaches the end)."""
    ordered = sorted(answers, key=lambda a: a["sent"])
    run: list[Mapping[str, Any]] = []
    for answer in ordered:
        run = run + [answer] if answer.get("node") == holder and not answer.get("error") else []
    steady = min(a["done"] for a in run) if len(run) >= MIN_STEADY_ANSWERS else None
    return ClientView(steady_from=steady, requests=len(ordered), failed=sum(1 for a in ordered if a.get("error")))


def _evidence(source: str, nodes: Sequence[str]) -> frozenset[str]:
    """Nodes a keepalived notice itself reports gone: the peers of a new MASTER; the sender of
    BACKUP/FAULT/STOP (it says it no longer holds the IP)."""
    words = source.split()
    if len(words) != 3 or words[0] != "keepalived":
        return frozenset()
    _, node, state = words
    return frozenset(n for n in nodes if n != node) if state == "MASTER" else frozenset({node})


def answers_from_log(lines: Iterable[str], nodes: Sequence[str]) -> tuple[Answer, ...]:
    """The function's answers as its own log records them: one per ``call_id`` with an
    ``answer`` line, its decision, from/to, target and the health its probes found. The HTTP
    status and the answer's ``unverified`` list are not in the log, so they are left out."""
    decisions: dict[str, dict[str, Any]] = {}
    answers = []
    for line in lines:
        entry = json_object(line)
        if entry is None or "call_id" not in entry:
            continue
        call = entry["call_id"]
        if entry.get("event") == "decision":
            decisions.setdefault(call, entry)
        elif entry.get("event") == "answer":
            decision = decisions.get(call, {})
            source = str(decision.get("source", ""))
            body = {
                "decision": entry.get("decision"),
                "source": source,
                "from": entry.get("from"),
                "to": entry.get("to"),
                "target": decision.get("target"),
                "forced": bool(decision.get("forced")),
                "health": {n: {"health": h} for n, h in (decision.get("health") or {}).items()},
            }
            kind = "manual" if source.startswith("manual") else "automatic"
            answers.append(Answer(kind, None, body, _evidence(source, nodes)))
    return tuple(answers)


def invoke_errors(entries: Iterable[Mapping[str, Any]]) -> tuple[str, ...]:
    """InvokeFunction requests the emulator answered with anything but 200 (invariant 6). A
    caller that went away before its request was read (a node restarted by the trial) was
    answered nothing: no invocation, no error."""
    return tuple(
        f"InvokeFunction answered HTTP {e.get('status')}"
        for e in entries
        if e.get("event") == "request"
        and e.get("operation") == "InvokeFunction"
        and e.get("status") not in (200, "client_gone")
    )
