"""The one place the lab runs system commands, so every command is logged the same way."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence


class LabError(RuntimeError):
    """The lab cannot do what was asked; the message says why and what to do."""


class CommandFailed(LabError):
    """A setup command failed; the message carries the command and its stderr."""


def run(command: Sequence[str], *, check: bool = True, timeout: float = 15.0) -> subprocess.CompletedProcess[str]:
    """Run one command to completion, bounded in time; raise with its stderr when `check`."""
    done = subprocess.run(list(command), capture_output=True, text=True, timeout=timeout, check=False)
    if check and done.returncode != 0:
        raise CommandFailed(f"{' '.join(command)}: {done.stderr.strip() or done.stdout.strip()}")
    return done


def in_netns(netns: str, *command: str) -> list[str]:
    return ["ip", "netns", "exec", netns, *command]
