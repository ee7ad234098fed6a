"""One JSON object per line on stderr: the emulator's only output besides the ready line.

Why a tiny formatter instead of print: services log through `logging.getLogger("ocisim...")`
with `extra={"fields": {...}}` and every line stays machine-readable for the lab and the bench.
Never log a key, a signature or a token.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any

LOGGER = logging.getLogger("ocisim")


class JsonLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        entry.update(getattr(record, "fields", {}))
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def log(event: str, *, level: int = logging.INFO, logger: logging.Logger = LOGGER, **fields: Any) -> None:
    logger.log(level, event, extra={"fields": fields})


def configure_stderr(level: int = logging.INFO) -> None:
    """For `python -m ocisim serve`: JSON lines on stderr, nothing on stdout.

    Installed on the root logger so aiohttp's and every service's loggers come out as JSON too.
    """
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonLines())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
