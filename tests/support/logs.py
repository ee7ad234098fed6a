"""Capture what the project's logger writes, so tests assert on fields, not on text.

    with capture_logs() as logs:
        ...
    assert logs.events("moved") == [...]; assert logs.entries[0]["reason"]

Each record is kept exactly as the process would write it (``failover.log.JsonLines``: bound
context and redaction applied), as ``lines`` (the JSON text) and ``entries`` (parsed).
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Iterator
from typing import Any

from failover.log import JsonLines

# The project's loggers: the function, the node agent, the emulator.
LOGGERS = ("failover", "health_probe", "ocisim")


class LogCapture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(JsonLines())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))

    @property
    def entries(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.lines]

    def events(self, event: str) -> list[dict[str, Any]]:
        """The entries of one event, in order."""
        return [e for e in self.entries if e["event"] == event]


@contextlib.contextmanager
def capture_logs(*names: str, level: int = logging.INFO) -> Iterator[LogCapture]:
    """Capture loggers ``names`` (default: the project's three; ``""``: the root, i.e. every
    logger that propagates) at ``level`` or above, restoring their levels afterwards."""
    capture = LogCapture()
    loggers = [logging.getLogger(name) for name in names or LOGGERS]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(capture)
        logger.setLevel(level)
    try:
        yield capture
    finally:
        for logger, before in zip(loggers, levels, strict=True):
            logger.removeHandler(capture)
            logger.setLevel(before)
