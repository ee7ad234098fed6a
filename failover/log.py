"""One JSON object per line on stderr, with bound context, and nothing secret in it.

fdk configures the *root* logger at DEBUG with its own stderr handler when it is imported, so
anything that propagates to root is printed a second time in fdk's plain format. Our logger
therefore has its own handler and ``propagate = False``; the SDK's and urllib3's loggers are
held at WARNING so their debug output (request details) never reaches the function's logs.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
import time
from typing import Any

_context: contextvars.ContextVar[dict[str, Any]] = contextvars.ContextVar("failover_log_context")
_SECRET_FIELD = re.compile(r"(token|secret|password|passphrase|private_key|pem|authorization|signature)", re.I)


class _JsonLines(logging.Handler):
    """Writes ``record.msg`` (a dict) as one JSON line to whatever ``sys.stderr`` is now."""

    def emit(self, record: logging.LogRecord) -> None:
        entry = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            **_context.get({}),
            **(record.msg if isinstance(record.msg, dict) else {"message": str(record.msg)}),
        }
        clean = {k: ("[redacted]" if _SECRET_FIELD.search(k) else v) for k, v in entry.items()}
        try:
            sys.stderr.write(json.dumps(clean, default=str, separators=(",", ":")) + "\n")
            sys.stderr.flush()
        except (OSError, ValueError):
            pass  # a closed stderr must never fail the invocation


def _logger() -> logging.Logger:
    logger = logging.getLogger("failover")
    if not any(isinstance(h, _JsonLines) for h in logger.handlers):
        logger.addHandler(_JsonLines())
        logger.propagate = False
        logger.setLevel(logging.INFO)
        for noisy in ("oci", "urllib3"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
    return logger


def bind(**fields: Any) -> contextvars.Token:
    """Add fields to every line logged in this context (e.g. the fn call id)."""
    return _context.set({**_context.get({}), **fields})


def unbind(token: contextvars.Token) -> None:
    _context.reset(token)


def info(event: str, **fields: Any) -> None:
    _logger().info({"event": event, **fields})


def warning(event: str, **fields: Any) -> None:
    _logger().warning({"event": event, **fields})


def error(event: str, **fields: Any) -> None:
    _logger().error({"event": event, **fields})


# Configure on import, before the first probe or SDK call can log through fdk's root handler.
_logger()
