"""JSON-lines logging: one object per line, the decision and its reason, bound context.

Kept tiny on purpose (a structlog-like ``bind``) so the agent has no logging dependency and
tests can hand in a list-backed sink and assert on fields. Callers never pass keys or tokens.
"""
from __future__ import annotations

import json
import sys
from datetime import datetime, timezone
from typing import Any, Callable, TextIO

Sink = Callable[[dict[str, Any]], None]


def stream_sink(stream: TextIO = sys.stdout) -> Sink:
    """A sink writing each entry as one JSON line, flushed so systemd's journal sees it now."""

    def write(entry: dict[str, Any]) -> None:
        stream.write(json.dumps(entry, default=str, separators=(",", ":")) + "\n")
        stream.flush()

    return write


class JsonLog:
    """Callable logger: ``log("event", level="info", key=value)``."""

    def __init__(self, sink: Sink | None = None, **context: Any) -> None:
        self._sink = sink or stream_sink()
        self._context = context

    def bind(self, **context: Any) -> "JsonLog":
        """A logger that adds ``context`` to every entry."""
        return JsonLog(self._sink, **{**self._context, **context})

    def __call__(self, event: str, level: str = "info", **fields: Any) -> None:
        entry = {"time": datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
                 "level": level, "event": event, **self._context, **fields}
        self._sink(entry)
