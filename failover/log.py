"""The project's one logger: one JSON object per line, with bound context, and nothing secret in it.

The function, the node agent and the emulator all log through it, so every line has the same
shape (``time``, ``level``, ``logger``, bound fields, ``event``, fields) and the same redaction:
a field whose name looks secret (token, private_key, signature, ...) is written as ``[redacted]``.

    log.info("moved", vip=..., to="node-b")             # the function's module-level logger
    agent_log = Logger("health_probe").bind(node="node-a")
    agent_log.warning("target_down", target="node-b", reason="HTTP 503")
    with log.context(call_id=...): ...                  # fields for every line in this context

Where the lines go is set once per process: the function's logger writes to stderr from import
on; ``to_stream("health_probe", "stdout")`` for the node agent (the journal); ``to_stderr_root()``
for the emulator, whose stdout carries only its ready line and whose libraries (aiohttp) log
through the root logger.

fdk configures the *root* logger at DEBUG with its own stderr handler when it is imported, so
anything that propagates to root is printed a second time in fdk's plain format. A logger
given a stream (``to_stream``) therefore has its own handler and ``propagate = False``; the SDK's and urllib3's loggers are
held at WARNING so their debug output (request details) never reaches the logs.

Standard library only: ``python -m health_probe.notify`` imports it on every VRRP transition.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import re
import sys
import time

# Not `typing.TYPE_CHECKING`: importing typing would cost keepalived's notify ~3 ms (mypy reads a
# module's own TYPE_CHECKING the same way).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import Any

_context: contextvars.ContextVar[dict[str, Any]] = contextvars.ContextVar("log_context")
_SECRET_FIELD = re.compile(r"(token|secret|password|passphrase|private_key|pem|authorization|signature)", re.I)
REDACTED = "[redacted]"


def entry(record: logging.LogRecord) -> dict[str, Any]:
    """The JSON object of one record: its message is the event; ``Logger`` puts its fields in
    ``record.fields`` (so a handler or caplog reads them without parsing)."""
    line = {
        "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
        "level": record.levelname.lower(),
        "logger": record.name,
        **_context.get({}),
        "event": record.getMessage(),
        **getattr(record, "fields", {}),
    }
    if record.exc_info:
        line["exception"] = logging.Formatter().formatException(record.exc_info)
    return {key: (REDACTED if _SECRET_FIELD.search(key) else value) for key, value in line.items()}


class JsonLines(logging.Formatter):
    """A record as one compact JSON line (no newline inside: values are JSON-escaped)."""

    def format(self, record: logging.LogRecord) -> str:
        return json.dumps(entry(record), default=str, separators=(",", ":"))


class _Stream(logging.Handler):
    """Writes each line to whatever ``sys.<name>`` is now (tests swap it), flushed at once so
    the journal and fdk's log collector see it now."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.stream_name = name
        self.setFormatter(JsonLines())

    def emit(self, record: logging.LogRecord) -> None:
        try:
            stream = getattr(sys, self.stream_name)
            stream.write(self.format(record) + "\n")
            stream.flush()
        except (OSError, ValueError, AttributeError):
            pass  # a closed stream must never fail the invocation or the agent


def to_stream(name: str, stream: str = "stderr") -> None:
    """Logger ``name`` (and its children) writes JSON lines to ``sys.<stream>`` only, at INFO."""
    logger = logging.getLogger(name)
    logger.handlers[:] = [h for h in logger.handlers if not isinstance(h, _Stream)] + [_Stream(stream)]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    for noisy in ("oci", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def to_stderr_root(level: int = logging.INFO) -> None:
    """Every logger of the process (libraries' too) writes JSON lines to stderr, nothing else."""
    root = logging.getLogger()
    root.handlers[:] = [_Stream("stderr")]
    root.setLevel(level)


class Logger:
    """A named logger with bound fields: ``log.info(event, **fields)``; ``bind`` adds fields."""

    def __init__(self, name: str = "failover", **bound: Any) -> None:
        self.name = name
        self._logger = logging.getLogger(name)
        self._bound = bound

    def bind(self, **fields: Any) -> Logger:
        """A logger that adds ``fields`` to every line it writes."""
        return Logger(self.name, **{**self._bound, **fields})

    def log(self, level: int, event: str, **fields: Any) -> None:
        if self._logger.isEnabledFor(level):
            self._logger.log(level, event, extra={"fields": {**self._bound, **fields}})

    def info(self, event: str, **fields: Any) -> None:
        self.log(logging.INFO, event, **fields)

    def warning(self, event: str, **fields: Any) -> None:
        self.log(logging.WARNING, event, **fields)

    def error(self, event: str, **fields: Any) -> None:
        self.log(logging.ERROR, event, **fields)


@contextlib.contextmanager
def context(**fields: Any) -> Iterator[None]:
    """Add ``fields`` to every line any logger writes in this context (e.g. the fn call id)."""
    token = _context.set({**_context.get({}), **fields})
    try:
        yield
    finally:
        _context.reset(token)


# The function's logger, configured on import, before the first probe or SDK call can log
# through fdk's root handler.
to_stream("failover")
_function = Logger("failover")
info = _function.info
warning = _function.warning
error = _function.error
