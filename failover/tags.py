"""The last move, kept in the private IP's freeform tags.

The function is stateless (any container may serve any call), so the state that cooldown and
de-duplication need lives on the resource it protects: written in the same UpdatePrivateIp
call that moves the IP (one write, guarded by if-match), read back with every GetPrivateIp.
Tags the operator set are kept; only our ``failover-*`` keys are replaced.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

PREFIX = "failover-"
_AT, _FROM, _TO, _REASON, _EVENT, _MOVE = (
    PREFIX + k for k in ("last-move-at", "last-from", "last-to", "last-reason", "last-event", "last-move-id")
)
TAG_VALUE_LIMIT = 256  # OCI's limit on a freeform tag value


@dataclass(frozen=True)
class LastMove:
    at: float
    from_node: str | None
    to_node: str
    reason: str
    event_key: str | None
    move_id: str | None


def last_move(tags: Mapping[str, str] | None) -> LastMove | None:
    """The last recorded move, or None when there is none or the tags are not ours/garbled."""
    tags = tags or {}
    try:
        at = float(tags[_AT])
    except (KeyError, TypeError, ValueError):
        return None
    return LastMove(
        at=at,
        from_node=tags.get(_FROM) or None,
        to_node=tags.get(_TO, ""),
        reason=tags.get(_REASON, ""),
        event_key=tags.get(_EVENT) or None,
        move_id=tags.get(_MOVE) or None,
    )


def with_move(
    tags: Mapping[str, str] | None, move: LastMove
) -> dict[str, str]:
    """The full freeform tag map to write with a move (UpdatePrivateIp replaces the map)."""
    merged = {k: v for k, v in (tags or {}).items() if not k.startswith(PREFIX)}
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
