"""The maintenance pause: ``python -m failover pause --for 30m --reason TEXT`` and ``resume``.

The pause is a pair of freeform tags on every private IP of the VIP group (failover.tags), so the
function stays stateless and every container sees it with the GetPrivateIp it makes anyway.
Written with if-match (a move racing the pause is read again, never overwritten) and with the
operator's own credentials: only someone who may update the private IP may pause its failover.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from typing import Any

from . import log
from .config import Config
from .network import ApiError, Deadline, EtagMismatch, Network
from .tags import MAX_PAUSE_SECONDS, Pause, with_pause

_DURATION = re.compile(r"^(\d{1,6})([smhd])$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
# Two writers at once (a move and the pause): read again and write again, this many times.
MAX_ATTEMPTS = 3


class PauseError(ValueError):
    """A pause request that is refused before anything is written; the message says why."""


def parse_duration(text: str) -> float:
    """``30m``, ``2h``, ``90s``, ``1d`` → seconds; at most MAX_PAUSE_SECONDS, at least a second."""
    match = _DURATION.match(text.strip())
    if not match:
        raise PauseError(f"--for {text!r}: a whole number and a unit, e.g. 30m, 2h, 90s, 1d")
    seconds = float(int(match.group(1)) * _UNIT_SECONDS[match.group(2)])
    if not 1 <= seconds <= MAX_PAUSE_SECONDS:
        raise PauseError(f"--for {text}: between 1s and {MAX_PAUSE_SECONDS / 86400:.0f}d")
    return seconds


def set_pause(network: Network, config: Config, pause: Pause | None, budget: Deadline) -> dict[str, Any]:
    """Write ``pause`` (None: resume) on every VIP of the groups; the answer says which VIPs carry it."""
    done: list[str] = []
    failed: dict[str, str] = {}
    for vip in config.vip_ids:
        try:
            _write(network, vip, pause, budget)
            done.append(vip)
        except ApiError as exc:
            failed[vip] = str(exc)
        except EtagMismatch:
            failed[vip] = f"the VIP kept changing ({MAX_ATTEMPTS} attempts): try again"
    action = "pause" if pause else "resume"
    log.info(
        action, vips=done, failed=failed, until=pause.until if pause else None, reason=pause.reason if pause else None
    )
    return {
        "ok": not failed,
        "action": action,
        "paused": {"until": pause.until, "until_utc": _utc(pause.until), "reason": pause.reason} if pause else None,
        "written": done,
        "failed": failed,
    }


def _write(network: Network, vip: str, pause: Pause | None, budget: Deadline) -> None:
    for _ in range(MAX_ATTEMPTS):
        state = network.read(vip, budget)
        try:
            network.retag(state, with_pause(state.freeform_tags, pause), budget)
            return
        except EtagMismatch:
            continue
    raise EtagMismatch(vip)


def pause_until(seconds: float, reason: str, now: float | None = None) -> Pause:
    """The pause starting now; a reason is required (the next operator asks "why is it paused?")."""
    if not reason.strip():
        raise PauseError("--reason is required: say why failover is paused")
    return Pause(until=float(round((time.time() if now is None else now) + seconds)), reason=reason.strip())


def _utc(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
