"""Node agent configuration: YAML file → frozen dataclasses, or a clear error at start.

The file is rendered from templates/node-agent.yaml.tftpl (terraform's cloud-init and the lab).
Every problem is collected and reported at once, so an operator fixes the file in one pass
instead of restarting the agent once per typo.

Example::

    node: node-a
    compartment_id: ocid1.compartment.oc1..example
    auth: instance_principal          # or config_file (run by hand)
    interval_seconds: 10
    function_id: ocid1.fnfunc.oc1.iad.example        # for health_probe.notify
    invoke_endpoint: https://example.us-ashburn-1.functions.oci.oraclecloud.com
    targets:
      - {name: node-a, role: node, url: "http://10.0.0.2:8404/healthz",
         resource_id: ocid1.instance.oc1.iad.example}
      - {name: vip, role: vip, url: "http://10.0.0.4/", resource_id: ocid1.privateip.oc1.iad.example}
    # The node's own health endpoint, probed by the function (health_probe/endpoint.py):
    endpoint_address: 10.0.0.2                        # this node's primary IP; absent: not served
    endpoint_port: 8405
    haproxy_url: "http://127.0.0.1:8404/healthz"
    floating_ips: ["10.0.0.4", "fd00:10:0:1::4"]       # IPv4 and IPv6 floating IPs alike
    # keepalived's notify posts to the agent's warm relay here (health_probe/relay.py):
    relay_address: 127.0.0.1                          # loopback only
    relay_port: 8406
    # The VIPs each VRRP instance carries (keepalived names the instance in its notify): a notice
    # moves only their VIP groups. Absent: a notice covers every VIP.
    vrrp_instances:
      vip_ipv4: [ocid1.privateip.oc1.iad.example]
      vip_ipv6: [ocid1.ipv6.oc1.iad.example]
    # Direct fast path (terraform's fast_path_mode = "direct"): the relay handles a notice itself
    # with the events function's core and configuration (failover/config.py's keys) instead of
    # invoking the function (health_probe/direct.py). Absent: the function handles it.
    fast_path_direct: {VIP_PRIVATE_IP_IDS: ocid1.privateip.oc1.iad.example, NODES: '[...]', ...}
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import yaml

from failover.config import ENV_KEYS, ROLES
from failover.config import Config as FailoverConfig
from failover.config import ConfigError as FailoverConfigError
from health_probe.names import NAMES

AUTH_MODES = ("instance_principal", "config_file")
# PostMetricData accepts at most 50 unique metric streams per call.
MAX_STREAMS_PER_CALL = 50


class ConfigError(ValueError):
    """The configuration file cannot be used; the message lists every problem found."""


@dataclass(frozen=True)
class Target:
    """One HTTP health endpoint to probe, and the resource it stands for."""

    name: str
    role: str
    url: str
    resource_id: str


@dataclass(frozen=True)
class AgentConfig:
    """Everything the agent needs; defaults are the values a node normally runs with."""

    node: str
    compartment_id: str
    targets: tuple[Target, ...]
    auth: str = "instance_principal"
    oci_config_file: str | None = None
    oci_profile: str = "DEFAULT"
    region: str | None = None
    telemetry_endpoint: str | None = None
    federation_endpoint: str | None = None
    interval_seconds: float = 10.0
    jitter_seconds: float = 2.0
    timeout_seconds: float = 2.0
    buffer_max_points: int = 2000
    batch_max_streams: int = MAX_STREAMS_PER_CALL
    post_timeout_seconds: float = 10.0
    function_id: str | None = None
    invoke_endpoint: str | None = None
    notify_timeout_seconds: float = 10.0
    endpoint_address: str | None = None
    endpoint_port: int = 8405
    haproxy_url: str = "http://127.0.0.1:8404/healthz"
    floating_ips: tuple[str, ...] = ()
    relay_address: str = "127.0.0.1"
    relay_port: int = 8406
    vrrp_instances: Mapping[str, tuple[str, ...]] | None = None
    # The events function's configuration when keepalived's notices are handled here (None: by
    # the function); validated as the function validates it, for this node.
    fast_path_direct: Mapping[str, str] | None = None

    def vips_of(self, instance: str | None) -> tuple[str, ...] | None:
        """The VIP OCIDs of keepalived's VRRP ``instance`` (None: the notice covers every VIP, when
        no instance is named or ``vrrp_instances`` is not configured). ValueError for an instance
        the mapping does not name: guessing "all VIPs" could move a group keepalived did not move."""
        if instance is None or self.vrrp_instances is None:
            return None
        if instance not in self.vrrp_instances:
            raise ValueError(
                f"VRRP instance {instance!r} is not in vrrp_instances ({', '.join(sorted(self.vrrp_instances))})"
            )
        return self.vrrp_instances[instance]


# Every key of the file and its YAML type, once; the required ones are AgentConfig's fields
# without a default.
_TYPES: dict[str, type | tuple[type, ...]] = {
    "node": str,
    "compartment_id": str,
    "targets": list,
    "auth": str,
    "oci_config_file": str,
    "oci_profile": str,
    "region": str,
    "telemetry_endpoint": str,
    "federation_endpoint": str,
    "interval_seconds": (int, float),
    "jitter_seconds": (int, float),
    "timeout_seconds": (int, float),
    "buffer_max_points": int,
    "batch_max_streams": int,
    "post_timeout_seconds": (int, float),
    "function_id": str,
    "invoke_endpoint": str,
    "notify_timeout_seconds": (int, float),
    "endpoint_address": str,
    "endpoint_port": int,
    "haproxy_url": str,
    "floating_ips": list,
    "relay_address": str,
    "relay_port": int,
    "vrrp_instances": dict,
    "fast_path_direct": dict,
}
_REQUIRED = tuple(f.name for f in fields(AgentConfig) if f.default is MISSING and f.default_factory is MISSING)
_TARGET_KEYS = ("name", "role", "url", "resource_id")


def load_config(path: str | Path) -> AgentConfig:
    """Read and validate the YAML file at ``path``."""
    try:
        text = Path(path).read_text()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the configuration file: {exc.strerror}") from exc
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    return parse_config(raw, source=str(path))


def parse_config(raw: Any, source: str = "config") -> AgentConfig:
    """Validate an already-parsed document; pure, so every rule is unit-tested without files."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: expected a mapping at the top level")
    problems: list[str] = []
    for key in sorted(set(raw) - set(_TYPES)):
        problems.append(f"unknown key {key!r}")
    for key, kind in _TYPES.items():
        if key in _REQUIRED and key not in raw:
            problems.append(f"missing required key {key!r}")
        elif key in raw and (not isinstance(raw[key], kind) or isinstance(raw[key], bool)):
            problems.append(f"{key!r} has the wrong type ({type(raw[key]).__name__})")
    if problems:
        raise ConfigError(_joined(source, problems))

    targets = tuple(_parse_targets(raw["targets"], problems))
    # Templates render an unset optional string as "": treat it as absent.
    options = {key: raw[key] for key in _TYPES if key not in _REQUIRED and key in raw and raw[key] != ""}
    # A short interval (the lab's) scales the default timeout and jitter down with it.
    interval = options.get("interval_seconds", AgentConfig.interval_seconds)
    options.setdefault("timeout_seconds", min(AgentConfig.timeout_seconds, interval / 2))
    options.setdefault("jitter_seconds", min(AgentConfig.jitter_seconds, interval / 5))
    options["floating_ips"] = tuple(options.get("floating_ips", ()))
    if "vrrp_instances" in options:
        options["vrrp_instances"] = _parse_instances(options["vrrp_instances"], problems)
    if "fast_path_direct" in options:
        options["fast_path_direct"] = _parse_direct(options["fast_path_direct"], raw["node"], problems)
    config = AgentConfig(node=raw["node"], compartment_id=raw["compartment_id"], targets=targets, **options)
    problems.extend(_check_values(config))
    if problems:
        raise ConfigError(_joined(source, problems))
    return config


def _parse_targets(items: list[Any], problems: list[str]) -> list[Target]:
    targets = []
    for index, item in enumerate(items):
        where = f"targets[{index}]"
        if not isinstance(item, dict):
            problems.append(f"{where}: expected a mapping with {', '.join(_TARGET_KEYS)}")
            continue
        missing = [key for key in _TARGET_KEYS if not isinstance(item.get(key), str) or not item[key]]
        extra = sorted(set(item) - set(_TARGET_KEYS))
        if missing:
            problems.append(f"{where}: missing or empty {', '.join(missing)}")
        if extra:
            problems.append(f"{where}: unknown key(s) {', '.join(extra)}")
        if not missing:
            targets.append(Target(**{key: item[key] for key in _TARGET_KEYS}))
    return targets


def _parse_instances(raw: dict[Any, Any], problems: list[str]) -> dict[str, tuple[str, ...]]:
    """vrrp_instances: instance name -> a non-empty list of distinct VIP OCIDs, each VIP under one
    instance only (keepalived moves each alias with exactly one instance)."""
    instances: dict[str, tuple[str, ...]] = {}
    for name, vips in raw.items():
        if not isinstance(name, str) or not name:
            problems.append("vrrp_instances: instance names must be non-empty strings")
        elif (
            not isinstance(vips, list)
            or not vips
            or not all(isinstance(v, str) and v.startswith("ocid1.") for v in vips)
        ):
            problems.append(f"vrrp_instances.{name}: must be a non-empty list of VIP OCIDs")
        else:
            instances[name] = tuple(vips)
    listed = [v for vips in instances.values() for v in vips]
    if len(set(listed)) != len(listed):
        problems.append("vrrp_instances: a VIP is listed twice (each VIP belongs to one VRRP instance)")
    if not raw:
        problems.append("vrrp_instances: name at least one instance, or leave the key out")
    return instances


def _parse_direct(raw: dict[Any, Any], node: str, problems: list[str]) -> dict[str, str]:
    """fast_path_direct: the events function's configuration (string values of failover/config.py's
    keys), valid as the function would find it, naming this node, and never the operators' role:
    a node handles keepalived's notices only, never a manual or forced move."""
    where = "fast_path_direct"
    unknown = sorted(str(key) for key in set(raw) - set(ENV_KEYS))
    if unknown:
        problems.append(f"{where}: unknown key(s) {', '.join(unknown)} (the function's keys: failover/config.py)")
        return {}
    if not all(isinstance(value, str) for value in raw.values()):
        problems.append(f"{where}: every value must be a string, as in the function's configuration")
        return {}
    env = {str(key): value for key, value in raw.items()}
    if env.get("ROLE", ROLES[0]) != ROLES[0]:
        problems.append(f"{where}: ROLE must be {ROLES[0]!r} (a node takes keepalived's notices only)")
    try:
        config = FailoverConfig.from_env(env)
    except FailoverConfigError as exc:
        problems.append(f"{where}: {exc}")
        return env
    if config.node(node) is None:
        problems.append(f"{where}: NODES does not name this node ({node!r})")
    return env


def _check_values(config: AgentConfig) -> list[str]:
    checks = (_check_targets, _check_auth, _check_timing, _check_relay, _check_endpoint)
    return [problem for check in checks for problem in check(config)]


def _check_targets(config: AgentConfig) -> list[str]:
    problems = []
    if not config.targets:
        problems.append("'targets' must list at least one target")
    names = [target.name for target in config.targets]
    if len(set(names)) != len(names):
        problems.append("target names must be unique")
    for target in config.targets:
        if target.role not in NAMES.roles:
            problems.append(f"target {target.name!r}: role must be one of {', '.join(NAMES.roles)}")
        parsed = urlparse(target.url)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            problems.append(f"target {target.name!r}: url must be http(s)://host[:port]/path")
        if not target.resource_id.startswith("ocid1."):
            problems.append(f"target {target.name!r}: resource_id must be an OCID")
    return problems


def _check_auth(config: AgentConfig) -> list[str]:
    problems = []
    if not config.compartment_id.startswith("ocid1."):
        problems.append("'compartment_id' must be an OCID")
    if config.auth not in AUTH_MODES:
        problems.append(f"'auth' must be one of {', '.join(AUTH_MODES)}")
    if config.auth == "config_file" and not config.oci_config_file:
        problems.append("auth 'config_file' needs 'oci_config_file'")
    return problems


def _check_timing(config: AgentConfig) -> list[str]:
    """Intervals, timeouts and the buffer's and batches' bounds."""
    problems = []
    if config.interval_seconds <= 0 or config.timeout_seconds <= 0 or config.notify_timeout_seconds <= 0:
        problems.append("'interval_seconds', 'timeout_seconds' and 'notify_timeout_seconds' must be positive")
    if config.timeout_seconds >= config.interval_seconds:
        problems.append("'timeout_seconds' must be shorter than 'interval_seconds'")
    if not 0 <= config.jitter_seconds < config.interval_seconds:
        problems.append("'jitter_seconds' must be >= 0 and shorter than 'interval_seconds'")
    if config.buffer_max_points < 2 * len(config.targets):
        problems.append("'buffer_max_points' must hold at least one probe round")
    if not 1 <= config.batch_max_streams <= MAX_STREAMS_PER_CALL:
        problems.append(f"'batch_max_streams' must be between 1 and {MAX_STREAMS_PER_CALL}")
    return problems


def _check_relay(config: AgentConfig) -> list[str]:
    problems = []
    if not (_is_ip(config.relay_address) and ipaddress.ip_address(config.relay_address).is_loopback):
        problems.append("'relay_address' must be a loopback address (the relay takes this node's own notices)")
    if not 1 <= config.relay_port <= 65535:
        problems.append("'relay_port' must be between 1 and 65535")
    return problems


def _check_endpoint(config: AgentConfig) -> list[str]:
    """The node health endpoint's keys; the floating IPs are IPv4 or IPv6 addresses."""
    if config.endpoint_address is None:
        return ["'floating_ips' needs 'endpoint_address'"] if config.floating_ips else []
    problems = []
    if not _is_ip(config.endpoint_address):
        problems.append("'endpoint_address' must be this node's IP address")
    if not 1 <= config.endpoint_port <= 65535:
        problems.append("'endpoint_port' must be between 1 and 65535")
    parsed = urlparse(config.haproxy_url)
    if parsed.scheme != "http" or not parsed.hostname:
        problems.append("'haproxy_url' must be http://host[:port]/path")
    if not config.floating_ips:
        problems.append("'endpoint_address' needs 'floating_ips' (the addresses this node must hold to serve)")
    if not all(isinstance(ip, str) and _is_ip(ip) for ip in config.floating_ips):
        problems.append("'floating_ips' must be a list of IPv4 or IPv6 addresses")
    return problems


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _joined(source: str, problems: list[str]) -> str:
    return f"{source}: invalid configuration:\n  - " + "\n  - ".join(problems)
