"""Whether a process the emulator started is still on the machine, by pid: the emulator reports
its fdk processes' pids (`Emulator.function_containers`), and a test checks them from outside."""

from __future__ import annotations

import os


def alive(pid: int) -> bool:
    """True while `pid` exists (a zombie not yet reaped counts: its parent has not waited)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
