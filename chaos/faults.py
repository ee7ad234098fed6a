"""The fault matrix as data, and the seeded plan of trials drawn from it.

A `Fault` names what goes wrong and which driver makes it happen: ``emulator`` (the real
function under fdk behind the emulator, node health on loopback endpoints) or, later, ``lab``
(real haproxy/keepalived, through ``python -m lab fault NODE KIND``). The driver looks up
``scenario`` in its own table of trial scripts and reads ``params``; everything else here (the
share of trials, the failback policy it needs, what it adds to the convergence budget, and any
invariant that is documented not to hold for it) is the same for every driver. A lab fault is
therefore just another entry with ``driver="lab"``.

Budgets: the fast path must put the floating IP on a serving node within
`FAST_PATH_BUDGET_S` of the failure. A fault that withholds the API (retries with backoff, a
read timeout) or hides a node (a probe that hangs until its timeout) adds exactly what it
withholds, computed from the function's own retry and timeout settings, so the budget says
what the design promises under that fault and nothing looser.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from failover.network import CALL_TIMEOUT, MAX_WAIT_BETWEEN_CALLS, RETRY_BASE_SLEEP, RETRY_JITTER
from ocisim.errors import CODES
from ocisim.faults import REALISTIC_API_LATENCY

FAST_PATH_BUDGET_S = 2.0
# The statuses the SDK retries that an API fault bursts with (their codes: ocisim's one table).
RETRIED_STATUSES = (429, 500, 503, 409)
# The function's configuration in every chaos lane (what terraform deploys, but a loopback
# probe timeout: a hung node costs PROBE_TIMEOUT_S of every invocation that probes it).
FUNCTION_CONFIG = {"COOLDOWN_SECONDS": "60", "PROBE_TIMEOUT_SECONDS": "0.5", "RETRY_DEADLINE_SECONDS": "20"}
PROBE_TIMEOUT_S = float(FUNCTION_CONFIG["PROBE_TIMEOUT_SECONDS"])
RETRY_DEADLINE_S = float(FUNCTION_CONFIG["RETRY_DEADLINE_SECONDS"])
FAST_LATENCY = MappingProxyType({"UpdatePrivateIp": 0.05, "UpdateIpv6": 0.05})
FUNCTION_OPERATIONS = ("GetPrivateIp", "UpdatePrivateIp", "GetPublicIpByPrivateIpId")
TIMEOUT_DELAY_S = CALL_TIMEOUT[1] + 0.5  # past the SDK read timeout the function sets


def backoff_bound(retries: int) -> float:
    """The longest the SDK can sleep over ``retries`` retries with the function's settings."""
    return sum(min(RETRY_BASE_SLEEP * 2**i + RETRY_JITTER, MAX_WAIT_BETWEEN_CALLS) for i in range(retries))


@dataclass(frozen=True)
class Fault:
    name: str
    scenario: str  # the driver's trial script
    description: str
    params: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    driver: str = "emulator"
    weight: float = 1.0  # share of the trials, relative to the other entries
    policy: str = "never"  # FAILBACK_POLICY of the function it runs against
    extra_budget_s: float = 0.0  # what the fault itself withholds (see the module doc)
    relaxed: Mapping[int, str] = field(default_factory=lambda: MappingProxyType({}))  # invariant -> why
    topology: str = "two-node"  # ocisim/topologies/<topology>.json: the nodes and VIPs of its lane


@dataclass(frozen=True)
class Trial:
    fault: Fault
    index: int  # n-th trial of this fault
    seed: int  # the trial's own random choices


def _api_faults() -> list[Fault]:
    faults = []
    for op in FUNCTION_OPERATIONS:
        for status in RETRIED_STATUSES:
            code = CODES[status]
            faults.append(
                Fault(
                    f"{op}:{status}-burst",
                    "api",
                    f"{op} answers {status} {code} 1-3 times in a row",
                    MappingProxyType({"operation": op, "status": status, "code": code, "burst": 3}),
                    extra_budget_s=backoff_bound(3) + 3 * REALISTIC_API_LATENCY.get(op, 0.0),
                )
            )
        faults.append(
            Fault(
                f"{op}:timeout",
                "api",
                f"{op} answers {TIMEOUT_DELAY_S:g} s late, past the SDK read timeout",
                MappingProxyType({"operation": op, "delay": TIMEOUT_DELAY_S, "burst": 1}),
                weight=0.5,
                extra_budget_s=CALL_TIMEOUT[1] + backoff_bound(1) + REALISTIC_API_LATENCY.get(op, 0.0),
            )
        )
        for when in ("before", "after"):
            faults.append(
                Fault(
                    f"{op}:drop-{when}",
                    "api",
                    f"{op}'s connection is cut {'before the call runs' if when == 'before' else 'after it committed'}",
                    MappingProxyType({"operation": op, "drop": when, "burst": 1}),
                    extra_budget_s=backoff_bound(1) + REALISTIC_API_LATENCY.get(op, 0.0),
                )
            )
    return faults


_OUTAGE_BUDGET = RETRY_DEADLINE_S + FAST_PATH_BUDGET_S
# One VIP's read, write and read-back: what a lost etag race costs (read again, decide again,
# write again), and what each VIP beyond the first adds before the last one lands.
ETAG_ROUND_S = 2 * REALISTIC_API_LATENCY["GetPrivateIp"] + REALISTIC_API_LATENCY["UpdatePrivateIp"]
# The multi topology: three nodes, a group of two IPv4 VIPs and an IPv6 VIP in a group of its own.
MULTI_VIPS = 3
MULTI_GROUP_S = (MULTI_VIPS - 1) * ETAG_ROUND_S


def _multi(
    name: str, description: str, extra_budget_s: float = 0.0, weight: float = 1.0, scenario: str = "multi"
) -> Fault:
    return Fault(
        f"multi:{name}",
        scenario,
        description,
        MappingProxyType({"mode": name}),
        weight=weight,
        extra_budget_s=round(MULTI_GROUP_S + extra_budget_s, 3),
        topology="multi",
    )


MULTI_MATRIX: tuple[Fault, ...] = (
    _multi(
        "holder-down",
        "three nodes, two VIP groups (two IPv4 VIPs; one IPv6 VIP): the holder fails (503 or crash), "
        "node-b's keepalived notice and/or the alarm report it; every VIP ends on node-b",
    ),
    _multi(
        "two-down",
        "the holder and node-b fail, at once or one after the other; every VIP ends on node-c",
    ),
    _multi(
        "partial-write",
        "UpdatePrivateIp (the group's second IPv4 VIP) or UpdateIpv6 answers 429/500/503 until the "
        "retry deadline: the answer names what moved and what did not, the next event completes",
        RETRY_DEADLINE_S,
        weight=0.5,
    ),
    _multi(
        "ipv6-412",
        "UpdateIpv6 answers 412 one to three times, or two invocations race for the etags: "
        "re-read and converge, one write per VIP",
        3 * ETAG_ROUND_S + FAST_PATH_BUDGET_S,
    ),
    Fault(
        "multi:keepalived-kill",
        "keepalived_kill",
        "the holder's keepalived is SIGKILLed (alias kept, it serves); node-b's MASTER notice, or, "
        "node-b's keepalived gone too, node-c's: every VIP moves to the notifier once (holder_unmanaged)",
        MappingProxyType({"mode": "peer-managed"}),
        extra_budget_s=round(MULTI_GROUP_S, 3),
        topology="multi",
    ),
)
# keepalived SIGKILLed on the holder (rule 4b): the alias stays, so it serves, unmanaged.
KEEPALIVED_KILL_MATRIX: tuple[Fault, ...] = tuple(
    Fault(name, "keepalived_kill", description, MappingProxyType({"mode": mode}))
    for name, mode, description in (
        (
            "keepalived-kill",
            "peer-managed",
            "the holder's keepalived is SIGKILLed (alias kept, it serves); the peer becomes MASTER "
            "and notifies: the IP moves to it once (holder_unmanaged), a repeated notice moves nothing",
        ),
        (
            "keepalived-kill:no-managed-peer",
            "no-managed-peer",
            "the same, but by the time the peer's notice arrives its keepalived is gone too or its "
            "haproxy failed: no node serves with keepalived running, the IP stays",
        ),
        (
            "keepalived-kill:split-brain",
            "split-brain",
            "nothing killed: both keepalived run, both MASTER, both notify: the IP stays",
        ),
    )
)
MATRIX: tuple[Fault, ...] = (
    Fault("baseline", "api", "no fault: a node fails and the fast path or the alarm path reports it"),
    *_api_faults(),
    Fault(
        "api-outage:503",
        "outage",
        "GetPrivateIp answers 503 for longer than the retry deadline, then recovers",
        MappingProxyType({"status": 503, "code": CODES[503]}),
        weight=0.25,
        extra_budget_s=_OUTAGE_BUDGET,
    ),
    Fault(
        "api-outage:timeout",
        "outage",
        "GetPrivateIp hangs for longer than the retry deadline, then recovers",
        MappingProxyType({"delay": TIMEOUT_DELAY_S}),
        weight=0.25,
        extra_budget_s=_OUTAGE_BUDGET,
    ),
    Fault(
        "rp-token:expires-mid-run",
        "token",
        "the function's resource-principal token expires between calls; "
        "the next call gets 401, the SDK re-reads the rotated files and retries",
        weight=0.5,
        extra_budget_s=REALISTIC_API_LATENCY["GetPrivateIp"],
    ),
    Fault(
        "rp-token:expired-not-rotated",
        "token",
        "the token expired and the files were not rotated yet: 401 on every call until the runtime rotates them",
        MappingProxyType({"rotate": False}),
        weight=0.5,
        extra_budget_s=FAST_PATH_BUDGET_S,
    ),
    Fault(
        "notifications:duplicate",
        "notifications",
        "Notifications delivers the same alarm message 2-3 times at once",
        MappingProxyType({"mode": "duplicate"}),
    ),
    Fault(
        "notifications:out-of-order",
        "notifications",
        "a newer REPEAT is delivered before the OK_TO_FIRING it follows",
        MappingProxyType({"mode": "out-of-order"}),
    ),
    Fault(
        "notifications:2h-late",
        "notifications",
        "an alarm message evaluated 2 hours ago arrives now, naming the "
        "holder, while the function cannot reach the holder's health endpoint (it serves)",
        MappingProxyType({"mode": "late"}),
        extra_budget_s=PROBE_TIMEOUT_S,
    ),
    Fault("race:412-concurrent", "race", "two or three invocations about the same failure read the same etag and race"),
    Fault(
        "together:fast+alarm+manual",
        "together",
        "the fast path, the alarm path and an operator's failover arrive at once",
    ),
    Fault(
        "split-brain", "split_brain", "both keepalived instances send MASTER notices, repeatedly, both nodes healthy"
    ),
    Fault(
        "split-brain:preferred",
        "split_brain",
        "split brain with FAILBACK_POLICY=preferred while node-b holds",
        policy="preferred",
    ),
    Fault(
        "flapping-vs-cooldown",
        "flapping",
        "the holder flaps down/up every few hundred ms, each edge reported by keepalived",
        policy="preferred",
        extra_budget_s=PROBE_TIMEOUT_S,
    ),
    Fault(
        "probe-unknown",
        "probe_unknown",
        "the function cannot reach one node's health endpoint while the node serves",
        extra_budget_s=PROBE_TIMEOUT_S,
    ),
    Fault(
        "probe-unknown+split-brain",
        "probe_unknown",
        "double fault: the holder's health endpoint unreachable from "
        "the function while it serves, and the peer's keepalived becomes MASTER",
        MappingProxyType({"peer_master": True}),
        extra_budget_s=PROBE_TIMEOUT_S,
        relaxed=MappingProxyType(
            {
                2: "the function sees exactly what a dead holder looks like (probe unknown, peer "
                "MASTER) and moves to the peer, which is healthy and holds the alias: a needless "
                "move, never to a node that cannot serve"
            }
        ),
    ),
    Fault(
        "bad-input", "bad_input", "junk, truncated and mutated alarm messages, wrong types, huge and non-UTF-8 bodies"
    ),
    *(
        Fault(
            f"hostile:{mode}",
            "hostile",
            description,
            MappingProxyType({"mode": mode}),
            weight=0.25,
            extra_budget_s=extra,
        )
        for mode, description, extra in (
            (
                "node-forced-move",
                "a node's credentials ask the events function for a forced move onto a dead node",
                0.0,
            ),
            (
                "probe-trickle",
                "the only other node's health endpoint answers 200 and then trickles its body",
                PROBE_TIMEOUT_S,
            ),
            ("impostor", "the other node's health URL is answered by another node's agent", 0.0),
            (
                "stale-target",
                "the target dies while slow GetPrivateIp reads hold the decision",
                2 * 0.8 + backoff_bound(2),
            ),
            ("foreign-alarm", "another team's alarm names the holder, whose probe is unknown", PROBE_TIMEOUT_S),
            (
                "timestampless",
                "our alarm without a timestamp names the holder, whose probe is unknown",
                PROBE_TIMEOUT_S,
            ),
            ("holder-master", "the holder is down and its own keepalived sends MASTER", 0.0),
            (
                "etag-storm",
                "a real failure while UpdatePrivateIp answers 412 three times in a row",
                3 * ETAG_ROUND_S + FAST_PATH_BUDGET_S,
            ),
        )
    ),
    *KEEPALIVED_KILL_MATRIX,
    *MULTI_MATRIX,
)


# The lab level: real haproxy/keepalived in network namespaces (lab/), the real function behind
# the emulator as the control plane. Its budgets count from the fault itself, so they add what
# the node side takes to notice before the fast path can start, from the lab's own settings:
# keepalived's haproxy check (templates/keepalived.conf.tftpl: interval 1, fall 1), VRRP's
# master-down interval (3 adverts plus skew, advert_int from lab/plan.py), and the function's
# probe timeout for a node that does not answer (the lab keeps the default, 2 s). A SIGKILLed
# keepalived's peer notifies after the master-down interval; the move it asks for (rule 4b) is
# the fast path's 2 s on top, so lab:keepalived-kill's budget is the same sum as before the rule.
LAB_CHECK_INTERVAL_S = 1.0
LAB_ADVERT_INT_S = 0.2
LAB_LOWEST_VRRP_PRIORITY = 90
LAB_MASTER_DOWN_S = 3 * LAB_ADVERT_INT_S + (256 - LAB_LOWEST_VRRP_PRIORITY) * LAB_ADVERT_INT_S / 256
LAB_PROBE_TIMEOUT_S = 2.0


def _lab(name: str, scenario: str, description: str, extra_budget_s: float = 0.0, **params: Any) -> Fault:
    policy = params.pop("policy", "never")
    return Fault(
        f"lab:{name}",
        scenario,
        description,
        MappingProxyType(params),
        driver="lab",
        policy=policy,
        extra_budget_s=round(extra_budget_s, 3),
    )


LAB_MATRIX: tuple[Fault, ...] = (
    _lab(
        "haproxy-stop",
        "fault",
        "the holder's haproxy stops; its keepalived check fails, the peer becomes MASTER",
        LAB_CHECK_INTERVAL_S,
        kind="haproxy-stop",
    ),
    _lab(
        "keepalived-stop",
        "fault",
        "the holder's keepalived gets SIGTERM: it drops the alias and tells the peer",
        kind="keepalived-stop",
    ),
    _lab(
        "keepalived-kill",
        "fault",
        "the holder's keepalived gets SIGKILL: the alias stays, the peer becomes MASTER after VRRP's "
        "master-down interval and its notice moves the IP there (rule 4b): one write",
        LAB_MASTER_DOWN_S,
        kind="keepalived-kill",
    ),
    _lab(
        "keepalived-kill+restart",
        "restart",
        "the holder's keepalived is SIGKILLed (the peer's notice moves the IP off it: one write), "
        "then started again 2-4 s later (as BACKUP: it drops the stale alias, nothing moves); timed from the restart",
        kind="keepalived-kill",
    ),
    _lab(
        "link-down", "fault", "the holder's link goes down", LAB_MASTER_DOWN_S + LAB_PROBE_TIMEOUT_S, kind="link-down"
    ),
    _lab(
        "crash",
        "fault",
        "the holder crashes: every process killed, link down",
        LAB_MASTER_DOWN_S + LAB_PROBE_TIMEOUT_S,
        kind="crash",
    ),
    _lab(
        "partition",
        "partition",
        "VRRP dropped between the nodes for a few seconds while both stay healthy "
        "(split brain: both MASTER, both notify), then the partition heals",
    ),
    _lab(
        "health-blocked",
        "health_blocked",
        "the function cannot reach one node's health port (the holder's or "
        "the peer's) while the client can; then the holder's haproxy stops",
        LAB_CHECK_INTERVAL_S + LAB_PROBE_TIMEOUT_S,
    ),
    _lab(
        "flapping", "flapping", "the holder's haproxy stops and starts again every 2-4 s, 3 times", LAB_CHECK_INTERVAL_S
    ),
    _lab(
        "heal:never",
        "heal",
        "node-a fails (haproxy, link or crash), the IP moves, then node-a comes back; timed from its return",
    ),
    _lab(
        "heal:preferred",
        "heal",
        "the same under FAILBACK_POLICY=preferred (node-a is the preferred node)",
        policy="preferred",
    ),
)


def by_name(names: list[str] | None = None) -> tuple[Fault, ...]:
    """The emulator matrix, or the named entries of either matrix (unknown names are an error,
    not a silent skip)."""
    if not names:
        return MATRIX
    table = {f.name: f for f in MATRIX + LAB_MATRIX}
    missing = [n for n in names if n not in table]
    if missing:
        raise KeyError(f"unknown fault(s): {', '.join(missing)}")
    return tuple(table[n] for n in names)


def trial_counts(faults: tuple[Fault, ...], total: int) -> dict[str, int]:
    """``total`` trials shared by weight, at least one per fault (largest remainder, so they sum to total)."""
    if total < len(faults):
        raise ValueError(f"{total} trials cannot cover {len(faults)} faults")
    weights = sum(f.weight for f in faults)
    exact = {f.name: total * f.weight / weights for f in faults}
    counts = {name: max(1, int(value)) for name, value in exact.items()}
    by_remainder = sorted(exact, key=lambda n: (exact[n] - int(exact[n]), n), reverse=True)
    for name in by_remainder:
        if sum(counts.values()) >= total:
            break
        counts[name] += 1
    return counts


def plan(faults: tuple[Fault, ...], total: int, seed: int) -> list[Trial]:
    """Every trial, in a seeded random order; the same seed gives the same plan."""
    rng = random.Random(seed)
    counts = trial_counts(faults, total)
    trials = [Trial(f, i, rng.randrange(2**32)) for f in faults for i in range(counts[f.name])]
    rng.shuffle(trials)
    return trials
