"""The last move, kept in the private IP's freeform tags.

The function is stateless (any container may serve any call), so the state that cooldown and
de-duplication need lives on the resource it protects: written in the same UpdatePrivateIp
call that moves the IP (one write, guarded by if-match), read back with every GetPrivateIp.
Only the function's own keys (``KEYS``) are replaced; every other tag, including an operator's
own ``failover-...`` tags, is kept.

A maintenance pause lives there too (``PAUSE_KEYS``: until when, why, by whom), written by an
operator's ``python -m failover pause`` and kept by every move (``with_move`` replaces only
``KEYS``). It ends by itself: a pause whose time has passed is no pause.

Anyone with tag rights can write these keys, so they are read as untrusted: a time that is not
a finite number, or lies in the future beyond ``MAX_CLOCK_SKEW_SECONDS`` (milliseconds instead
of seconds, a skewed clock), is ignored and reported, never allowed to hold a cooldown for years
or to make every alarm look stale.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

PREFIX = "failover-"
_AT, _FROM, _TO, _REASON, _EVENT, _MOVE = (
    PREFIX + k for k in ("last-move-at", "last-from", "last-to", "last-reason", "last-event", "last-move-id")
)
KEYS = (_AT, _FROM, _TO, _REASON, _EVENT, _MOVE)
_PAUSED_UNTIL, _PAUSE_REASON = PREFIX + "paused-until", PREFIX + "pause-reason"
PAUSE_KEYS = (_PAUSED_UNTIL, _PAUSE_REASON)
# A pause longer than this is a typo or a forgotten tag, not maintenance: refused when written,
# ignored (and reported) when read, so automatic failover can never be switched off for good.
MAX_PAUSE_SECONDS = 7 * 86400.0
TAG_VALUE_LIMIT = 256  # OCI's limit on a freeform tag value
# Clocks of the writers of this tag (containers, the operator's CLI) may disagree by this much.
MAX_CLOCK_SKEW_SECONDS = 300.0


@dataclass(frozen=True)
class LastMove:
    at: float
    from_node: str | None
    to_node: str
    reason: str
    event_key: str | None
    move_id: str | None


@dataclass(frozen=True)
class LastMoveRead:
    """The recorded move, or None with ``problem`` saying why a tag that was there was ignored."""

    last: LastMove | None
    problem: str | None = None


def read_last_move(tags: Mapping[str, str] | None, now: float | None) -> LastMoveRead:
    """Parse our tags; ``now`` None skips the future check (reading old records)."""
    tags = tags or {}
    if _AT not in tags:
        return LastMoveRead(None)
    raw = tags[_AT]
    try:
        at = float(raw)
    except (TypeError, ValueError):
        return LastMoveRead(None, f"{_AT}={str(raw)[:40]!r} is not a number")
    if not math.isfinite(at) or at < 0:
        return LastMoveRead(None, f"{_AT}={str(raw)[:40]} is not a time")
    if now is not None and at > now + MAX_CLOCK_SKEW_SECONDS:
        return LastMoveRead(None, f"{_AT}={str(raw)[:40]} is {at - now:.0f}s in the future")
    return LastMoveRead(
        LastMove(
            at=at,
            from_node=tags.get(_FROM) or None,
            to_node=tags.get(_TO, ""),
            reason=tags.get(_REASON, ""),
            event_key=tags.get(_EVENT) or None,
            move_id=tags.get(_MOVE) or None,
        )
    )


def last_move(tags: Mapping[str, str] | None, now: float | None = None) -> LastMove | None:
    """The last recorded move, or None when there is none or the tags are garbled."""
    return read_last_move(tags, now).last


def with_move(tags: Mapping[str, str] | None, move: LastMove) -> dict[str, str]:
    """The full freeform tag map to write with a move (UpdatePrivateIp replaces the map)."""
    merged = {k: v for k, v in (tags or {}).items() if k not in KEYS}
    merged.update(
        {
            _AT: f"{move.at:.3f}",
            _FROM: move.from_node or "",
            _TO: move.to_node,
            _REASON: move.reason[:TAG_VALUE_LIMIT],
            _EVENT: (move.event_key or "")[:TAG_VALUE_LIMIT],
            _MOVE: move.move_id or "",
        }
    )
    return merged


@dataclass(frozen=True)
class Pause:
    """Automatic moves are held until ``until`` (epoch seconds)."""

    until: float
    reason: str


@dataclass(frozen=True)
class PauseRead:
    """The pause in force, or None; ``problem`` says why a pause tag that was there was ignored."""

    pause: Pause | None
    problem: str | None = None


def read_pause(tags: Mapping[str, str] | None, now: float) -> PauseRead:
    """The pause in force at ``now``: an expired pause is none; a garbled one is ignored, because
    an unreadable tag must never hold failover."""
    raw = (tags or {}).get(_PAUSED_UNTIL)
    if not raw:
        return PauseRead(None)
    try:
        until = float(raw)
    except ValueError:
        return PauseRead(None, f"{_PAUSED_UNTIL}={raw[:40]!r} is not a number")
    if not math.isfinite(until):
        return PauseRead(None, f"{_PAUSED_UNTIL}={raw[:40]} is not a time")
    if until > now + MAX_PAUSE_SECONDS:
        return PauseRead(None, f"{_PAUSED_UNTIL}={raw[:40]} is more than {MAX_PAUSE_SECONDS:.0f}s ahead")
    if until <= now:
        return PauseRead(None)
    return PauseRead(Pause(until=until, reason=(tags or {}).get(_PAUSE_REASON, "")))


def with_pause(tags: Mapping[str, str] | None, pause: Pause | None) -> dict[str, str]:
    """The full freeform tag map with ``pause`` set (None: the pause removed), all else kept."""
    merged = {k: v for k, v in (tags or {}).items() if k not in PAUSE_KEYS}
    if pause is not None:
        merged[_PAUSED_UNTIL] = f"{pause.until:.0f}"
        merged[_PAUSE_REASON] = pause.reason[:TAG_VALUE_LIMIT]
    return merged
