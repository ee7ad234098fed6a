"""The alarm evaluator: once per emulated minute, every enabled alarm, then delivery.

The shell around the pure parts (evaluate.window_values, alarms.step, messages.build_message).
It evaluates the window ending at each minute boundary T shortly after T (EVALUATION_DELAY, so
datapoints stamped just before T have arrived), catches up minute by minute if the loop fell
behind (a fast clock), and hands each message to Notifications for the alarm's topics.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
from typing import Any

from ocisim.clock import iso
from ocisim.monitoring.alarms import EVALUATION_SECONDS, step
from ocisim.monitoring.evaluate import window_values
from ocisim.monitoring.messages import build_message
from ocisim.monitoring.models import MAX_HISTORY, MonitoringState
from ocisim.notifications.delivery import publish

EVALUATION_DELAY_SECONDS = 5.0
MAX_CATCH_UP = 10
MAX_WALL_NAP_SECONDS = 0.25  # wake often enough to follow clock scale changes and jumps
SERVICE_NAME = "monitoring"


def evaluate_minute(backend: Any, minute: float) -> list[tuple[str, dict[str, Any]]]:
    """Evaluate every alarm for the window ending at ``minute``; returns (topic, message) pairs."""
    out: list[tuple[str, dict[str, Any]]] = []
    with backend.lock:
        state: MonitoringState = backend.states["monitoring"]
        state.prune(minute)
        for alarm in state.alarms.values():
            if not alarm.spec.is_enabled:
                continue
            values = window_values(
                alarm.spec.query, state.streams(alarm.spec.metric_compartment_id, alarm.spec.namespace), minute
            )
            alarm.state, notices = step(alarm.spec, alarm.state, values, minute)
            for notice in notices:
                message = build_message(alarm.spec, notice, backend.region)
                meta = message["alarmMetaData"][0]
                alarm.history.append(
                    {
                        "alarmSummary": meta["alarmSummary"],
                        "summary": f"{notice.type}: {json.dumps(meta['dimensions'])}",
                        "timestamp": iso(minute),
                        "timestampTriggered": iso(minute),
                    }
                )
                del alarm.history[:-MAX_HISTORY]
                out.extend((topic, message) for topic in alarm.spec.destinations)
        if out:
            backend.save()
    return out


async def _run(backend: Any) -> None:
    clock = backend.clock
    next_minute = math.floor(clock.now() / EVALUATION_SECONDS) * EVALUATION_SECONDS + EVALUATION_SECONDS
    while True:
        due = next_minute + EVALUATION_DELAY_SECONDS
        while clock.now() < due:
            await asyncio.sleep(min(MAX_WALL_NAP_SECONDS, clock.real_seconds(due - clock.now())))
        now = clock.now()
        minutes = []
        while next_minute + EVALUATION_DELAY_SECONDS <= now and len(minutes) < MAX_CATCH_UP:
            minutes.append(next_minute)
            next_minute += EVALUATION_SECONDS
        if next_minute + EVALUATION_DELAY_SECONDS <= now:  # too far behind: skip to the present
            next_minute = math.floor(now / EVALUATION_SECONDS) * EVALUATION_SECONDS + EVALUATION_SECONDS
        for minute in minutes:
            for topic, message in evaluate_minute(backend, minute):
                publish(backend, topic, json.dumps(message))


async def start(backend: Any) -> None:
    """The minute loop is Monitoring's runtime; Notifications (which it publishes to) starts first."""
    backend.runtime[SERVICE_NAME] = asyncio.get_running_loop().create_task(_run(backend))


async def stop(backend: Any) -> None:
    task = backend.runtime.pop(SERVICE_NAME, None)
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
