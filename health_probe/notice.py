"""What a keepalived notice is and what came of it: the vocabulary notify and the relay share.

Standard library only: ``python -m health_probe.notify`` imports this on every VRRP transition,
and its fast path must not pay for ``import oci`` (about a second on a small node), nor for
``typing`` and ``dataclasses``.
"""

from __future__ import annotations

# Not `typing.TYPE_CHECKING` and no dataclass: typing and dataclasses (inspect) would cost notify
# ~8 ms of its ~30; mypy reads a module's own TYPE_CHECKING the same way.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

STATES = ("MASTER", "BACKUP", "FAULT", "STOP")


def notice(node: str, state: str, vips: tuple[str, ...] | None = None) -> dict[str, Any]:
    """The keepalived event body the function expects; ``vips``: the VIPs of the VRRP instance
    that changed state (the function then moves only their groups), None for every VIP."""
    body: dict[str, Any] = {"source": "keepalived", "node": node, "state": state}
    if vips is not None:
        body["vips"] = list(vips)
    return body


class Outcome:
    """One invoke of the function: its answer, or why there is none (a value: never changed)."""

    __slots__ = ("answered", "answer", "reason")

    def __init__(self, answered: bool, answer: dict[str, Any] | None = None, reason: str = "") -> None:
        self.answered = answered
        self.answer: dict[str, Any] = {} if answer is None else answer
        self.reason = reason

    def wire(self) -> dict[str, Any]:
        """The relay's answer body."""
        return {"answered": self.answered, "answer": self.answer, "reason": self.reason}

    @classmethod
    def from_wire(cls, body: Any) -> Outcome:
        """Read the relay's answer body; anything malformed is "no answer"."""
        if not isinstance(body, dict) or not isinstance(body.get("answered"), bool):
            return cls(False, reason="the relay's answer is malformed")
        answer = body.get("answer")
        return cls(body["answered"], answer if isinstance(answer, dict) else {}, str(body.get("reason") or ""))


def answered(answer: Any) -> Outcome:
    """The function answered: keep its JSON object (or wrap anything else)."""
    return Outcome(True, answer if isinstance(answer, dict) else {"answer": answer})
