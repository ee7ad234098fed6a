"""A real process named keepalived for the node agent's keepalived lookup, and a view of /proc
that holds only the processes a test names, so that a lab's keepalived elsewhere on the machine
(nodes that share this PID namespace) cannot answer for it."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

from health_probe.endpoint import keepalived_running

LIFETIME_SECONDS = 60  # the stand-in ends by itself even if a test never stops it


class StandInKeepalived:
    """``sleep`` copied to a file named keepalived and started: the kernel names the process after
    it (/proc/<pid>/comm and stat say keepalived). ``proc`` is a directory of links to
    /proc/<pid> for it and for this test process (a bystander the lookup must skip); ``pid_file``
    holds its pid as keepalived's own pid file does."""

    def __init__(self, root: Path) -> None:
        sleep = shutil.which("sleep")
        assert sleep is not None
        binary = root / "bin" / "keepalived"
        binary.parent.mkdir(parents=True)
        shutil.copy(sleep, binary)
        self.process = subprocess.Popen([str(binary), str(LIFETIME_SECONDS)])
        self.proc = root / "proc"
        self.proc.mkdir()
        for pid in (self.process.pid, os.getpid()):
            (self.proc / str(pid)).symlink_to(f"/proc/{pid}")
        self.pid_file = root / "keepalived.pid"
        self.pid_file.write_text(f"{self.process.pid}\n")

    def running(self) -> bool | None:
        """What the agent's lookup says about this view of the machine."""
        return keepalived_running(self.pid_file, self.proc)

    def kill(self, reap: bool = True) -> None:
        """SIGKILL, as the lab's keepalived-kill does; the pid file stays behind. Not reaped: a
        zombie, and waited for as one (``WNOWAIT``): the signal is delivered asynchronously, so
        right after ``kill`` the process may still be running."""
        self.process.send_signal(signal.SIGKILL)
        if reap:
            self.process.wait(10)
            return
        deadline = time.monotonic() + 10
        while os.waitid(os.P_PID, self.process.pid, os.WEXITED | os.WNOWAIT | os.WNOHANG) is None:
            assert time.monotonic() < deadline, "a SIGKILLed sleep did not end within 10 s"
            time.sleep(0.001)

    def close(self) -> None:
        if self.process.poll() is None:
            self.kill()
