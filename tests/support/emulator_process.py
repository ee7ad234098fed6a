"""The emulator as a user starts it: ``python -m ocisim serve ARGS`` in a process of its own,
handed to the test with the one JSON line it prints when ready."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import oci

from tests.support.paths import REPO

READY_TIMEOUT_SECONDS = 30
STOP_TIMEOUT_SECONDS = 10


@contextmanager
def serve(*args: str, stderr: int = subprocess.PIPE) -> Iterator[tuple[subprocess.Popen[str], dict[str, Any]]]:
    """(the process, its ready line); a process still running afterwards gets SIGTERM, then SIGKILL."""
    process = subprocess.Popen(
        [sys.executable, "-m", "ocisim", "serve", *args],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.append(process.stdout.readline()), daemon=True)
    reader.start()
    reader.join(READY_TIMEOUT_SECONDS)
    try:
        assert lines and lines[0], f"no ready line; stderr: {_stderr_of_exited(process)}"
        yield process, json.loads(lines[0])
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)


def _stderr_of_exited(process: subprocess.Popen[str]) -> str:
    if process.poll() is None or process.stderr is None:
        return ""
    return process.stderr.read()


def client(ready: dict[str, Any]) -> oci.core.VirtualNetworkClient:
    config = oci.config.from_file(ready["oci_config_file"], ready["oci_profile"])
    return oci.core.VirtualNetworkClient(config, service_endpoint=ready["endpoint"])


def stop(process: subprocess.Popen[str]) -> tuple[str, str, float]:
    """SIGTERM, then what it printed and how long it took to stop."""
    started = time.monotonic()
    process.send_signal(signal.SIGTERM)
    stdout, stderr = process.communicate(timeout=10)
    return stdout, stderr, time.monotonic() - started
