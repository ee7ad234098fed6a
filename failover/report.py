"""What an answer says beyond each VIP's decision: the public IP riding on each VIP, and what
the ``status`` command reports (cooldown left, pause, failback policy, role)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import log
from .decide import cooldown_left
from .network import ApiError, Deadline, Network, VipState
from .observe import group_view
from .runtime import Runtime


def add_public_ips(network: Network, results: list[dict[str, Any]], budget: Deadline) -> None:
    """Each result's ``public_ip`` (None when its VIP has no address or it could not be read)."""
    for r in results:
        r["public_ip"] = _public_ip(network, r["private_ip_id"], budget) if r["ip_address"] else None


def _public_ip(network: Network, private_ip_id: str, budget: Deadline) -> str | None:
    try:
        return network.public_ip(private_ip_id, budget)
    except ApiError as exc:
        log.warning("public_ip_unknown", vip=private_ip_id, code=exc.code, status=exc.status)
        return None


def status_extra(states: Mapping[str, VipState], rt: Runtime) -> dict[str, Any]:
    """The status command's fields: the longest cooldown left and the first pause of any group."""
    config = rt.config
    waits = []
    pauses = []
    for group in config.vip_groups:
        readable = [states[v] for v in group if v in states]
        if readable:
            view = group_view(readable, {}, rt)
            waits.append(cooldown_left(view, config))
            if view.paused is not None:
                pauses.append({"until": view.paused.until, "reason": view.paused.reason})
    return {
        "cooldown_left_s": round(max(waits, default=0.0), 1),
        "paused": pauses[0] if pauses else None,
        "failback_policy": config.failback_policy,
        "role": config.role,
    }
