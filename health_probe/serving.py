"""Can this node serve the floating IP *now*? The pure verdict behind the node's GET /healthz.

haproxy's ``monitor-uri`` answers 200 whenever haproxy runs, so it cannot tell "haproxy is up"
from "this node can serve the floating IP": after ``systemctl stop keepalived`` the OS alias is
gone while haproxy still answers, and a function trusting :8404 kept the IP on that node (an
outage, found by the lab; docs/lab.md). A node serves only when both hold:

* haproxy answers its health check locally, and
* every floating IP is an address of this node (keepalived holds the alias).

The verdict also refuses to vouch when ``net.ipv4.ip_nonlocal_bind`` is on, because then the
alias check (endpoint.py binds a socket to each floating IP) would pass for any address.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Verdict:
    """What GET /healthz answers: 200 with ``serving`` true, else 503, and why."""

    node: str
    serving: bool
    haproxy_up: bool
    vip_alias: tuple[tuple[str, bool], ...]
    reason: str

    @property
    def status(self) -> int:
        return 200 if self.serving else 503

    def body(self) -> dict[str, Any]:
        return {"node": self.node, "serving": self.serving, "haproxy": "up" if self.haproxy_up else "down",
                "vip_alias": dict(self.vip_alias), "reason": self.reason}


def judge(node: str, haproxy_up: bool, haproxy_detail: str, aliases: Mapping[str, bool],
          nonlocal_bind: bool) -> Verdict:
    """The verdict from what was observed; ``aliases`` maps each floating IP to "is local"."""
    if nonlocal_bind:
        # Every bind succeeds then: the observation proves nothing, so report no alias.
        aliases = {ip: False for ip in aliases}
    problems = []
    if not haproxy_up:
        problems.append(f"haproxy does not answer ({haproxy_detail})")
    if nonlocal_bind:
        problems.append("net.ipv4.ip_nonlocal_bind is 1: cannot tell whether the floating IP is an address of this node")
    else:
        missing = [ip for ip, local in aliases.items() if not local]
        if missing:
            problems.append(f"{', '.join(missing)} not an address of this node (keepalived does not hold the alias)")
    serving = bool(aliases) and not problems
    if serving:
        reason = f"haproxy answers and {', '.join(aliases)} {'is an address' if len(aliases) == 1 else 'are addresses'} of this node"
    else:
        reason = "; ".join(problems) or "no floating IP configured"
    return Verdict(node=node, serving=serving, haproxy_up=haproxy_up, vip_alias=tuple(aliases.items()), reason=reason)
