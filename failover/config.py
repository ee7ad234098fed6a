"""The function's configuration: environment variables in, one frozen ``Config`` out.

OCI Functions hands configuration to the function as environment variables (``fn config``,
terraform, the emulator's topology all set the same keys). Everything is validated once, at
start, so a typo fails loudly with the name of the key instead of surfacing as a wrong move in
the middle of an outage.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass

FAILBACK_POLICIES = ("never", "preferred")
# Which callers' requests a deployment of the function accepts (see README, "Security"): the
# events function, invoked by the nodes and Notifications, takes keepalived notices, alarm
# messages and status only; the operator function, invoked only by the operators' group, also
# takes manual failover/failback (``force`` included).
ROLES = ("events", "operator")
# Every key the function reads, in one place (the shell keys its per-container cache on them,
# terraform's function_config module sets exactly these).
ENV_KEYS = (
    "VIP_PRIVATE_IP_IDS",
    "VIP_IPV6_IDS",
    "VIP_GROUPS",
    "NODES",
    "FAILBACK_POLICY",
    "COOLDOWN_SECONDS",
    "PROBE_TIMEOUT_SECONDS",
    "PROBE_CONNECT_TIMEOUT_SECONDS",
    "DRY_RUN",
    "RETRY_DEADLINE_SECONDS",
    "OCI_SERVICE_ENDPOINT",
    "ROLE",
    "ALARM_IDS",
    "EVENTS_TOPIC_ID",
    "COMPARTMENT_ID",
)
_OCID = re.compile(r"^ocid1\.[a-z0-9]+\.[a-z0-9-]*\.[a-z0-9-]*\.[A-Za-z0-9._-]+$")
_NODE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")
# PROBE_CONNECT_TIMEOUT_SECONDS' default: what a dead node (link down, crashed) costs the probe,
# and so every failover away from it. It cannot misread a live node: a VCN's round trip is well
# under a millisecond (20 ms is over 20 times that; the fast path's whole budget over the API's
# own latency is 150 ms, and 50 ms, the earlier default, spent a third of it on a dead link), a
# live node's kernel answers the SYN even while its agent is stalled (the listen backlog
# accepts; the answer then comes within the read timeout), and a lost SYN is sent again only
# after the 1 s initial RTO (RFC 6298), so any value between a few milliseconds and 1 s reads a
# live node alike.
PROBE_CONNECT_TIMEOUT_DEFAULT_SECONDS = 0.02
# The OCID kind of each VIP family: an IPv4 VIP is a secondary private IP, an IPv6 VIP an Ipv6.
FAMILY_PREFIXES = {"ipv4": "ocid1.privateip.", "ipv6": "ocid1.ipv6."}


def vip_family(vip_id: str) -> str:
    """``ipv4`` or ``ipv6``: which API moves this VIP (UpdatePrivateIp or UpdateIpv6)."""
    return "ipv6" if vip_id.startswith(FAMILY_PREFIXES["ipv6"]) else "ipv4"


class ConfigError(ValueError):
    """A configuration value is missing or wrong; ``key`` names the environment variable."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"{key}: {message}")
        self.key = key


@dataclass(frozen=True)
class Node:
    """One node that may hold the floating IP."""

    name: str
    vnic_id: str
    health_url: str
    priority: int


@dataclass(frozen=True)
class Config:
    """Validated configuration. ``nodes`` is ordered by priority, highest first; ``vip_groups``
    partitions every VIP (IPv4 and IPv6) into the groups that are decided once and moved as a
    unit (VIP_GROUPS; unset: one group of them all)."""

    vip_private_ip_ids: tuple[str, ...]
    nodes: tuple[Node, ...]
    failback_policy: str = "never"
    cooldown_seconds: float = 60.0
    probe_timeout_seconds: float = 2.0
    probe_connect_timeout_seconds: float = PROBE_CONNECT_TIMEOUT_DEFAULT_SECONDS
    dry_run: bool = False
    retry_deadline_seconds: float = 20.0
    service_endpoint: str | None = None
    role: str = "events"
    alarm_ids: frozenset[str] = frozenset()
    # Failover events (failover.announce): the topic told of every move and refusal, and the
    # compartment of the failover_moves / failover_refused metrics. Either may be unset.
    events_topic_id: str | None = None
    compartment_id: str | None = None
    vip_ipv6_ids: tuple[str, ...] = ()
    # Empty: every VIP forms one group (see ``vip_groups``).
    groups: tuple[tuple[str, ...], ...] = ()

    def node(self, name: str) -> Node | None:
        return next((n for n in self.nodes if n.name == name), None)

    def node_by_vnic(self, vnic_id: str | None) -> Node | None:
        return next((n for n in self.nodes if n.vnic_id == vnic_id), None)

    @property
    def preferred(self) -> Node:
        """The node failback returns to: highest priority, first listed on a tie."""
        return self.nodes[0]

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Config:
        """Build from an environment mapping (``os.environ`` or ``ctx.Config()``)."""
        probe_timeout = _number(env, "PROBE_TIMEOUT_SECONDS", 2.0, low=0.1, high=30.0)
        ipv4 = _vip_ids(env.get("VIP_PRIVATE_IP_IDS"))
        ipv6 = _ipv6_ids(env.get("VIP_IPV6_IDS"))
        return cls(
            vip_private_ip_ids=ipv4,
            vip_ipv6_ids=ipv6,
            groups=_groups(env.get("VIP_GROUPS"), ipv4 + ipv6),
            nodes=_nodes(env.get("NODES")),
            failback_policy=_choice(env, "FAILBACK_POLICY", FAILBACK_POLICIES, "never"),
            cooldown_seconds=_number(env, "COOLDOWN_SECONDS", 60.0, low=0.0, high=86400.0),
            probe_timeout_seconds=probe_timeout,
            # Capped by the read timeout it used to share: lowering PROBE_TIMEOUT_SECONDS alone
            # (tests, a fast LAN) must not leave a longer connect timeout behind.
            probe_connect_timeout_seconds=min(
                probe_timeout,
                _number(
                    env, "PROBE_CONNECT_TIMEOUT_SECONDS", PROBE_CONNECT_TIMEOUT_DEFAULT_SECONDS, low=0.01, high=30.0
                ),
            ),
            dry_run=_flag(env, "DRY_RUN"),
            retry_deadline_seconds=_number(env, "RETRY_DEADLINE_SECONDS", 20.0, low=1.0, high=290.0),
            service_endpoint=_endpoint(env.get("OCI_SERVICE_ENDPOINT")),
            role=_choice(env, "ROLE", ROLES, "events"),
            alarm_ids=_alarm_ids(env.get("ALARM_IDS")),
            events_topic_id=_optional_ocid(env, "EVENTS_TOPIC_ID", "ocid1.onstopic."),
            compartment_id=_optional_ocid(env, "COMPARTMENT_ID", ("ocid1.compartment.", "ocid1.tenancy.")),
        )

    @property
    def vip_ids(self) -> tuple[str, ...]:
        """Every VIP, IPv4 first, in the order configured."""
        return self.vip_private_ip_ids + self.vip_ipv6_ids

    @property
    def vip_groups(self) -> tuple[tuple[str, ...], ...]:
        """The VIPs that must sit together: decided once, one cooldown, moved to one node.
        Without VIP_GROUPS every VIP forms one group (they share the nodes' haproxy)."""
        return self.groups or (self.vip_ids,)


def _vip_ids(raw: str | None) -> tuple[str, ...]:
    key = "VIP_PRIVATE_IP_IDS"
    if raw is None or not raw.strip():
        raise ConfigError(key, "required: comma-separated private IP OCIDs")
    ids = tuple(part.strip() for part in raw.split(",") if part.strip())
    if not ids:
        raise ConfigError(key, f"{raw!r} names no private IP: comma-separated private IP OCIDs")
    for ocid in ids:
        if not _OCID.match(ocid) or not ocid.startswith("ocid1.privateip."):
            raise ConfigError(key, f"{ocid!r} is not a private IP OCID (ocid1.privateip....)")
    if len(set(ids)) != len(ids):
        raise ConfigError(key, "lists the same private IP twice")
    return ids


def _ipv6_ids(raw: str | None) -> tuple[str, ...]:
    key = "VIP_IPV6_IDS"
    ids = tuple(part.strip() for part in (raw or "").split(",") if part.strip())
    for ocid in ids:
        if not _OCID.match(ocid) or not ocid.startswith(FAMILY_PREFIXES["ipv6"]):
            raise ConfigError(key, f"{ocid!r} is not an IPv6 OCID (ocid1.ipv6....)")
    if len(set(ids)) != len(ids):
        raise ConfigError(key, "lists the same IPv6 twice")
    return ids


def _groups(raw: str | None, vips: tuple[str, ...]) -> tuple[tuple[str, ...], ...]:
    """VIP_GROUPS: a JSON list of lists of VIP OCIDs that puts every configured VIP in exactly
    one group (a VIP left out would never move; one in two groups could be sent two ways)."""
    key = "VIP_GROUPS"
    if raw is None or not raw.strip():
        return ()
    try:
        items = json.loads(raw)
    except ValueError as exc:
        raise ConfigError(key, f"not valid JSON ({exc})") from None
    shape = 'a JSON list of non-empty lists of VIP OCIDs, e.g. [["ocid1.privateip..."], ["ocid1.ipv6..."]]'
    if not isinstance(items, list) or not items:
        raise ConfigError(key, f"must be {shape}")
    groups: list[tuple[str, ...]] = []
    for i, group in enumerate(items):
        if not isinstance(group, list) or not group or not all(isinstance(v, str) for v in group):
            raise ConfigError(key, f"group {i} is not a non-empty list of OCIDs: must be {shape}")
        groups.append(tuple(group))
    listed = [v for group in groups for v in group]
    unknown = [v for v in listed if v not in vips]
    if unknown:
        raise ConfigError(key, f"{unknown[0]!r} is not in VIP_PRIVATE_IP_IDS or VIP_IPV6_IDS")
    twice = sorted({v for v in listed if listed.count(v) > 1})
    if twice:
        raise ConfigError(key, f"{twice[0]!r} is in more than one group (every VIP in exactly one)")
    missing = [v for v in vips if v not in listed]
    if missing:
        raise ConfigError(key, f"{missing[0]!r} is in no group (every VIP in exactly one)")
    return tuple(groups)


def _nodes(raw: str | None) -> tuple[Node, ...]:
    key = "NODES"
    if raw is None or not raw.strip():
        raise ConfigError(key, "required: a JSON list of {name, vnic_id, health_url, priority}")
    try:
        items = json.loads(raw)
    except ValueError as exc:
        raise ConfigError(key, f"not valid JSON ({exc})") from None
    if not isinstance(items, list) or len(items) < 2:
        raise ConfigError(key, "must be a JSON list of at least two nodes")
    nodes = [_node(i, item) for i, item in enumerate(items)]
    # A copy-pasted health_url would make one node's probe speak for another's.
    for field in ("name", "vnic_id", "health_url"):
        values = [getattr(n, field) for n in nodes]
        if len(set(values)) != len(values):
            raise ConfigError(key, f"two nodes share the same {field}")
    # Stable sort: equal priorities keep the order the operator wrote.
    return tuple(sorted(nodes, key=lambda n: -n.priority))


def _node(index: int, item: object) -> Node:
    key = f"NODES[{index}]"
    if not isinstance(item, dict):
        raise ConfigError(key, "must be an object")
    unknown = set(item) - {"name", "vnic_id", "health_url", "priority"}
    if unknown:
        raise ConfigError(key, f"unknown field(s) {sorted(unknown)}")
    name, vnic_id, url = item.get("name"), item.get("vnic_id"), item.get("health_url")
    priority = item.get("priority", 100)
    if not isinstance(name, str) or not _NODE_NAME.match(name):
        raise ConfigError(f"{key}.name", "must be a short name of letters, digits, . _ -")
    if not isinstance(vnic_id, str) or not _OCID.match(vnic_id) or not vnic_id.startswith("ocid1.vnic."):
        raise ConfigError(f"{key}.vnic_id", "must be a VNIC OCID (ocid1.vnic....)")
    if not isinstance(url, str) or not re.match(r"^https?://[^/\s]+(/\S*)?$", url):
        raise ConfigError(f"{key}.health_url", "must be an http:// or https:// URL")
    if isinstance(priority, bool) or not isinstance(priority, int):
        raise ConfigError(f"{key}.priority", "must be an integer")
    return Node(name=name, vnic_id=vnic_id, health_url=url, priority=priority)


def _alarm_ids(raw: str | None) -> frozenset[str]:
    """The deployment's own alarms: only their streams count as evidence about a node."""
    ids = [part.strip() for part in (raw or "").split(",") if part.strip()]
    for ocid in ids:
        if not _OCID.match(ocid) or not ocid.startswith("ocid1.alarm."):
            raise ConfigError("ALARM_IDS", f"{ocid!r} is not an alarm OCID (ocid1.alarm....)")
    return frozenset(ids)


def _optional_ocid(env: Mapping[str, str], key: str, prefix: str | tuple[str, ...]) -> str | None:
    raw = (env.get(key) or "").strip()
    if not raw:
        return None
    if not _OCID.match(raw) or not raw.startswith(prefix):
        kinds = prefix if isinstance(prefix, str) else " or ".join(prefix)
        raise ConfigError(key, f"{raw!r} is not an OCID of the right kind ({kinds}...)")
    return raw


def _choice(env: Mapping[str, str], key: str, allowed: tuple[str, ...], default: str) -> str:
    value = (env.get(key) or default).strip().lower()
    if value not in allowed:
        raise ConfigError(key, f"must be one of {', '.join(allowed)}, not {value!r}")
    return value


def _number(env: Mapping[str, str], key: str, default: float, *, low: float, high: float) -> float:
    raw = env.get(key)
    if raw is None or not raw.strip():
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(key, f"must be a number, not {raw!r}") from None
    if not low <= value <= high:
        raise ConfigError(key, f"must be between {low:g} and {high:g}, not {value:g}")
    return value


def _flag(env: Mapping[str, str], key: str) -> bool:
    value = (env.get(key) or "false").strip().lower()
    if value not in ("true", "false", "1", "0", "yes", "no"):
        raise ConfigError(key, f"must be true or false, not {value!r}")
    return value in ("true", "1", "yes")


def _endpoint(raw: str | None) -> str | None:
    if raw is None or not raw.strip():
        return None
    if not re.match(r"^https?://[^/\s]+/?$", raw.strip()):
        raise ConfigError("OCI_SERVICE_ENDPOINT", f"must be a base URL like http://127.0.0.1:8080, not {raw!r}")
    return raw.strip().rstrip("/")
