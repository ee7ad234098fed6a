"""The agent loop: probe every target, buffer the datapoints, post them in batches.

Time, probing and posting are handed in, so a test can run the real loop against loopback
servers and the emulator on its scaled clock. Logs only what changes (a target going up or
down, Monitoring becoming unreachable or reachable again, points dropped), each with its reason.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from failover.log import Logger
from health_probe.config import AgentConfig, Target
from health_probe.points import (
    Point,
    PointBuffer,
    add_points,
    points_for,
    put_back,
    take_batch,
)
from health_probe.probe import ProbeResult
from health_probe.publish import PostOutcome, PostResult
from health_probe.schedule import next_delay

Prober = Callable[[Target, datetime], ProbeResult]
Poster = Callable[[tuple[Point, ...]], PostResult]


class Clock(Protocol):
    """Timestamps for datapoints, and how long an interval takes on the wall (the emulator's
    ``ocisim.clock.Clock`` satisfies it, so a test runs the agent on emulated time)."""

    def now_datetime(self) -> datetime: ...

    def real_seconds(self, emulated_seconds: float) -> float: ...


class SystemClock:
    """Real time: datapoints carry the node's UTC time; intervals are wall seconds."""

    def now_datetime(self) -> datetime:
        return datetime.now(UTC)

    def real_seconds(self, emulated_seconds: float) -> float:
        return emulated_seconds


@dataclass
class Agent:
    config: AgentConfig
    prober: Prober
    poster: Poster
    clock: Clock
    log: Logger
    rng: random.Random = field(default_factory=random.Random)
    buffer: PointBuffer = field(init=False)
    _last_up: dict[str, bool] = field(init=False, default_factory=dict)
    _posting_ok: bool = field(init=False, default=True)

    def __post_init__(self) -> None:
        self.buffer = PointBuffer(max_points=self.config.buffer_max_points)

    def run(self, stop: threading.Event, max_rounds: int | None = None) -> int:
        """Run rounds until ``stop`` is set (SIGTERM) or ``max_rounds``; returns rounds run."""
        rounds = 0
        self.log.info(
            "agent_started",
            targets=[t.name for t in self.config.targets],
            interval_seconds=self.config.interval_seconds,
        )
        while not stop.is_set() and (max_rounds is None or rounds < max_rounds):
            started = self.clock.now_datetime()
            self.run_round()
            rounds += 1
            elapsed = (self.clock.now_datetime() - started).total_seconds()
            delay = next_delay(elapsed, self.config.interval_seconds, self.config.jitter_seconds, self.rng.random())
            stop.wait(self.clock.real_seconds(delay))
        self.log.info("agent_stopped", rounds=rounds, buffered=len(self.buffer.points), dropped=self.buffer.dropped)
        return rounds

    def run_round(self) -> None:
        """Probe all targets at once (one timestamp per round), then flush the buffer."""
        when = self.clock.now_datetime()
        with ThreadPoolExecutor(max_workers=len(self.config.targets)) as pool:
            results = list(pool.map(lambda target: self.prober(target, when), self.config.targets))
        new: tuple[Point, ...] = ()
        for result in results:
            self._note_state(result)
            new += points_for(result, self.config.node)
        dropped_before = self.buffer.dropped
        self.buffer = add_points(self.buffer, new, self.clock.now_datetime())
        self.flush()
        if self.buffer.dropped > dropped_before:
            self.log.warning(
                "points_dropped",
                reason="buffer full or older than 2 h",
                dropped=self.buffer.dropped - dropped_before,
                buffered=len(self.buffer.points),
            )

    def flush(self) -> None:
        """Post batches until the buffer is empty or Monitoring asks us to retry later."""
        while self.buffer.points:
            batch, self.buffer = take_batch(self.buffer, self.config.batch_max_streams)
            result = self.poster(batch)
            if result.outcome is PostOutcome.RETRY:
                self.buffer = put_back(self.buffer, batch)
                if self._posting_ok:
                    self.log.warning(
                        "post_failed",
                        reason=result.reason,
                        decision="keep points and retry next round",
                        buffered=len(self.buffer.points),
                    )
                self._posting_ok = False
                return
            if result.outcome is PostOutcome.REJECTED or result.failed_streams:
                self.log.error(
                    "post_rejected",
                    reason=result.reason,
                    decision="drop batch",
                    points=len(batch),
                    failed_streams=result.failed_streams,
                )
            elif not self._posting_ok:
                self.log.info("post_recovered", reason="Monitoring accepted a batch again", points=len(batch))
            self._posting_ok = True

    def _note_state(self, result: ProbeResult) -> None:
        name = result.target.name
        if self._last_up.get(name) != result.up:
            say = self.log.info if result.up else self.log.warning
            say(
                "target_up" if result.up else "target_down",
                target=name,
                reason=result.detail,
                latency_ms=result.latency_ms,
            )
        self._last_up[name] = result.up
