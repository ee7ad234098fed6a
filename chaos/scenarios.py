"""The emulator driver's trial scripts: one per `Fault.scenario`, each returning an Observation.

Every script starts from `Lane.reset`, makes a node fail (or not) the way the harness records on
the node timeline, sends the events that a real deployment would send for that failure (the
peer's keepalived MASTER notice, the node-down alarm through Notifications, an operator's
command), injects its fault at the moment that makes it bite, and states what the trial allows:
how many failures happened and how many writes they justify.

Failure modes used under API faults (one drawn per trial):
  fast-down      the holder's haproxy says 503; the peer's keepalived becomes MASTER
  alarm-down     the holder says 503; the node-down alarm fires (via Notifications)
  fast-crash     the holder stops answering at all (probe unknown) and does not serve; peer MASTER
  spurious-master  both healthy; the peer sends a MASTER notice anyway (a one-sided split)
  spurious-alarm   both healthy; an alarm about the holder arrives anyway

The multi topology's scenario (`multi`) uses the first three with its three nodes and two VIP
groups; the harness then judges every VIP.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable
from typing import Any

from chaos.faults import FAST_PATH_BUDGET_S, MULTI_VIPS, PROBE_TIMEOUT_S, Fault
from chaos.invariants import Answer, Observation
from chaos.lane import Lane, Mark, together
from failover.config import vip_family
from failover.decide import HOLDER_UNMANAGED
from ocisim.errors import CODES

A, B, C = "node-a", "node-b", "node-c"
MODES = ("fast-down", "alarm-down", "fast-crash", "spurious-master", "spurious-alarm")
TWO_HOURS = 2 * 3600.0


def master(node: str) -> dict[str, str]:
    return {"source": "keepalived", "node": node, "state": "MASTER"}


def _budget(fault: Fault, *extra: float) -> float:
    return FAST_PATH_BUDGET_S + fault.extra_budget_s + sum(extra)


def _observe(
    lane: Lane,
    fault: Fault,
    mark: Mark,
    onset: float,
    answers: list[Answer],
    failures: int,
    *,
    allowed_writes: int | None = None,
    holder: str = A,
    extra_s: tuple[float, ...] = (),
    api_fault: bool = False,
    exercised: bool = True,
) -> Observation:
    """What the invariants need of a trial of `fault` begun at `mark` with `holder` holding the IP:
    one write per failure unless said otherwise, the fault's budget plus what the scenario withholds."""
    return lane.observe(
        fault=fault.name,
        mark=mark,
        initial_holder=holder,
        onset=onset,
        answers=answers,
        failures=failures,
        allowed_writes=failures if allowed_writes is None else allowed_writes,
        budget_s=_budget(fault, *extra_s),
        api_fault=api_fault,
        exercised=exercised,
    )


class _Failure:
    """A failure mode applied to a lane: `trigger()` sends its event and returns the answer."""

    def __init__(self, lane: Lane, mode: str) -> None:
        self.lane, self.mode = lane, mode
        self.failures = 0 if mode.startswith("spurious") else 1
        self.probe_cost = PROBE_TIMEOUT_S if mode == "fast-crash" else 0.0

    def observed(
        self, fault: Fault, mark: Mark, onset: float, answers: list[Answer], *, api_fault: bool, exercised: bool
    ) -> Observation:
        """The trial's observation: one write allowed per real failure, the probe's cost on the budget."""
        return _observe(
            self.lane,
            fault,
            mark,
            onset,
            answers,
            self.failures,
            extra_s=(self.probe_cost,),
            api_fault=api_fault,
            exercised=exercised,
        )

    def break_node(self) -> float:
        if self.mode == "fast-crash":
            self.lane.nodes.set(A, "hang", serving=False)
        elif self.failures:
            self.lane.nodes.set(A, "down")
        return time.time()

    def trigger(self) -> Answer:
        if "alarm" in self.mode:
            return self.lane.delivered(self.lane.publish(self.lane.alarm(A)), "automatic", frozenset({A}))
        return self.lane.invoke(master(B), "automatic", frozenset({A}))

    def other_path(self) -> Answer:
        """The same failure reported by the path that did not trigger: the alarm after the fast
        path, node-b's MASTER notice after the alarm."""
        if "alarm" in self.mode:
            return self.lane.invoke(master(B), "automatic", frozenset({A}))
        return self.lane.delivered(self.lane.publish(self.lane.alarm(A)), "automatic", frozenset({A}))

    def repeat(self) -> Answer:
        """The alarm's REPEAT about node-a: what repairs whatever the first event left undone."""
        return self.lane.delivered(self.lane.publish(self.lane.alarm(A, "REPEAT")), "automatic", frozenset({A}))


def api(lane: Lane, fault: Fault, rng: random.Random) -> Observation:
    """A failure mode (or none) while one operation the function calls misbehaves."""
    p = fault.params
    mark = lane.reset()
    # A write only happens after a real failure: a fault on it is drawn with failure modes only.
    failure = _Failure(lane, rng.choice(MODES[:3] if p.get("operation") == "UpdatePrivateIp" else MODES))
    onset = failure.break_node()
    burst = rng.randint(1, p["burst"]) if p else 0
    if p:
        lane.emu.inject_fault(
            p["operation"],
            status=p.get("status"),
            code=p.get("code"),
            count=burst,
            delay=p.get("delay", 0.0),
            drop=p.get("drop", False),
        )
    answers = [failure.trigger()]
    exercised = not p or lane.pending(p["operation"]) < burst
    return failure.observed(fault, mark, onset, answers, api_fault=bool(p), exercised=exercised)


def outage(lane: Lane, fault: Fault, rng: random.Random) -> Observation:
    """GetPrivateIp fails for longer than the retry budget: the function must answer "cannot
    verify" and move nothing; when the API is back, the alarm's next REPEAT repairs."""
    mark = lane.reset()
    failure = _Failure(lane, rng.choice(("fast-down", "fast-crash", "spurious-master")))
    onset = failure.break_node()
    p = fault.params
    lane.emu.inject_fault(
        "GetPrivateIp", status=p.get("status"), code=p.get("code"), count=None, delay=p.get("delay", 0.0)
    )
    answers = [failure.trigger()]
    exercised = (answers[0].body or {}).get("error") == "cannot_verify"
    lane.clear_faults()
    if failure.failures:
        answers.append(failure.repeat())
    return failure.observed(fault, mark, onset, answers, api_fault=True, exercised=exercised)


def _rewrite_tokens(lane: Lane, ttl_seconds: float) -> None:
    """Write new RPST/key files into every container, as the Functions runtime does."""
    lane.emu.rotate_function_tokens(lane.function_id, ttl_seconds=ttl_seconds)


def token(lane: Lane, fault: Fault, rng: random.Random) -> Observation:
    """The function's cached resource-principal token really expires before the next failure.

    A short-lived token is planted (a 401 makes the SDK re-read the files and pick it up), it
    expires, then a node fails. With ``rotate`` (the runtime refreshed the files in time) the
    SDK's 401-refresh-retry recovers inside the invocation; without, every call is 401 until the
    runtime rotates, and the next alarm REPEAT repairs.
    """
    mark = lane.reset()
    _rewrite_tokens(lane, ttl_seconds=1.0)
    lane.emu.inject_fault("GetPrivateIp", status=401, count=1)
    # status on the events function: the container whose token was just planted
    answers = [lane.invoke({"action": "status"}, "automatic")]
    expiry = json.loads(_claims(lane))["exp"]
    time.sleep(max(0.0, expiry + 1.2 - time.time()))  # past exp and the emulator's 1 s leeway
    rotate = fault.params.get("rotate", True)
    if rotate:
        _rewrite_tokens(lane, ttl_seconds=3600.0)
    failure = _Failure(lane, rng.choice(("fast-down", "spurious-master")))
    onset = failure.break_node()
    answers.append(failure.trigger())
    if not rotate:
        _rewrite_tokens(lane, ttl_seconds=3600.0)
        if failure.failures:
            answers.append(failure.repeat())
    # The planted 401, then at least one 401 for the really expired token.
    exercised = lane.statuses(mark, "GetPrivateIp").count(401) >= 2
    return failure.observed(fault, mark, onset, answers, api_fault=True, exercised=exercised)


def _claims(lane: Lane) -> str:
    """The claims of the first container's current token (to know when it expires)."""
    import base64

    token = (lane.emu.container_directories(lane.function_id)[0] / "rp" / "rpst").read_text().strip()
    payload = token.split(".")[1]
    return base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)).decode()


def notifications(lane: Lane, fault: Fault, rng: random.Random) -> Observation:
    mode = fault.params["mode"]
    # ``failures`` counts failures a write can repair: where no node serves, none can.
    mark = lane.reset()
    if mode == "late":
        return _late(lane, fault, rng, mark)
    onset = time.time()
    lane.nodes.set(A, "down")
    if mode == "duplicate":
        message = lane.alarm(A)
        ids = [lane.publish(message) for _ in range(rng.randint(2, 3))]
        answers = [lane.delivered(i, "automatic", frozenset({A})) for i in ids]
    else:  # out of order: the REPEAT evaluated a minute after the OK_TO_FIRING is delivered first
        now = time.time()
        newer, older = lane.alarm(A, "REPEAT", at=now), lane.alarm(A, "OK_TO_FIRING", at=now - 60)
        answers = [lane.delivered(lane.publish(newer), "automatic", frozenset({A}))]
        answers.append(lane.delivered(lane.publish(older), "automatic", frozenset({A})))
    return _observe(lane, fault, mark, onset, answers, 1)


def _late(lane: Lane, fault: Fault, rng: random.Random, mark: Mark) -> Observation:
    """An alarm evaluated two hours ago names the holder, whose health endpoint the function
    cannot reach while it serves. Half the trials first fail over (so a move is on record)."""
    answers, failures, onset = [], 0, time.time()
    holder, evaluated = A, time.time() - TWO_HOURS
    if rng.random() < 0.5:
        lane.nodes.set(A, "down")
        answers.append(lane.invoke(master(B), "automatic", frozenset({A})))
        lane.nodes.set(A, "up")
        holder, failures = B, 1
    lane.nodes.set(holder, "hang", serving=True)
    answers.append(lane.delivered(lane.publish(lane.alarm(holder, at=evaluated)), "automatic"))
    return _observe(lane, fault, mark, onset, answers, failures)


def race(lane: Lane, fault: Fault, rng: random.Random) -> Observation:
    """Two or three invocations about one failure read the same etag (GetPrivateIp slowed so
    their reads overlap): exactly one may write, the others must lose the 412 and stand down."""
    mark = lane.reset()
    failure = _Failure(lane, rng.choice(("fast-down", "fast-crash")))
    onset = failure.break_node()
    lane.emu.set_latency("GetPrivateIp", 0.4)
    calls: list[Callable[[], Answer]] = [
        lambda: lane.invoke(master(B), "automatic", frozenset({A})),
        lambda: lane.invoke(lane.alarm(A), "automatic", frozenset({A})),
        lambda: lane.invoke(master(B), "automatic", frozenset({A})),
    ]
    answers = together(calls[: rng.randint(2, 3)])
    return _observe(lane, fault, mark, onset, answers, 1, extra_s=(failure.probe_cost, 0.4 * 3))


def together_paths(lane: Lane, fault: Fault, rng: random.Random) -> Observation:
    """The fast path, the alarm path (through Notifications) and an operator, all at once."""
    mark = lane.reset()
    onset = time.time()
    lane.nodes.set(A, "down")
    command: dict[str, Any] = rng.choice([{"action": "failover"}, {"action": "failover", "to": B}])
    answers = together(
        [
            lambda: lane.invoke(master(B), "automatic", frozenset({A})),
            lambda: lane.delivered(lane.publish(lane.alarm(A)), "automatic", frozenset({A})),
            lambda: lane.invoke(command, "manual"),
        ]
    )
    return _observe(lane, fault, mark, onset, answers, 1, extra_s=(1.0,))


def split_brain(lane: Lane, fault: Fault, rng: random.Random) -> Observation:
    """Both keepalived instances MASTER, both nodes healthy, notices arriving in pairs. Under
    ``preferred`` node-b holds at the start; a failback is allowed once, and only after the
    cooldown."""
    holder, age = A, None
    if lane.policy == "preferred":
        holder, age = B, rng.choice((10.0, 120.0))
    mark = lane.reset(holder=holder, last_move_age=age)
    onset = time.time()
    answers: list[Answer] = []
    for _ in range(rng.randint(2, 4)):
        answers += together([lambda: lane.invoke(master(A), "automatic"), lambda: lane.invoke(master(B), "automatic")])
    allowed = 1 if holder != lane.config.preferred.name else 0
    return _observe(lane, fault, mark, onset, answers, 0, allowed_writes=allowed, holder=holder)


def flapping(lane: Lane, fault: Fault, rng: random.Random) -> Observation:
    """The holder flaps: each down edge sends the peer's MASTER notice, each up edge the
    holder's own (a preempting keepalived). One failure, so one write; the cooldown must stop
    the failback from ping-ponging."""
    mark = lane.reset()
    onset = time.time()
    answers = []
    for _ in range(rng.randint(3, 5)):
        lane.nodes.set(A, "down")
        answers.append(lane.invoke(master(B), "automatic", frozenset({A})))
        time.sleep(rng.uniform(0.05, 0.4))
        lane.nodes.set(A, "up")
        answers.append(lane.invoke(master(A), "automatic"))
        time.sleep(rng.uniform(0.05, 0.4))
    return _observe(lane, fault, mark, onset, answers, 1)


def probe_unknown(lane: Lane, fault: Fault, rng: random.Random) -> Observation:
    """The function cannot reach one node's health endpoint while that node serves. Events that
    really arrive then (the holder's own MASTER, the peer's BACKUP, an operator's status or a
    move to the unreachable node, an OK alarm) must move nothing. With ``peer_master`` the
    holder is the unreachable one and the peer's keepalived also becomes MASTER (double fault)."""
    mark = lane.reset()
    onset = time.time()
    if fault.params.get("peer_master"):
        lane.nodes.set(A, "hang", serving=True)
        answers = [lane.invoke(master(B), "automatic", frozenset({A}))]
        return _observe(lane, fault, mark, onset, answers, 0, allowed_writes=1)
    hidden = rng.choice((A, B))
    other = B if hidden == A else A
    lane.nodes.set(hidden, "hang", serving=True)
    events: list[Callable[[], Answer]] = [
        lambda: lane.invoke(master(A), "automatic"),
        lambda: lane.invoke({"source": "keepalived", "node": B, "state": "BACKUP"}, "automatic"),
        lambda: lane.invoke({"action": "status"}, "manual"),
        lambda: lane.delivered(lane.publish(lane.alarm(other, "FIRING_TO_OK")), "automatic"),
    ]
    if hidden == B:
        events.append(lambda: lane.invoke({"action": "failover", "to": B}, "manual"))
        events.append(lambda: lane.invoke(master(B), "automatic"))
    answers = [event() for event in rng.sample(events, rng.randint(2, 3))]
    return _observe(lane, fault, mark, onset, answers, 0)


def _mutated_alarm(lane: Lane, rng: random.Random) -> bytes:
    message = lane.alarm(rng.choice((A, B)), rng.choice(("OK_TO_FIRING", "REPEAT", "FIRING_TO_OK")))
    target = rng.choice((message, message["alarmMetaData"][0]))
    key = rng.choice(sorted(target))
    junk: list[Any] = [None, 7, -1, 3.5, True, "", "FIRING", [], {}, [{"node": 5}], "x" * 300]
    if rng.random() < 0.4:
        del target[key]
    else:
        target[key] = rng.choice(junk)
    raw = json.dumps(message).encode()
    return raw[: rng.randint(0, len(raw))] if rng.random() < 0.3 else raw


def bad_bodies(lane: Lane, rng: random.Random) -> list[bytes]:
    """Bodies no caller should send: each kind of wrongness the function must shrug off."""
    makers: list[Callable[[], bytes]] = [
        lambda: bytes(rng.randrange(256) for _ in range(rng.randint(1, 64))),
        lambda: b"\xff\xfe" + json.dumps(master(B)).encode("utf-16-le"),
        lambda: json.dumps(rng.choice([[], 1, "MASTER", None, [master(B)]])).encode(),
        lambda: json.dumps(
            {"source": "keepalived", "node": rng.choice([5, None, ["node-b"], "node-z"]), "state": "MASTER"}
        ).encode(),
        lambda: json.dumps({"action": rng.choice(["reboot", 1, None, "FAILOVER"]), "to": B}).encode(),
        lambda: json.dumps({"action": "failover", "to": B, "dryrun": True}).encode(),
        lambda: b'{"action": "status", "pad": "' + b"x" * rng.randint(300_000, 400_000) + b'"}',
        lambda: b"[" * 50_000 + b"]" * 50_000,
        lambda: _mutated_alarm(lane, rng),
    ]
    return [rng.choice(makers)() for _ in range(rng.randint(3, 5))]


def bad_input(lane: Lane, fault: Fault, rng: random.Random) -> Observation:
    """Bad bodies straight to InvokeFunction, and (when they are text) through Notifications,
    while both nodes are healthy: whatever a body says, nothing may move or crash."""
    mark = lane.reset()
    onset = time.time()
    answers = []
    for body in bad_bodies(lane, rng):
        answers.append(lane.invoke(body, "bad_input"))
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            continue
        if len(text) < 60_000 and rng.random() < 0.5:  # ONS's message size limit is 64 KB
            answers.append(lane.delivered(lane.publish(text), "bad_input"))
    return _observe(lane, fault, mark, onset, answers, 0)


FOREIGN_ALARM = "ocid1.alarm.oc1.iad.aaaaaaaaacpualarmofanotherteamnotthisdeployments0000000000"


def hostile(lane: Lane, fault: Fault, rng: random.Random) -> Observation:
    """The function under hostile conditions (one ``mode`` per fault):

    node-forced-move   a process with a node's credentials asks the events function for a forced
                       move onto a dead node-b: refused, nothing moves
    probe-trickle      node-a is down; node-b's endpoint sends 200 headers then trickles (node-b
                       does not serve); the alarm fires: no move, and the answer comes back
    impostor           the same with node-b's URL answered by another node's agent
    stale-target       node-a down, GetPrivateIp slow (503s), node-b dies while the function
                       reads: it must re-verify and not move onto node-b
    foreign-alarm      the holder's probe is unknown (it serves) and a CPU alarm of another team
                       names it: no evidence, no move
    timestampless      the same with our own alarm but no timestamp: stale, no move
    holder-master      node-a is down and its own keepalived sends MASTER: a repair to node-b
    etag-storm         a real failure while UpdatePrivateIp answers 412 three times: the first
                       answer says nothing was done, the next notice repairs
    """
    mode = fault.params["mode"]
    # ``failures`` counts failures a write can repair: where no node serves, none can.
    mark = lane.reset()
    onset = time.time()
    answers: list[Answer] = []
    failures = allowed = 0
    if mode == "node-forced-move":
        lane.nodes.set(B, "down")
        body = rng.choice(
            [
                {"action": "failover", "to": B, "force": True},
                {"action": "failover", "force": True},
                {"action": "failback", "force": True},
            ]
        )
        answers.append(lane.invoke(body, "automatic"))
        refused = (answers[-1].body or {}).get("error") == "not_permitted"
        return _observe(lane, fault, mark, onset, answers, 0, exercised=refused)
    if mode in ("probe-trickle", "impostor"):
        lane.nodes.set(A, "down")
        lane.nodes.set(B, "trickle" if mode == "probe-trickle" else "impostor", serving=False)
        answers.append(lane.delivered(lane.publish(lane.alarm(A)), "automatic", frozenset({A})))
    elif mode == "stale-target":
        lane.nodes.set(A, "down")
        lane.emu.inject_fault("GetPrivateIp", status=503, delay=0.8, count=2)
        killer = threading.Timer(0.5, lambda: lane.nodes.set(B, "down"))
        killer.start()
        try:
            answers.append(lane.invoke(master(B), "automatic", frozenset({A})))
        finally:
            killer.join()
    elif mode in ("foreign-alarm", "timestampless"):
        lane.nodes.set(A, "hang", serving=True)
        message = lane.alarm(A)
        if mode == "foreign-alarm":
            for entry in message["alarmMetaData"]:
                entry["id"] = FOREIGN_ALARM
        else:
            message.pop("timestampEpochMillis", None)
        answers.append(lane.delivered(lane.publish(message), "automatic", frozenset()))
    elif mode == "holder-master":
        lane.nodes.set(A, "down")
        answers.append(lane.invoke(master(A), "automatic", frozenset({A})))
        failures = allowed = 1
    elif mode == "etag-storm":
        lane.nodes.set(A, "down")
        lane.emu.inject_fault("UpdatePrivateIp", status=412, count=3)
        answers.append(lane.invoke(master(B), "automatic", frozenset({A})))
        gave_up = (answers[-1].body or {}).get("ok") is False
        answers.append(lane.invoke(master(B), "automatic", frozenset({A})))
        return _observe(lane, fault, mark, onset, answers, 1, api_fault=True, exercised=gave_up)
    return _observe(lane, fault, mark, onset, answers, failures, allowed_writes=allowed)


def keepalived_kill(lane: Lane, fault: Fault, rng: random.Random) -> Observation:
    """The holder's keepalived is SIGKILLed: its alias stays, so node-a serves on, but its agent
    reports keepalived not running; a peer's keepalived, no longer hearing adverts, becomes
    MASTER and notifies. One ``mode`` per fault:

    peer-managed     node-b's keepalived runs: every VIP moves to node-b once (rule 4b, code
                     holder_unmanaged); half the trials its notice comes again: nothing more. On
                     the multi topology half the trials node-b's keepalived was already gone
                     (killed while BACKUP: no alias, it does not serve), so node-c is MASTER and
                     every VIP moves there
    no-managed-peer  by the time node-b's notice arrives its keepalived is gone too (it keeps the
                     alias it took) or its haproxy failed: no node serves with keepalived running,
                     the IP stays (invariant 7 has no node to ask for)
    split-brain      nothing killed: both keepalived run, both MASTER, both notify; the IP stays
    """
    mode = fault.params["mode"]
    mark = lane.reset()
    if mode == "split-brain":
        onset = time.time()
        answers: list[Answer] = []
        for _ in range(rng.randint(1, 3)):
            answers += together(
                [lambda: lane.invoke(master(A), "automatic"), lambda: lane.invoke(master(B), "automatic")]
            )
        return _observe(lane, fault, mark, onset, answers, 0)
    notifier = B
    if C in lane.node_names and rng.random() < 0.5:
        lane.nodes.set(B, "down", keepalived=False)
        notifier = C
    onset = time.time()
    lane.nodes.set(A, "up", keepalived=False)
    peers = frozenset(n for n in lane.node_names if n != notifier)
    if mode == "no-managed-peer":
        if rng.random() < 0.5:
            lane.nodes.set(B, "up", keepalived=False)
        else:
            lane.nodes.set(B, "down")
        answers = [lane.invoke(master(B), "automatic", peers)]
        stayed = (answers[0].body or {}).get("decision") != "moved"
        return _observe(lane, fault, mark, onset, answers, 0, exercised=stayed)
    answers = [lane.invoke(master(notifier), "automatic", peers)]
    if rng.random() < 0.5:
        answers.append(lane.invoke(master(notifier), "automatic", peers))
    handed = (answers[0].body or {}).get("code") == HOLDER_UNMANAGED and _moved_all(lane, answers[0])
    return _observe(lane, fault, mark, onset, answers, 1, exercised=handed)


RACE_READ_S = 0.4  # GetPrivateIp/GetIpv6 slowed so that racing invocations read the same etags


def multi(lane: Lane, fault: Fault, rng: random.Random) -> Observation:
    """The multi topology: node-a holds every VIP (a group of two IPv4 VIPs, an IPv6 VIP in a
    group of its own); node-b outranks node-c. One ``mode`` per fault:

    holder-down    node-a fails (503 or crash), node-b's keepalived MASTER or the alarm reports it
                   (half the trials the other path reports it too): every VIP ends on node-b
    two-down       node-a and node-b fail at once (node-c's MASTER or the alarm about node-a), or
                   one after the other, each reported: every VIP ends on node-c
    partial-write  node-a fails while the group's second IPv4 VIP's UpdatePrivateIp, or the
                   IPv6 VIP's UpdateIpv6, answers 429/500/503 until the retry deadline: the answer
                   names what moved and what did not; the alarm's REPEAT, the fault gone, completes
    ipv6-412       node-a fails while UpdateIpv6 answers 412 one to three times, or two or three
                   invocations race with slow reads: re-read and converge, one write per VIP; the
                   alarm's REPEAT repairs what three lost races left
    """
    mode = fault.params["mode"]
    mark = lane.reset()
    extra: tuple[float, ...] = ()
    if mode == "two-down":
        return _two_down(lane, fault, rng, mark)
    failure = _Failure(lane, rng.choice(MODES[:3]))
    onset = failure.break_node()
    if mode == "holder-down":
        answers = [failure.trigger()]
        if rng.random() < 0.5:
            answers.append(failure.other_path())
        exercised = _moved_all(lane, answers[0])
    elif mode == "partial-write":
        vip = rng.choice(lane.vip_ids[1:])
        operation = "UpdateIpv6" if vip_family(vip) == "ipv6" else "UpdatePrivateIp"
        earlier = [v for group in lane.groups for v in group if vip_family(v) == vip_family(vip)].index(vip)
        if earlier:  # a fault with nothing set lets a call through: the writes before this VIP's land
            lane.emu.inject_fault(operation, count=earlier)
        status = rng.choice((429, 500, 503))
        lane.emu.inject_fault(operation, status=status, code=CODES[status], count=None)
        answers = [failure.trigger()]
        lane.clear_faults()
        answers.append(failure.repeat())
        first = answers[0].body or {}
        exercised = first.get("decision") == "partial" and vip in first.get("not_moved", [])
    else:  # ipv6-412
        if rng.random() < 0.5:
            lane.emu.inject_fault("UpdateIpv6", status=412, code=CODES[412], count=rng.randint(1, 3))
            answers = [failure.trigger()]
        else:
            for operation in ("GetPrivateIp", "GetIpv6"):
                lane.emu.set_latency(operation, RACE_READ_S)
            answers = together([failure.trigger] * rng.randint(2, 3))
            extra = (MULTI_VIPS * 2 * RACE_READ_S,)  # each VIP's read and read-back slowed
        lane.clear_faults()
        answers.append(failure.repeat())
        exercised = 412 in lane.statuses(mark, "UpdateIpv6")
    return _observe(
        lane, fault, mark, onset, answers, failure.failures, extra_s=(failure.probe_cost, *extra), exercised=exercised
    )


def _two_down(lane: Lane, fault: Fault, rng: random.Random, mark: Mark) -> Observation:
    """node-a and node-b fail, at once (one failure: one write per VIP) or one after the other
    (two, each reported: two); convergence counts from the last."""
    if rng.random() < 0.5:
        onset = time.time()
        lane.nodes.set(A, "down")
        lane.nodes.set(B, "down")
        if rng.random() < 0.5:
            answers = [lane.invoke(master(C), "automatic", frozenset({A}))]
        else:
            answers = [lane.delivered(lane.publish(lane.alarm(A)), "automatic", frozenset({A}))]
        return _observe(lane, fault, mark, onset, answers, 1, exercised=_moved_all(lane, answers[-1]))
    lane.nodes.set(A, "down")
    answers = [lane.invoke(master(B), "automatic", frozenset({A}))]
    onset = time.time()
    lane.nodes.set(B, "down")
    if rng.random() < 0.5:
        answers.append(lane.invoke(master(C), "automatic", frozenset({B})))
    else:
        answers.append(lane.delivered(lane.publish(lane.alarm(B)), "automatic", frozenset({B})))
    return _observe(lane, fault, mark, onset, answers, 2, exercised=_moved_all(lane, answers[-1]))


def _moved_all(lane: Lane, answer: Answer) -> bool:
    """Whether ``answer`` reports every VIP of the topology moved (the failure took them all)."""
    return set((answer.body or {}).get("moved") or ()) == set(lane.vip_ids)


SCENARIOS: dict[str, Callable[[Lane, Fault, random.Random], Observation]] = {
    "api": api,
    "outage": outage,
    "token": token,
    "notifications": notifications,
    "race": race,
    "together": together_paths,
    "split_brain": split_brain,
    "flapping": flapping,
    "probe_unknown": probe_unknown,
    "bad_input": bad_input,
    "hostile": hostile,
    "multi": multi,
    "keepalived_kill": keepalived_kill,
}
