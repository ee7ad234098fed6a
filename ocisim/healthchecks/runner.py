"""The monitors' runner: every `intervalInSeconds` of emulated time, each enabled monitor sends
one probe per (target, vantage point) and publishes the results into Monitoring, where the
ordinary alarm evaluator reads them like any other metric.

Bounds, whatever the peers do: a monitor has at most one round in flight (a round still waiting
on slow peers makes the next one wait, it never piles up); a round is at most MAX_TARGETS x the
vantage points probes, each bounded by the monitor's timeout (in emulated seconds, so a fast
clock shortens it, never below MIN_WALL_TIMEOUT_SECONDS of wall time); a late round runs once,
no catch-up burst after a clock jump. The guard on targets is checked again before every probe,
so a state file edited by hand cannot make the emulator send a packet elsewhere. Stopping the
emulator cancels the loop and every round in flight.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import Awaitable, Callable
from typing import Any

from ocisim.healthchecks.models import HealthChecksState, TargetRefused, check_target
from ocisim.healthchecks.prober import http_probe, new_session
from ocisim.healthchecks.results import SYSTEM, ProbeOutcome, ProbeRequest, metric_items, probe_url, result_summary
from ocisim.healthchecks.vantage import NetnsSockets

MIN_WALL_TIMEOUT_SECONDS = 0.2
MAX_WALL_NAP_SECONDS = 0.25
MIN_WALL_NAP_SECONDS = 0.01
Probe = Callable[[ProbeRequest], Awaitable[ProbeOutcome]]


class Runner:
    def __init__(self, backend: Any, probe: Probe) -> None:
        self.backend = backend
        self.probe = probe
        self._due: dict[str, float] = {}
        self._rounds: dict[str, asyncio.Task] = {}
        self._healthy: dict[str, int] = {}

    async def run(self) -> None:
        clock = self.backend.clock
        while True:
            self.tick(clock.now())
            # A monitor whose round is still in flight is not waited for: it starts again only
            # once that round ends, so its past due time must not spin this loop.
            waiting = [due for monitor_id, due in self._due.items() if monitor_id not in self._rounds]
            upcoming = min(waiting, default=clock.now() + 1.0)
            nap = clock.real_seconds(upcoming - clock.now())
            await asyncio.sleep(min(MAX_WALL_NAP_SECONDS, max(MIN_WALL_NAP_SECONDS, nap)))

    def tick(self, now: float) -> None:
        """Start the round of every monitor that is due and has none in flight."""
        with self.backend.lock:
            state: HealthChecksState = self.backend.states["healthchecks"]
            monitors = [dict(m) for m in state.monitors.values() if m["isEnabled"]]
        for gone in set(self._due) - {m["id"] for m in monitors}:
            del self._due[gone]
        for monitor in monitors:
            due = self._due.get(monitor["id"], now)
            if due > now or monitor["id"] in self._rounds:
                continue
            following = due + monitor["intervalInSeconds"]
            self._due[monitor["id"]] = following if following > now else now + monitor["intervalInSeconds"]
            task = asyncio.get_running_loop().create_task(self._round(monitor, now))
            self._rounds[monitor["id"]] = task
            task.add_done_callback(functools.partial(self._finished, monitor["id"]))

    def _finished(self, monitor_id: str, task: asyncio.Task) -> None:
        self._rounds.pop(monitor_id, None)
        if not task.cancelled() and task.exception() is not None:
            self.backend.log("health check round failed", monitor=monitor_id, error=repr(task.exception()))

    async def _round(self, monitor: dict[str, Any], started: float) -> None:
        timeout = max(MIN_WALL_TIMEOUT_SECONDS, self.backend.clock.real_seconds(monitor["timeoutInSeconds"]))
        probes = [(target, vp) for target in monitor["targets"] for vp in monitor["vantagePointNames"]]
        outcomes = await asyncio.gather(*(self._one(monitor, target, timeout) for target, _ in probes))
        results = [
            result_summary(monitor, target, vp, started, outcome)
            for (target, vp), outcome in zip(probes, outcomes, strict=True)
        ]
        with self.backend.lock:
            state: HealthChecksState = self.backend.states["healthchecks"]
            if monitor["id"] not in state.monitors:
                return
            state.record(results)
            self.backend.states["monitoring"].record_service_metrics(
                [item for result in results for item in metric_items(monitor, result)]
            )
        healthy = sum(result["isHealthy"] for result in results)
        if self._healthy.get(monitor["id"]) != healthy:
            self._healthy[monitor["id"]] = healthy
            failing = next((r for r in results if not r["isHealthy"]), None)
            self.backend.log(
                "health check monitor changed",
                monitor=monitor["id"],
                healthy=healthy,
                probes=len(results),
                reason=None if failing is None else failing["errorMessage"] or f"HTTP {failing['statusCode']}",
            )

    async def _one(self, monitor: dict[str, Any], target: str, timeout: float) -> ProbeOutcome:
        try:
            check_target(target)
        except TargetRefused as refused:
            return ProbeOutcome(status_code=None, error_category=SYSTEM, error_message=refused.message)
        request = ProbeRequest(
            url=probe_url(monitor, target),
            method=monitor["method"],
            headers=tuple(sorted(monitor["headers"].items())),
            timeout=timeout,
        )
        return await self.probe(request)

    async def cancel(self) -> None:
        rounds = list(self._rounds.values())
        for task in rounds:
            task.cancel()
        await asyncio.gather(*rounds, return_exceptions=True)


async def start(backend: Any) -> None:
    netns = (backend.topology.get("healthChecks") or {}).get("vantageNetns")
    sockets = None if netns is None else NetnsSockets(netns)
    session = new_session(sockets)
    runner = Runner(backend, functools.partial(http_probe, session))
    backend.runtime["healthchecks"] = (runner, asyncio.get_running_loop().create_task(runner.run()), session, sockets)
    if sockets is not None:
        backend.log("health checks probe from network namespace", netns=netns)


async def stop(backend: Any) -> None:
    running = backend.runtime.pop("healthchecks", None)
    if running is None:
        return
    runner, task, session, sockets = running
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    await runner.cancel()
    await session.close()
    if sockets is not None:
        sockets.close()
