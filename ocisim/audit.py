"""The audit log: every mutating call, who made it, and the resource before and after.

Why: the demo and the tests must show exactly which calls the controller made (and that a
refused or duplicate request changed nothing). Entries are persisted with the state; followers
long-poll `GET /_admin/audit?after=SEQ&wait=SECONDS` and are woken the moment an entry lands.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import threading
from typing import Any

MAX_ENTRIES = 10_000


class AuditLog:
    def __init__(self, entries: list[dict[str, Any]] | None = None, next_seq: int = 1) -> None:
        self._lock = threading.Lock()
        self._entries = list(entries or [])
        self._next_seq = next_seq
        self._waiters: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()

    def append(
        self,
        *,
        time: str,
        principal: dict[str, Any] | None,
        operation: str,
        resource_id: str | None,
        before: Any,
        after: Any,
        opc_request_id: str | None,
    ) -> dict[str, Any]:
        with self._lock:
            entry = {
                "seq": self._next_seq,
                "time": time,
                "principal": principal,
                "operation": operation,
                "resource_id": resource_id,
                "before": copy.deepcopy(before),
                "after": copy.deepcopy(after),
                "opc_request_id": opc_request_id,
            }
            self._next_seq += 1
            self._entries.append(entry)
            del self._entries[:-MAX_ENTRIES]
            waiters = list(self._waiters)
        for loop, event in waiters:
            with contextlib.suppress(RuntimeError):  # that waiter's loop has already closed (emulator stopping)
                loop.call_soon_threadsafe(event.set)
        return entry

    def after(self, seq: int = 0) -> list[dict[str, Any]]:
        with self._lock:
            return [copy.deepcopy(e) for e in self._entries if e["seq"] > seq]

    async def wait_after(self, seq: int, timeout: float) -> list[dict[str, Any]]:
        """Entries after `seq`, waiting up to `timeout` seconds for the first one."""
        event = asyncio.Event()
        waiter = (asyncio.get_running_loop(), event)
        with self._lock:
            self._waiters.add(waiter)
        try:
            entries = self.after(seq)
            if not entries and timeout > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(event.wait(), timeout)
                entries = self.after(seq)
            return entries
        finally:
            with self._lock:
                self._waiters.discard(waiter)

    def to_json(self) -> dict[str, Any]:
        with self._lock:
            return {"next_seq": self._next_seq, "entries": copy.deepcopy(self._entries)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AuditLog:
        return cls(data["entries"], data["next_seq"])
