"""The imperative shell's entry: parse → observe → decide → act → verify → answer.

Every outcome, including bad input, API trouble and bugs, comes back as a JSON-able answer,
never an exception: fdk turns an exception into a plain-text 502 and Notifications would retry
it for two hours. Time is bounded end to end: the OCI budget is ``RETRY_DEADLINE_SECONDS`` cut
to what fdk's deadline leaves minus ``ANSWER_MARGIN_SECONDS``; probes are cut to it too and no
write starts too late to be read back (failover/moves.py), so the function always answers
before its own timeout.

The pipeline itself is failover/pipeline.py; the container's clients are failover/runtime.py.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import time
from collections.abc import Callable, Mapping
from typing import Any

from . import answer, log
from .config import Config, ConfigError
from .decide import permitted
from .events import Command, Event, EventError, covered_groups, parse_event, unknown_nodes
from .network import Deadline
from .pipeline import run
from .runtime import Runtime, runtime_for

# Kept back from fdk's deadline for shaping and sending the answer.
ANSWER_MARGIN_SECONDS = 1.0
# fdk's own default when no deadline reaches it.
DEFAULT_FN_SECONDS = 30.0


def seconds_until(deadline: str | None, now: float) -> float:
    """Seconds from ``now`` (epoch) to fdk's ISO-8601 deadline (fdk's default when absent or garbled)."""
    if not deadline:
        return DEFAULT_FN_SECONDS
    try:
        at = dt.datetime.fromisoformat(deadline.replace("Z", "+00:00"))
    except ValueError:
        log.warning("deadline_unreadable", deadline=deadline[:64], assumed_s=DEFAULT_FN_SECONDS)
        return DEFAULT_FN_SECONDS
    if at.tzinfo is None:
        at = at.replace(tzinfo=dt.UTC)
    return at.timestamp() - now


def invoke(
    body: bytes | None, env: Mapping[str, str], call_id: str | None = None, deadline: str | None = None
) -> dict[str, Any]:
    """Entry point for func.py (``deadline``: fdk's ``ctx.Deadline()``) and the CLI: always an answer."""
    started = time.monotonic()
    time_left = seconds_until(deadline, time.time()) if deadline is not None else None
    with log.context(call_id=call_id) if call_id else contextlib.nullcontext():
        return answer_with(lambda: runtime_for(env), body, started, time_left)


def answer_with(
    build: Callable[[], Runtime], body: bytes | None, started: float, time_left: float | None
) -> dict[str, Any]:
    """``handle`` on the runtime ``build`` returns, with a bad configuration, missing credentials
    and bugs answered rather than raised: the function's container and the node agent's direct
    fast path (health_probe/direct.py) share this."""
    try:
        try:
            runtime = build()
        except ConfigError as exc:
            log.error("config_error", key=exc.key, reason=str(exc))
            return answer.failure("config_error", f"function configuration: {exc}", started)
        except Exception as exc:  # e.g. missing or unreadable OCI credentials
            log.error("setup_error", reason=f"{type(exc).__name__}: {exc}")
            return answer.failure("setup_error", f"could not build OCI clients: {type(exc).__name__}: {exc}", started)
        return handle(body, runtime, started, time_left)
    except Exception as exc:  # a bug: answer it rather than crash the container's request
        log.error("internal_error", reason=f"{type(exc).__name__}: {exc}")
        return answer.failure(
            "internal_error", f"internal error ({type(exc).__name__}); nothing was moved after it", started
        )


def _parse(body: bytes | None, config: Config) -> Event:
    event = parse_event(body)
    unknown = unknown_nodes(event, (n.name for n in config.nodes))
    if unknown:
        raise EventError(f"unknown node {unknown[0]!r}; configured nodes: {', '.join(n.name for n in config.nodes)}")
    covered_groups(event, config.vip_groups)
    return event


def handle(
    body: bytes | None, rt: Runtime, started: float | None = None, time_left: float | None = None
) -> dict[str, Any]:
    """``time_left``: seconds until fdk's deadline when it was read (None: no function deadline)."""
    started = time.monotonic() if started is None else started
    config = rt.config
    try:
        event = _parse(body, config)
    except EventError as exc:
        log.warning("bad_request", reason=str(exc))
        return answer.failure("bad_request", str(exc), started)
    refusal = permitted(event, config.role)
    if refusal:
        log.warning("not_permitted", role=config.role, reason=refusal)
        return answer.failure("not_permitted", refusal, started, decision="refused")
    dry_run = config.dry_run or (isinstance(event, Command) and event.dry_run)
    budget_s = config.retry_deadline_seconds
    if time_left is not None:
        budget_s = min(budget_s, time_left - ANSWER_MARGIN_SECONDS - (time.monotonic() - started))
    if budget_s <= 0:
        log.error("deadline", reason="no time left before the function's deadline")
        return answer.failure(
            "deadline",
            "no time left before the function's deadline: nothing read, nothing moved",
            started,
            dry_run=dry_run,
        )
    budget = Deadline(budget_s)
    if isinstance(event, Command) and event.action == "doctor":
        return _doctor(rt, budget, started)
    return run(event, rt, budget, dry_run, started)


def _doctor(rt: Runtime, budget: Deadline, started: float) -> dict[str, Any]:
    """The doctor's report as the answer (``action`` doctor): it reads, it never moves."""
    from .survey import Readers, examine

    try:
        readers = Readers(rt.env, rt.config.service_endpoint)
    except Exception as exc:
        return answer.failure("setup_error", f"could not build the doctor's clients: {type(exc).__name__}", started)
    report = examine(rt.config, rt.network, readers, rt.prober, budget, rt.clock())
    return {"action": "doctor", "decision": "report", **report, "elapsed_ms": answer.elapsed(started)}
