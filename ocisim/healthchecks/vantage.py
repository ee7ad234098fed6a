"""Where the vantage points stand: the emulator's own network namespace, or a named one.

OCI's vantage points probe from the internet. In the lab, the internet's stand-in is the client
namespace: a fault that only clients see (the fabric dropping what comes from the client side)
must be seen by the probes too, so they must leave from there, not from the emulator's root
namespace, whose path to the floating IP is another one. With the topology's
`healthChecks.vantageNetns` naming a namespace (`ip netns add NAME`), every probe's socket is
created inside it: one thread enters the namespace (setns) once and only makes sockets; the
event loop connects and talks over them as usual, so every bound of the prober still holds and
stopping cancels at once. A socket keeps the namespace it was made in, whoever uses it.
"""

from __future__ import annotations

import ctypes
import os
import socket
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

CLONE_NEWNET = 0x40000000
NETNS_DIR = Path("/run/netns")
SOCKET_TIMEOUT_SECONDS = 5.0


def _enter(path: str) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(path, os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            errno = ctypes.get_errno()
            raise OSError(errno, f"setns into {path}: {os.strerror(errno)}")
    finally:
        os.close(fd)


class NetnsSockets:
    """An aiohttp `socket_factory` whose sockets live in network namespace `name`."""

    def __init__(self, name: str) -> None:
        path = NETNS_DIR / name
        if "/" in name or not path.exists():
            raise ValueError(f"healthChecks.vantageNetns: no network namespace {name!r} (ip netns list)")
        self.name = name
        self._thread = ThreadPoolExecutor(
            1, thread_name_prefix="ocisim-vantage", initializer=_enter, initargs=(str(path),)
        )
        try:
            self._thread.submit(lambda: None).result(SOCKET_TIMEOUT_SECONDS)
        except Exception as exc:  # the initializer failed: say why, start nothing
            self._thread.shutdown(wait=False)
            raise ValueError(f"healthChecks.vantageNetns {name!r}: cannot enter it ({exc})") from exc

    def __call__(self, addr_info: tuple[Any, ...]) -> socket.socket:
        family, kind, proto = addr_info[:3]
        return self._thread.submit(socket.socket, family, kind, proto).result(SOCKET_TIMEOUT_SECONDS)

    def close(self) -> None:
        self._thread.shutdown(wait=True)  # idle between sockets: returns at once
