"""Health Checks state and every rule of it: HTTP monitors, their probe results, vantage points.

Monitors are kept in the wire shape of the Health Checks API 20180501 (camelCase dicts), as the
other services keep theirs. The rules CreateHttpMonitor enforces live here, not in handlers:
OCI's value sets (protocol HTTP/HTTPS, method GET/HEAD, interval 10/30/60 s, timeout 10/20/30/60 s
and never above the interval, no Authorization header), known vantage points, and the emulator's
own guard: a target is probed only if it is an IP address on loopback or in the lab's
198.18.0.0/15. OCI probes public endpoints from other clouds; the emulator stands in for them
from this machine and must never send a packet anywhere else, so any other target (a hostname
included: nothing is resolved) is refused with an error that says so.
"""

from __future__ import annotations

import copy
import ipaddress
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ocisim.errors import InvalidParameter, MissingParameter

Resource = dict[str, Any]
PROTOCOLS = ("HTTP", "HTTPS")
METHODS = ("GET", "HEAD")
INTERVALS_SECONDS = (10, 30, 60)
TIMEOUTS_SECONDS = (10, 20, 30, 60)
DEFAULT_PORTS = {"HTTP": 80, "HTTPS": 443}
MAX_TARGETS = 10
MAX_VANTAGE_POINTS = 10
MAX_HEADERS = 20
MAX_MONITORS = 50
MAX_RESULTS_PER_MONITOR = 500
PROBED_NETWORKS = (
    ipaddress.ip_network("127.0.0.0/8"),
    ipaddress.ip_network("::1/128"),
    ipaddress.ip_network("198.18.0.0/15"),
)

# A few of the vantage points OCI lists (names and providers as in its sample list); each stands
# for "the internet, seen from that cloud". Three providers, so the recommended spread is possible.
VANTAGE_POINTS: tuple[Resource, ...] = tuple(
    {
        "name": name,
        "displayName": display,
        "providerName": provider,
        "geo": {
            "geoKey": f"ocisim-{name}",
            "adminDivCode": division,
            "cityName": city,
            "countryCode": country,
            "countryName": country_name,
            "latitude": lat,
            "longitude": lon,
        },
        "routing": [],
    }
    for name, display, provider, division, city, country, country_name, lat, lon in (
        ("aws-iad", "AWS Ashburn, VA, United States", "AWS", "VA", "Ashburn", "US", "United States", 39.04, -77.49),
        (
            "aws-sfo",
            "AWS San Francisco, CA, United States",
            "AWS",
            "CA",
            "San Francisco",
            "US",
            "United States",
            37.77,
            -122.42,
        ),
        ("aws-fra", "AWS Frankfurt, Germany", "AWS", None, "Frankfurt", "DE", "Germany", 50.11, 8.68),
        ("azr-ord", "Azure Chicago, IL, United States", "Azure", "IL", "Chicago", "US", "United States", 41.88, -87.63),
        (
            "goo-chs",
            "Google Charleston, SC, United States",
            "Google",
            "SC",
            "Charleston",
            "US",
            "United States",
            32.78,
            -79.93,
        ),
    )
)
DEFAULT_VANTAGE_POINTS = ("aws-iad", "azr-ord", "goo-chs")


class TargetRefused(InvalidParameter):
    """A target the emulator will not send a packet to."""


def check_target(target: Any) -> str:
    """The target as given if the emulator may probe it; else TargetRefused saying why."""
    if not isinstance(target, str) or not target:
        raise TargetRefused("Each target must be a non-empty string")
    try:
        address = ipaddress.ip_address(target)
    except ValueError:
        raise TargetRefused(f"ocisim probes IP addresses only (it resolves no names): {target!r}") from None
    if not any(address in network for network in PROBED_NETWORKS):
        raise TargetRefused(
            f"ocisim probes only loopback and lab (198.18.0.0/15) targets, never {target}; "
            "a real monitor's public target stays a value of the emulated cloud"
        )
    return target


def vantage_point(name: str) -> Resource | None:
    return next((vp for vp in VANTAGE_POINTS if vp["name"] == name), None)


def _choice(details: Mapping[str, Any], key: str, allowed: tuple, default: Any = None) -> Any:
    value = details.get(key, default)
    if value is None:
        raise MissingParameter(f"{key} is required")
    if value not in allowed or isinstance(value, bool):
        raise InvalidParameter(f"{key} must be one of {', '.join(map(str, allowed))}, not {value!r}")
    return value


def _targets(details: Mapping[str, Any]) -> list[str]:
    targets = details.get("targets")
    if not isinstance(targets, list) or not targets:
        raise MissingParameter("targets (a non-empty list) is required")
    if len(targets) > MAX_TARGETS:
        raise InvalidParameter(f"At most {MAX_TARGETS} targets per monitor, got {len(targets)}")
    return [check_target(target) for target in targets]


def _vantage_points(details: Mapping[str, Any]) -> list[str]:
    names = details.get("vantagePointNames") or list(DEFAULT_VANTAGE_POINTS)
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise InvalidParameter("vantagePointNames must be a list of vantage point names")
    if len(names) > MAX_VANTAGE_POINTS:
        raise InvalidParameter(f"At most {MAX_VANTAGE_POINTS} vantage points per monitor, got {len(names)}")
    unknown = [n for n in names if vantage_point(n) is None]
    if unknown:
        known = ", ".join(vp["name"] for vp in VANTAGE_POINTS)
        raise InvalidParameter(f"Unknown vantage points {unknown}; ListHealthChecksVantagePoints lists {known}")
    return list(dict.fromkeys(names))


def _port(details: Mapping[str, Any], protocol: str) -> int:
    port = details.get("port")
    if port is None:
        return DEFAULT_PORTS[protocol]
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise InvalidParameter(f"port must be an integer from 1 to 65535, not {port!r}")
    return port


def _path(details: Mapping[str, Any]) -> str:
    path = details.get("path") or "/"
    if not isinstance(path, str) or not path.startswith("/") or any(c in path for c in "\r\n ") or len(path) > 2048:
        raise InvalidParameter(f"path must start with '/' and hold no spaces or line breaks: {path!r}")
    return path


def _headers(details: Mapping[str, Any]) -> dict[str, str]:
    headers = details.get("headers") or {}
    if (
        not isinstance(headers, dict)
        or len(headers) > MAX_HEADERS
        or not all(
            isinstance(k, str) and k and isinstance(v, str) and not any(c in k + v for c in "\r\n")
            for k, v in headers.items()
        )
    ):
        raise InvalidParameter(f"headers must map at most {MAX_HEADERS} names to single-line strings")
    if any(k.lower() == "authorization" for k in headers):
        raise InvalidParameter("Monitors do not support the Authorization header")
    return dict(headers)


def _tags(details: Mapping[str, Any], key: str) -> dict[str, Any]:
    tags = details.get(key) or {}
    if not isinstance(tags, dict):
        raise InvalidParameter(f"{key} must be an object")
    return copy.deepcopy(tags)


def new_monitor(details: Any, *, monitor_id: str, time_created: str, region: str) -> Resource:
    """An HttpMonitor from CreateHttpMonitorDetails, or InvalidParameter/MissingParameter.
    `resultsUrl` is added when answering (`present`): it names the endpoint the emulator serves on."""
    if not isinstance(details, dict):
        raise InvalidParameter("The body must be CreateHttpMonitorDetails (a JSON object)")
    for key in ("compartmentId", "displayName"):
        if not isinstance(details.get(key), str) or not details[key]:
            raise MissingParameter(f"{key} is required")
    protocol = _choice(details, "protocol", PROTOCOLS)
    interval = _choice(details, "intervalInSeconds", INTERVALS_SECONDS)
    timeout = _choice(details, "timeoutInSeconds", TIMEOUTS_SECONDS, min(interval, 30))
    if timeout > interval:
        raise InvalidParameter(f"timeoutInSeconds ({timeout}) must not exceed intervalInSeconds ({interval})")
    enabled = details.get("isEnabled", True)
    if not isinstance(enabled, bool):
        raise InvalidParameter("isEnabled must be true or false")
    return {
        "id": monitor_id,
        "homeRegion": region,
        "timeCreated": time_created,
        "compartmentId": details["compartmentId"],
        "targets": _targets(details),
        "vantagePointNames": _vantage_points(details),
        "port": _port(details, protocol),
        "timeoutInSeconds": timeout,
        "protocol": protocol,
        "method": _choice(details, "method", METHODS, "GET"),
        "path": _path(details),
        "headers": _headers(details),
        "displayName": details["displayName"],
        "intervalInSeconds": interval,
        "isEnabled": enabled,
        "freeformTags": _tags(details, "freeformTags"),
        "definedTags": _tags(details, "definedTags"),
    }


SUMMARY_FIELDS = (
    "id",
    "resultsUrl",
    "homeRegion",
    "timeCreated",
    "compartmentId",
    "displayName",
    "intervalInSeconds",
    "isEnabled",
    "freeformTags",
    "definedTags",
    "protocol",
)


def present(monitor: Resource, endpoint: str) -> Resource:
    """The HttpMonitor as GetHttpMonitor answers it."""
    return {
        "id": monitor["id"],
        "resultsUrl": f"{endpoint}/20180501/httpProbeResults/{monitor['id']}",
        **{key: value for key, value in monitor.items() if key != "id"},
    }


def summary(monitor: Resource, endpoint: str) -> Resource:
    full = present(monitor, endpoint)
    return {key: full[key] for key in SUMMARY_FIELDS}


def new_monitor_id() -> str:
    return f"ocid1.httpmonitor.oc1..{uuid.uuid4().hex}"


@dataclass
class HealthChecksState:
    monitors: dict[str, Resource] = field(default_factory=dict)
    etags: dict[str, str] = field(default_factory=dict)
    results: dict[str, list[Resource]] = field(default_factory=dict)  # monitor id -> oldest first
    last_key: int = 0

    def add(self, monitor: Resource) -> None:
        if len(self.monitors) >= MAX_MONITORS:
            raise InvalidParameter(f"At most {MAX_MONITORS} monitors in the emulator")
        self.monitors[monitor["id"]] = monitor
        self.etags[monitor["id"]] = uuid.uuid4().hex
        self.results.setdefault(monitor["id"], [])

    def record(self, results: list[Resource]) -> None:
        """Keep probe results, numbering them; each monitor keeps its latest few hundred."""
        for result in results:
            self.last_key += 1
            kept = self.results.setdefault(result["probeConfigurationId"], [])
            kept.append({"key": str(self.last_key), **result})
            del kept[:-MAX_RESULTS_PER_MONITOR]

    def to_json(self) -> dict[str, Any]:
        return copy.deepcopy(
            {
                "monitors": list(self.monitors.values()),
                "etags": self.etags,
                "results": self.results,
                "lastKey": self.last_key,
            }
        )

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> HealthChecksState:
        raw = copy.deepcopy(dict(raw))
        return cls(
            {m["id"]: m for m in raw.get("monitors", [])},
            raw.get("etags", {}),
            raw.get("results", {}),
            raw.get("lastKey", 0),
        )


def seed(topology: Mapping[str, Any], backend: Any) -> HealthChecksState:
    """Monitors from the topology's `healthChecks.httpMonitors` (CreateHttpMonitorDetails plus a
    fixed `id`, so an alarm of the topology can name it); a bad one stops the start."""
    state = HealthChecksState()
    for raw in (topology.get("healthChecks") or {}).get("httpMonitors", []):
        details = dict(raw)
        monitor_id = details.pop("id", None) or new_monitor_id()
        try:
            monitor = new_monitor(
                details, monitor_id=monitor_id, time_created=backend.clock.iso_now(), region=backend.region
            )
        except (InvalidParameter, MissingParameter) as exc:
            raise ValueError(f"topology http monitor {raw.get('displayName', monitor_id)!r}: {exc.message}") from exc
        state.add(monitor)
    return state
