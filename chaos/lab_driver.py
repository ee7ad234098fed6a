"""The lab driver: the lab level of the matrix, in the real lab, one trial at a time.

Each trial runs in the lab of `python -m lab` (real haproxy and keepalived in network
namespaces, the fabric that routes the floating IP where the emulator says, the real function
behind the emulator, keepalived's notify invoking it: the fast path). The harness breaks real
things with the lab's own faults (`lab.control.fault`, `heal`) and judges the trial only on the
lab's records: the emulator's audit log (/_admin/audit), the function's log, the emulator's
request log, `ip -n NODE addr` sampled every 50 ms for the alias, a client in its own namespace
sending requests to the floating IP (`lab.client`), and ListPrivateIps at the end.

Before each trial, outside any measurement, the lab is healed and resynchronised
(`lab.trial.resync`) and the IP put on the node the trial draws. One lab per failback policy;
only one lab can run on a machine (fixed namespace names), so this never starts a second one.
"""

from __future__ import annotations

import contextlib
import json
import random
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from chaos.faults import FAST_PATH_BUDGET_S, Fault, Trial, by_name
from chaos.invariants import Observation, holder_at
from chaos.lab_records import Action, AliasSample, answers_from_log, client_view, invoke_errors, timeline
from chaos.records import function_errors, writes_from_audit
from chaos.runner import judged
from failover.config import Config
from lab import cloud, control, network, trial
from lab.plan import PYTHON, REPO, Node
from lab.shell import LabError, in_netns
from lab.state import LabState

CLIENT_RATE = 20.0  # requests per second to the floating IP during a trial
BASELINE_S = 0.5  # watched before the fault
SETTLE_S = 3.0  # watched after the budget, so "answered at the end" means a while
SAMPLE_INTERVAL_S = 0.05  # alias sampling
MAX_TRIAL_S = 60.0  # bound on any one trial's client and sampler
SWITCH_TIMEOUT_S = 10.0


def unavailable() -> str | None:
    """Why the lab level cannot run on this machine at all (None: it can)."""
    return network.netns_unavailable()


def busy() -> str | None:
    """Why the lab level cannot run now: a lab is already up (only one fits on a machine)."""
    plan = control.default_plan()
    running = network.existing_netns(plan)
    if running or LabState.file(plan).exists():
        return (
            f"a lab is already running (namespaces: {', '.join(running) or 'none'}); the lab level needs the "
            "lab to itself: wait, stop it (python -m lab down) or set CHAOS_LAB_TRIALS=0"
        )
    return None


def _function_log(emulator_log: Path) -> Path:
    for entry in trial.parse_log(emulator_log.read_text().splitlines()):
        if entry.get("event") == "function attached":
            return Path(entry["log"])
    raise LabError(f"the emulator did not say where the function logs ({emulator_log})")


def _tail(path: Path, offset: int) -> list[str]:
    if not path.exists():
        return []
    with open(path, "rb") as handle:
        handle.seek(offset)
        return handle.read().decode("utf-8", "replace").splitlines()


def _size(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


class LabRun:
    """One lab for one failback policy: `LabRun(policy, latency)`, `close()` takes it down."""

    def __init__(self, policy: str, latency: Mapping[str, float], *, attach: bool = False) -> None:
        """`attach`: run on the lab that is up already (the test session's) and leave it up."""
        self.owned = not attach
        if self.owned:
            # The function mode, named: the invariants read the function's log and count its
            # writes by its principal; in direct mode the nodes' agents write.
            control.up(
                "fast_path", agents=False, latency=dict(latency), failback_policy=policy, fast_path_mode="function"
            )
        self.plan = control.default_plan()
        try:
            self.state = LabState.load(self.plan)
            topology = json.loads(self.plan.path(None, "topology.json").read_text())
            self.config = Config.from_env(topology["functions"][0]["config"])
            if attach and self.config.failback_policy != policy:
                raise LabError(f"the running lab has failback policy {self.config.failback_policy}, not {policy}")
            self.function_id = self.state.emulator["functions"][self.state.facts.function_name]
            self.emulator_log = self.plan.path(None, "emulator.log")
            self.function_log = _function_log(self.emulator_log)
            self.node_by_vnic = {vnic: name for name, vnic in self.state.facts.vnic_ids.items()}
            self.seq = 0
            self.latency = dict(latency)
            if attach:
                cloud.set_latency(self.state.emulator["endpoint"], self.latency)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        if self.owned:
            control.down(self.plan)
        elif hasattr(self, "latency"):  # the attached lab goes back to answering at once
            cloud.set_latency(self.state.emulator["endpoint"], {op: 0.0 for op in self.latency})

    def audit(self) -> list[dict[str, Any]]:
        """Audit entries since the last call (the mark moves on)."""
        entries = cloud.audit(self.state.emulator["endpoint"], after=self.seq)
        if entries:
            self.seq = entries[-1]["seq"]
        return entries

    def holder(self) -> str:
        return cloud.vip_holder(self.state.emulator, self.state.facts)

    def prepare(self, holder: str) -> Node:
        """Housekeeping, outside any measurement: every fault healed, one MASTER serving, the
        cloud and the fabric following it, and that node is ``holder``."""
        current = trial.put_vip_on(self.state, holder, SWITCH_TIMEOUT_S)
        self.audit()  # the housekeeping's writes are behind the mark
        return current


class Watch:
    """What one trial records while it runs: the client, the alias samples, what it did."""

    def __init__(self, run: LabRun) -> None:
        self.run, plan = run, run.plan
        run.audit()
        self.offsets = _size(run.emulator_log), _size(run.function_log)
        self.actions: list[Action] = []
        self.samples: list[AliasSample] = []
        self.start = AliasSample(time.time(), frozenset(network.alias_holders(plan)))
        self._stop = threading.Event()
        self._sampler = threading.Thread(target=self._sample, daemon=True)
        self._sampler.start()
        self.client = subprocess.Popen(
            in_netns(
                plan.client_netns,
                str(PYTHON),
                "-m",
                "lab.client",
                plan.vip,
                "--rate",
                str(CLIENT_RATE),
                "--duration",
                str(MAX_TRIAL_S),
            ),
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        time.sleep(BASELINE_S)

    def _sample(self) -> None:
        deadline = time.monotonic() + MAX_TRIAL_S
        last = self.start.holders
        while not self._stop.is_set() and time.monotonic() < deadline:
            holders = frozenset(network.alias_holders(self.run.plan))
            if holders != last:
                self.samples.append(AliasSample(time.time(), holders))
                last = holders
            self._stop.wait(SAMPLE_INTERVAL_S)

    def act(self, node: str, kind: str) -> float:
        """A lab fault on ``node``; returns when it was done."""
        at = control.fault(node, kind, self.run.plan)["time"]
        self.actions.append(Action(at, node, kind))
        return at

    def heal(self) -> float:
        at = control.heal(self.run.plan)["time"]
        self.actions.append(Action(at, "", "heal"))
        return at

    def one_failure(
        self,
        fault: Fault,
        holder: str,
        onset: float,
        *,
        last: float | None = None,
        allowed_writes: int = 1,
        budget_s: float | None = None,
    ) -> Observation:
        """`observe` one failure of `holder` at `onset`, watched for the fault's budget from the last
        action (`last`, default the onset) and SETTLE_S more; one write allowed unless said."""
        return self.observe(
            fault,
            until=(onset if last is None else last) + _budget(fault) + SETTLE_S,
            onset=onset,
            initial_holder=holder,
            failures=1,
            allowed_writes=allowed_writes,
            budget_s=_budget(fault) if budget_s is None else budget_s,
        )

    def observe(
        self,
        fault: Fault,
        *,
        until: float,
        onset: float,
        initial_holder: str,
        failures: int,
        allowed_writes: int,
        budget_s: float,
    ) -> Observation:
        """Wait until ``until``, stop watching, and read back everything the invariants need."""
        time.sleep(max(0.0, until - time.time()))
        self._stop.set()
        self._sampler.join(5.0)
        self.client.terminate()
        out, _ = self.client.communicate(timeout=10)
        run, nodes = self.run, [n.name for n in self.run.plan.nodes]
        answers = [json.loads(line) for line in out.splitlines() if line.strip()]
        writes = writes_from_audit(run.audit(), run.state.facts.vip_private_ip_id, run.node_by_vnic, run.function_id)
        function_lines = _tail(run.function_log, self.offsets[1])
        requests = trial.parse_log(_tail(run.emulator_log, self.offsets[0]))
        final = run.holder()
        return Observation(
            fault=fault.name,
            policy=run.config.failback_policy,
            preferred=run.config.preferred.name,
            cooldown_s=run.config.cooldown_seconds,
            window_s=run.config.probe_timeout_seconds + 1.0,
            onset=onset,
            initial_holder=initial_holder,
            final_holder=final,
            listed_on=len(cloud.nodes_listing_vip(run.state.emulator, run.state.facts)),
            writes=writes,
            answers=answers_from_log(function_lines, nodes),
            timeline=timeline(nodes, self.start, self.actions, self.samples),
            failures=failures,
            allowed_writes=allowed_writes,
            budget_s=budget_s,
            function_errors=function_errors(function_lines) + invoke_errors(requests),
            observed_until=time.time(),
            client=client_view(answers, final),
        )


def _budget(fault: Fault) -> float:
    return FAST_PATH_BUDGET_S + fault.extra_budget_s


Script = Callable[[LabRun, Fault, random.Random], tuple[Observation, dict[str, Any]]]


def one_fault(run: LabRun, fault: Fault, rng: random.Random) -> tuple[Observation, dict[str, Any]]:
    """One lab fault on the holder (drawn), watched for its budget and SETTLE_S more."""
    victim = run.prepare(rng.choice([n.name for n in run.plan.nodes]))
    watch = Watch(run)
    onset = watch.act(victim.name, fault.params["kind"])
    return watch.one_failure(fault, victim.name, onset), {"victim": victim.name}


def restart(run: LabRun, fault: Fault, rng: random.Random) -> tuple[Observation, dict[str, Any]]:
    """keepalived killed on the holder, then started again a few seconds later; timed from the restart."""
    victim = run.prepare(rng.choice([n.name for n in run.plan.nodes]))
    watch = Watch(run)
    watch.act(victim.name, fault.params["kind"])
    time.sleep(rng.uniform(2.0, 4.0))
    onset = watch.heal()
    return watch.one_failure(fault, victim.name, onset), {"victim": victim.name}


def partition(run: LabRun, fault: Fault, rng: random.Random) -> tuple[Observation, dict[str, Any]]:
    """VRRP blocked for 3-5 s (both MASTER, both notify), then unblocked. The budget runs to
    FAST_PATH_BUDGET_S after the partition heals."""
    holder = run.prepare(rng.choice([n.name for n in run.plan.nodes]))
    watch = Watch(run)
    onset = watch.act(holder.name, "partition")
    time.sleep(rng.uniform(3.0, 5.0))
    healed = watch.heal()
    budget = healed - onset + _budget(fault)
    return watch.one_failure(fault, holder.name, onset, last=healed, budget_s=budget), {
        "holder": holder.name,
        "partition_s": round(healed - onset, 2),
    }


def health_blocked(run: LabRun, fault: Fault, rng: random.Random) -> tuple[Observation, dict[str, Any]]:
    """The function's path to one node's health port blocked (holder or peer), then the
    holder's haproxy stops: the function must decide with one probe unknown."""
    holder = run.prepare(rng.choice([n.name for n in run.plan.nodes]))
    blocked = rng.choice([holder, run.plan.peer(holder)])
    watch = Watch(run)
    watch.act(blocked.name, "health-blocked")
    onset = watch.act(holder.name, "haproxy-stop")
    return watch.one_failure(fault, holder.name, onset), {"victim": holder.name, "blocked": blocked.name}


FLAPS = 3


def flapping(run: LabRun, fault: Fault, rng: random.Random) -> tuple[Observation, dict[str, Any]]:
    """The holder's haproxy stops and starts again every 2-4 s, FLAPS times. Each down edge
    while the cloud still has the IP there is a failure (one write each at most)."""
    victim = run.prepare(rng.choice([n.name for n in run.plan.nodes]))
    watch = Watch(run)
    downs = []
    for _ in range(FLAPS):
        downs.append(watch.act(victim.name, "haproxy-stop"))
        time.sleep(rng.uniform(2.0, 4.0))
        last = watch.heal()
        time.sleep(rng.uniform(2.0, 4.0))
    observation = watch.one_failure(fault, victim.name, downs[0], last=last)
    failures = sum(1 for at in downs if holder_at(victim.name, observation.writes, at) == victim.name)
    return (replace(observation, failures=failures, allowed_writes=failures), {"victim": victim.name, "flaps": FLAPS})


HEAL_FAULTS = ("haproxy-stop", "link-down", "crash")


def heal(run: LabRun, fault: Fault, rng: random.Random) -> tuple[Observation, dict[str, Any]]:
    """The preferred node fails (haproxy, link or crash), the IP moves, then it comes back:
    timed from its return. Under `preferred` a failback is one more allowed write."""
    preferred = run.config.preferred.name
    victim = run.prepare(preferred)
    peer = run.plan.peer(victim).name
    kind = rng.choice(HEAL_FAULTS)
    watch = Watch(run)
    watch.act(victim.name, kind)
    failover_budget = _budget(by_name([f"lab:{kind}"])[0])
    with contextlib.suppress(LabError):  # the observation shows it: the node comes back anyway
        control.wait_for(
            lambda: run.holder() == peer and network.alias_holders(run.plan) == [peer],
            failover_budget + SETTLE_S,
            f"the failover to {peer}",
            interval=0.2,
        )
    onset = watch.heal()
    allowed = 1 + (run.config.failback_policy == "preferred")
    return watch.one_failure(fault, victim.name, onset, allowed_writes=allowed), {"victim": victim.name, "kind": kind}


SCRIPTS: dict[str, Script] = {
    "fault": one_fault,
    "restart": restart,
    "partition": partition,
    "health_blocked": health_blocked,
    "flapping": flapping,
    "heal": heal,
}


def run_lab_trials(trials: list[Trial], latency: Mapping[str, float], *, attach: bool = False) -> list[dict[str, Any]]:
    """Every lab trial's record, one lab per failback policy (the plan's order within each);
    `attach`: on the lab that is up already (one policy only)."""
    records: list[dict[str, Any]] = []
    for policy in dict.fromkeys(t.fault.policy for t in trials):
        share = [t for t in trials if t.fault.policy == policy]
        run = LabRun(policy, latency, attach=attach)
        try:
            for done, planned in enumerate(share, start=1):
                fault = planned.fault
                started = time.monotonic()
                record: dict[str, Any] = {
                    "fault": fault.name,
                    "index": planned.index,
                    "seed": planned.seed,
                    "lane": f"lab:{policy}",
                }
                try:
                    observation, detail = SCRIPTS[fault.scenario](run, fault, random.Random(planned.seed))
                    record.update(
                        judged(fault, observation),
                        detail=detail,
                        client={"requests": observation.client.requests, "failed": observation.client.failed}
                        if observation.client
                        else None,
                    )
                except Exception:
                    record["error"] = traceback.format_exc(limit=8)
                record["duration_s"] = round(time.monotonic() - started, 3)
                records.append(record)
                verdict = (
                    "error"
                    if "error" in record
                    else ("ok" if all(record["held"].values()) else "VIOLATED " + "; ".join(record["notes"]))
                )
                print(f"chaos lab ({policy}) {done}/{len(share)} {fault.name}: {verdict}", file=sys.stderr, flush=True)
        finally:
            run.close()
    return records
