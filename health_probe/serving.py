"""Can this node serve the floating IP *now*? The pure verdict behind the node's GET /healthz.

haproxy's ``monitor-uri`` answers 200 whenever haproxy runs, so it cannot tell "haproxy is up"
from "this node can serve the floating IP": after ``systemctl stop keepalived`` the OS alias is
gone while haproxy still answers, and a function trusting :8404 kept the IP on that node (an
outage, found by the lab; docs/lab.md). A node serves only when both hold:

* haproxy answers its health check locally, and
* every floating IP is an address of this node (keepalived holds the alias).

The verdict also refuses to vouch for a family whose ``net.ipv4.ip_nonlocal_bind`` (or
``net.ipv6.ip_nonlocal_bind``) is on, because then the alias check (endpoint.py binds a socket
to each floating IP) would pass for any address.

Each address family is also judged on its own (``serving_families``): keepalived runs one VRRP
instance per family (``vip_ipv4``, ``vip_ipv6``), so for a moment a node may hold one family's
aliases and not the other's. The function moves a group of IPv6 VIPs to a node that serves
IPv6 even while its IPv4 alias is still on its way; the status (200 or 503) stays "serves every
floating IP".

The answer also says whether keepalived runs here (``keepalived``: ``running``, ``not running``,
or ``unknown`` when it could not be looked at). That is no part of "serves": after a SIGKILL the
alias stays and the node serves on, but nothing here will notice the next fault or drop the
alias, so the function hands the floating IP to a peer whose keepalived runs (docs/function.md).
It is read from the process table (endpoint.py); the pure parts are here: ``pid_in`` reads a
pid file, ``is_keepalived`` one ``/proc/<pid>/stat`` line.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

KEEPALIVED = "keepalived"  # the command name (/proc/<pid>/comm) of each of keepalived's processes
# Process states of /proc/<pid>/stat that are no running process: zombie, dead.
_GONE_STATES = frozenset("ZXx")


def family(ip: str) -> str:
    """``ipv4`` or ``ipv6``, the names the function's VIP groups use."""
    return f"ipv{ipaddress.ip_address(ip).version}"


@dataclass(frozen=True)
class Verdict:
    """What GET /healthz answers: 200 with ``serving`` true, else 503, and why."""

    node: str
    serving: bool
    haproxy_up: bool
    vip_alias: tuple[tuple[str, bool], ...]
    reason: str
    serving_families: tuple[tuple[str, bool], ...] = ()
    keepalived: bool | None = None  # whether keepalived runs here; None: could not look

    @property
    def status(self) -> int:
        return 200 if self.serving else 503

    def body(self) -> dict[str, Any]:
        return {
            "node": self.node,
            "serving": self.serving,
            "haproxy": "up" if self.haproxy_up else "down",
            "vip_alias": dict(self.vip_alias),
            "reason": self.reason,
            "serving_families": dict(self.serving_families),
            "keepalived": keepalived_word(self.keepalived),
        }


def keepalived_word(running: bool | None) -> str:
    """What the answer's ``keepalived`` field says (probe.keepalived_of reads it back)."""
    return "unknown" if running is None else "running" if running else "not running"


def pid_in(text: str) -> int | None:
    """The pid a pid file holds (keepalived writes "<pid>\\n"); None for anything else."""
    word = text.strip()
    return int(word) if word.isascii() and word.isdigit() and 0 < int(word) < 2**22 else None


def is_keepalived(stat: str) -> bool:
    """Whether one ``/proc/<pid>/stat`` line is a keepalived process that still runs. The name
    sits between the first "(" and the *last* ")" (a name may hold either), the state follows;
    a zombie or dead process (killed, not yet reaped) does not run."""
    head, close, tail = stat.rpartition(")")
    _, open_, name = head.partition("(")
    fields = tail.split()
    return bool(close and open_ and fields) and name == KEEPALIVED and fields[0] not in _GONE_STATES


def judge(
    node: str,
    haproxy_up: bool,
    haproxy_detail: str,
    aliases: Mapping[str, bool],
    nonlocal_bind: Collection[str],
    keepalived: bool | None = None,
) -> Verdict:
    """The verdict from what was observed; ``aliases`` maps each floating IP to "is local",
    ``nonlocal_bind`` names the families whose ip_nonlocal_bind is on, ``keepalived`` whether
    keepalived runs (reported, never part of "serves")."""
    blind = sorted({family(ip) for ip in aliases} & set(nonlocal_bind))
    # Every bind succeeds then: the observation proves nothing, so report no alias.
    aliases = {ip: local and family(ip) not in blind for ip, local in aliases.items()}
    problems = []
    if not haproxy_up:
        problems.append(f"haproxy does not answer ({haproxy_detail})")
    for name in blind:
        problems.append(
            f"net.{name}.ip_nonlocal_bind is 1: cannot tell whether the floating IP is an address of this node"
        )
    missing = [ip for ip, local in aliases.items() if not local and family(ip) not in blind]
    if missing:
        problems.append(f"{', '.join(missing)} not an address of this node (keepalived does not hold the alias)")
    families = {family(ip) for ip in aliases}
    by_family = tuple(
        (name, haproxy_up and all(local for ip, local in aliases.items() if family(ip) == name))
        for name in sorted(families)
    )
    serving = bool(aliases) and not problems
    if serving:
        reason = f"haproxy answers and {', '.join(aliases)} {'is an address' if len(aliases) == 1 else 'are addresses'} of this node"
    else:
        reason = "; ".join(problems) or "no floating IP configured"
    return Verdict(
        node=node,
        serving=serving,
        haproxy_up=haproxy_up,
        vip_alias=tuple(aliases.items()),
        reason=reason,
        serving_families=by_family,
        keepalived=keepalived,
    )
