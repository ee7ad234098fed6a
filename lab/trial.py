"""One failover trial in a running lab: fault the serving node, watch the client, measure.

Shared by the test, the demo and the bench, so they all measure the same thing: failover time =
fault -> the client's first answer from the other node, failed requests = requests in the trial
that got no answer, API calls = the emulator's requests (other than the lab's admin ones) made
between the fault and the end of the trial.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lab import cloud, control, machines, network
from lab.plan import PYTHON, REPO, Node, Plan, Vip
from lab.shell import LabError, in_netns
from lab.state import LabState

RATE_PER_SECOND = 50.0
BASELINE_SECONDS = 0.5
SETTLE_TIMEOUT_SECONDS = 30.0
# The IPv4 VRRP instance's transitions (the IPv6 one, where there is one, moves with it).
_STATE = re.compile(r"\(vip_ipv4\) Entering (\w+) STATE")


@dataclass(frozen=True)
class TrialResult:
    fault: str
    from_node: str
    to_node: str
    fault_time: float
    failover_s: float | None
    requests: int
    failed_requests: int
    api_calls: dict[str, int]
    answers: list[dict[str, Any]] = field(repr=False)
    emulator_log: list[dict[str, Any]] = field(repr=False)
    target: str = "vip"

    @property
    def ok(self) -> bool:
        return self.failover_s is not None


def summarise(answers: list[dict[str, Any]], fault_time: float, to_node: str) -> tuple[float | None, int]:
    """(failover seconds, failed requests) from the client's answers; pure."""
    firsts = [a["done"] for a in answers if a["node"] == to_node and a["done"] >= fault_time]
    failover = min(firsts) - fault_time if firsts else None
    return failover, sum(1 for a in answers if a["error"])


def summarise_path(
    answers: list[dict[str, Any]], fault_time: float, moved_at: float | None
) -> tuple[float | None, int]:
    """(failover seconds, failed requests) of the route-target path: fault -> the first answer to
    a request sent once the fabric routed the path through the new holder; pure."""
    firsts = [a["done"] for a in answers if a["node"] and moved_at is not None and a["sent"] >= moved_at]
    return (min(firsts) - fault_time if firsts else None), sum(1 for a in answers if a["error"])


def transit_moved(plan: Plan, after: float, victim: Node) -> tuple[float, str] | None:
    """When, and to which node, the fabric follower first routed the route-target path away
    from `victim` after `after` (its log), if it did."""
    lines = plan.path(None, "fabric.log").read_text().splitlines()
    moves = [(e["time"], e["holder"]) for e in parse_log(lines) if e.get("event") == "transit"]
    return next(((t, holder) for t, holder in moves if t >= after and holder != victim.name), None)


def next_holder(answers: list[dict[str, Any]], fault_time: float, victim: Node) -> str | None:
    """The first node other than `victim` that answered after the fault (pure): with more than
    two nodes the IP need not go where the trial expected (the next priority may be busy)."""
    return next((a["node"] for a in answers if a["done"] >= fault_time and a["node"] not in (None, victim.name)), None)


# What a trial's client sends requests to: the (first IPv4) floating IP, the IPv6 VIP, or the
# route-target path's destination behind the pair (from that path's own client).
TARGETS = ("vip", "vip6", "route-target")


def client_command(plan: Plan, target: str, survivor: Node, seconds: float, rate: float) -> list[str]:
    """The bounded client of one trial (pure)."""
    if target == "route-target":
        if plan.transit is None:
            raise LabError("this lab has no route-target path (lab up --topology multi)")
        netns, host, until = plan.transit.client_netns, plan.transit.server_ip, None
    elif target == "vip6":
        six = [v for v in plan.vips if v.family == 6]
        if not six:
            raise LabError("this lab has no IPv6 VIP (lab up --topology multi)")
        netns, host, until = plan.client_netns, six[0].address, survivor.name
    else:
        netns, host, until = plan.client_netns, plan.vip, survivor.name
    command = [str(PYTHON), "-m", "lab.client", host, "--rate", str(rate), "--duration", str(seconds)]
    return in_netns(netns, *command, *(["--until", until] if until else []))


def parse_log(lines: list[str]) -> list[dict[str, Any]]:
    """The emulator's JSON log lines (anything else skipped)."""
    entries = []
    for line in lines:
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict):
            entries.append(entry)
    return entries


# The node agents' telemetry is not part of moving the IP.
NOT_A_MOVE = frozenset({"PostMetricData"})


def api_requests(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The emulator's request lines made to move the IP: no lab admin calls, no telemetry; pure."""
    return [
        e
        for e in entries
        if e.get("event") == "request"
        and e.get("principal") != "ocisim-admin"
        and e.get("operation") not in NOT_A_MOVE
        and e.get("path", "").find("/metrics") < 0
    ]


def count_api_calls(entries: list[dict[str, Any]]) -> dict[str, int]:
    """Emulator requests per operation, as in `api_requests`; pure."""
    return dict(Counter(str(e.get("operation")) for e in api_requests(entries)))


def keepalived_state(plan: Plan, node: Node) -> str:
    """The last VRRP state keepalived logged for the node ("" if none): its journal on a booted
    node, its log file otherwise."""
    if LabState.load(plan).booted:
        text = machines.journal(plan, node, "keepalived")
    else:
        try:
            text = plan.path(node, "keepalived.log").read_text()
        except OSError:
            return ""
    states = _STATE.findall(text)
    return states[-1] if states else ""


def serving_node(plan: Plan) -> Node:
    """The node that holds the alias and gets the fabric's route: the one a trial breaks."""
    holders = network.alias_holders(plan)
    route = network.vip_route_holder(plan)
    if route is None or holders != [route.name]:
        raise LabError(f"the lab is not in a steady state: aliases on {holders}, route to {route and route.name}")
    return route


def wait_steady(plan: Plan, timeout: float = SETTLE_TIMEOUT_SECONDS) -> Node:
    """Wait until one node serves (alias + route + answers) and every other is a ready BACKUP."""

    def steady() -> bool:
        try:
            master = serving_node(plan)
        except LabError:
            return False
        return (
            all(keepalived_state(plan, backup) == "BACKUP" for backup in plan.others(master))
            and not control.notify_running(plan)
            and master.name in control.client_get(plan, 0.5)
        )

    control.wait_for(steady, timeout, "a steady lab (one MASTER serving, every other node BACKUP)", interval=0.2)
    return serving_node(plan)


def resync(state: LabState) -> Node:
    """Heal, and if keepalived and the cloud disagree on the holder (a trial can leave that
    behind, see docs/lab.md), make the cloud and the fabric follow keepalived's MASTER. Bench
    housekeeping between trials, never inside a measurement."""
    plan = state.plan
    control.heal(plan)
    try:
        return all_vips_on(state, wait_steady(plan, timeout=5.0))
    except LabError:
        pass
    holders = network.alias_holders(plan)
    if len(holders) != 1:
        for node in plan.nodes:
            control.fault(node.name, "keepalived-stop", plan)
        control.heal(plan)
        control.wait_for(lambda: len(network.alias_holders(plan)) == 1, SETTLE_TIMEOUT_SECONDS, "one VRRP MASTER")
        holders = network.alias_holders(plan)
    holder = plan.node(holders[0])
    for vip in plan.vips:  # each where its VRRP instance's MASTER is (else with the first)
        owners = network.alias_holders(plan, vip)
        follow(state, vip, plan.node(owners[0]) if len(owners) == 1 else holder)
    return all_vips_on(state, wait_steady(plan))


def follow(state: LabState, vip: Vip, node: Node) -> None:
    """The cloud and the fabric put `vip` on `node` (housekeeping, as an operator would)."""
    if cloud.vip_holder(state.emulator, state.facts, vip.name) != node.name:
        cloud.move_vip(state.emulator, state.facts, node.name, vip.name)
    network.route_vip(state.plan, node, vip)


def all_vips_on(state: LabState, holder: Node) -> Node:
    """Every floating IP on `holder`, the first one's, so that a trial breaks the node that serves
    whichever one it sends to. keepalived runs an instance per address family, each `nopreempt`,
    so a trial can leave the IPv6 VIP's MASTER on another node; then every other node's keepalived
    is stopped until `holder` is MASTER of each, and healed (each comes back BACKUP)."""
    plan = state.plan

    def gathered() -> bool:
        return all(network.alias_holders(plan, vip) == [holder.name] for vip in plan.vips)

    if gathered():
        return holder
    for node in plan.others(holder):
        control.fault(node.name, "keepalived-stop", plan)
    control.wait_for(gathered, SETTLE_TIMEOUT_SECONDS, f"{holder.name} to be MASTER of every floating IP")
    control.heal(plan)
    for vip in plan.vips:
        follow(state, vip, holder)
    return wait_steady(plan)


def put_vip_on(state: LabState, name: str, timeout: float) -> Node:
    """Housekeeping before a trial or test, never inside a measurement: every fault healed, one
    MASTER serving, the cloud and the fabric following it, and that node is `name` (if another
    held the floating IP, its keepalived is stopped until `name` is MASTER, then healed)."""
    plan = state.plan
    current = resync(state)
    if current.name != name:
        control.fault(current.name, "keepalived-stop", plan)  # SIGTERM: the wanted node becomes MASTER
        control.wait_for(lambda: network.alias_holders(plan) == [name], timeout, f"{name} to be MASTER")
        if cloud.vip_holder(state.emulator, state.facts) != name:
            cloud.move_vip(state.emulator, state.facts, name)
        current = resync(state)
    if current.name != name:
        raise LabError(f"could not put the floating IP on {name} (it is on {current.name})")
    return current


def run_trial(
    state: LabState,
    kind: str,
    *,
    timeout: float,
    rate: float = RATE_PER_SECOND,
    target: str = "vip",
    phase: float = 0.0,
) -> TrialResult:
    """Break the serving node with `kind`, measure until the next node answers (or `timeout`):
    through `target` (TARGETS); for the route-target path, until `timeout`. `phase`: seconds
    more of baseline before the fault (the bench's `fault_phases`)."""
    plan = state.plan
    victim = wait_steady(plan)
    survivor = plan.peer(victim)
    log = plan.path(None, "emulator.log")
    baseline = BASELINE_SECONDS + phase
    client = subprocess.Popen(
        client_command(plan, target, survivor, timeout + baseline, rate),
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    time.sleep(baseline)
    log_offset = log.stat().st_size
    fault_time = control.fault(victim.name, kind, plan)["time"]
    try:
        out, _ = client.communicate(timeout=timeout + baseline + 10)
    except subprocess.TimeoutExpired:
        client.kill()
        out, _ = client.communicate()
    answers = sorted((json.loads(line) for line in out.splitlines() if line.strip()), key=lambda a: a["done"])
    if target == "route-target":
        moved = transit_moved(plan, fault_time, victim)
        to_node = moved[1] if moved else survivor.name
        failover, failed = summarise_path(answers, fault_time, moved[0] if moved else None)
    else:
        to_node = next_holder(answers, fault_time, victim) or survivor.name
        failover, failed = summarise(answers, fault_time, to_node)
    with open(log) as handle:
        handle.seek(log_offset)
        entries = parse_log(handle.readlines())
    return TrialResult(
        kind,
        victim.name,
        to_node,
        fault_time,
        failover,
        len(answers),
        failed,
        count_api_calls(entries),
        answers,
        entries,
        target,
    )


def node_events(plan: Plan) -> list[tuple[float, str]]:
    """Timestamped alias changes on each node, from `ip monitor` (keepalived's VRRP transitions)."""
    events: list[tuple[float, str]] = []
    stamp = re.compile(r"Timestamp: (.+) (\d+) usec")
    for node in plan.nodes:
        path: Path = plan.path(node, "addresses.log")
        when = 0.0
        for line in path.read_text().splitlines() if path.exists() else []:
            if match := stamp.match(line):
                when = time.mktime(time.strptime(match.group(1), "%a %b %d %H:%M:%S %Y")) + int(match.group(2)) / 1e6
            elif f"inet {plan.vip}/" in line:
                what = "drops" if line.startswith("Deleted") else "takes"
                events.append((when, f"{node.name} {what} the floating IP as an OS alias (keepalived)"))
    return events
