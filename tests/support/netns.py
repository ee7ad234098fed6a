"""A network namespace of a test's own: made, set up with ``ip -n NAME ...`` commands, handed to
the test and deleted afterwards. Nothing in it reaches beyond it (no route leaves the namespace);
the test is skipped, with the reason, where namespaces cannot be made."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import pytest

from lab.network import netns_unavailable

IP_TIMEOUT_SECONDS = 30


def skip_without_netns(*programs: str) -> None:
    """Skip the test unless network namespaces can be made here (as the lab checks it) and
    ``programs`` are installed."""
    reason = netns_unavailable()
    if reason:
        pytest.skip(reason)
    missing = [name for name in programs if shutil.which(name) is None]
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed")


@contextmanager
def scratch_netns(prefix: str, setup: Sequence[Sequence[str]] = ()) -> Iterator[str]:
    """A namespace named ``prefix-PID``, each of ``setup`` run as ``ip -n NAME *command``."""
    skip_without_netns()
    name = f"{prefix}-{os.getpid()}"
    subprocess.run(["ip", "netns", "add", name], check=True, timeout=IP_TIMEOUT_SECONDS)
    try:
        for command in setup:
            subprocess.run(["ip", "-n", name, *command], check=True, timeout=IP_TIMEOUT_SECONDS)
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], check=True, timeout=IP_TIMEOUT_SECONDS)
