"""Functions control-plane resources (Function, Application) in the wire shape of API 20260325.

The topology lists functions with their application's OCID; an application is every function
that names it. `invokeEndpoint` is the emulator's own endpoint, so a client that reads it (the
oci CLI's `fn function invoke` does) invokes here and never leaves the machine.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from ocisim.service import REALISTIC_PROFILE

DEFAULT_APPLICATION_NAME = "vip-failover-app"
DEFAULT_CREATED = "2026-01-01T00:00:00.000Z"
DETACHED_TIMEOUT_BOUNDS = (5, 3600)  # OCI's allowed detached-mode timeout, seconds

# Bounds on what a topology or a flag may ask of the emulator's function containers.
MAX_CONTAINERS_LIMIT = 16  # fdk processes of one function at once
MAX_COLD_DELAY_SECONDS = 60.0  # a modeled cold start, beyond the real fdk start
MAX_IDLE_TIMEOUT_SECONDS = 86400.0


@dataclass(frozen=True)
class ColdStart:
    """How one function's containers go cold, and what a call pays when none is warm.

    `idle_timeout_s` is emulated time (ocisim.clock: a scaled clock idles containers out
    sooner, as it ages everything else); None keeps an idle container forever. `delay_s` is
    wall time a call waits, before the real fdk process starts, when it finds no idle
    container: OCI's provisioning of the execution infrastructure, which a local process
    start does not have.
    """

    idle_timeout_s: float | None = None
    delay_s: float = 0.0
    max_containers: int = 4

    def to_json(self) -> dict[str, Any]:
        return {
            "idleTimeoutSeconds": self.idle_timeout_s,
            "delaySeconds": self.delay_s,
            "maxContainers": self.max_containers,
        }


# coldStart's keys: the ColdStart field each sets and its upper bound.
COLD_START_FIELDS = {
    "idleTimeoutSeconds": ("idle_timeout_s", MAX_IDLE_TIMEOUT_SECONDS),
    "delaySeconds": ("delay_s", MAX_COLD_DELAY_SECONDS),
    "maxContainers": ("max_containers", MAX_CONTAINERS_LIMIT),
}
# The default: warm forever, no modeled delay (what the tests and the lab have always had).
WARM = ColdStart()
# The `realistic` profile: Fn's default idle_timeout (30 s; OCI publishes no idle time), and
# the first call of an idle function measured through the fn CLI (~20-24 s, ~22 s) less the
# same measurement's warm call (~3.7 s, the CLI and the network) less the real fdk start the
# emulator adds on top (~1 s): 17 s (docs/emulator.md).
REALISTIC = ColdStart(idle_timeout_s=30.0, delay_s=17.0)


def _setting(key: str, value: Any, high: float) -> float | int | None:
    """One `coldStart` value checked: seconds (idle may be null: never) or a container count."""
    if key == "idleTimeoutSeconds" and value is None:
        return None
    count = key == "maxContainers"
    low = 1 if count else 0
    number = isinstance(value, int) if count else isinstance(value, (int, float))
    if isinstance(value, bool) or not number or not low <= value <= high:
        kind = "an integer" if count else "a number of seconds"
        raise ValueError(f"coldStart.{key} must be {kind} from {low} to {high:g}, not {value!r}")
    return int(value) if count else float(value)


def cold_start(raw: Mapping[str, Any] | None, base: ColdStart) -> ColdStart:
    """`base` with what `raw` (a topology's or a flag's `coldStart` object) sets; a clear
    ValueError for an unknown key or a value out of bounds."""
    if raw is None:
        return base
    unknown = sorted(set(raw) - set(COLD_START_FIELDS)) if isinstance(raw, Mapping) else [raw]
    if unknown:
        raise ValueError(f"coldStart must be an object of {', '.join(COLD_START_FIELDS)}, not with {unknown[0]!r}")
    changes: dict[str, Any] = {
        name: _setting(key, raw[key], high) for key, (name, high) in COLD_START_FIELDS.items() if key in raw
    }
    return replace(base, **changes)


def function_cold_start(function: Mapping[str, Any], options: Mapping[str, Any]) -> ColdStart:
    """The function's `coldStart` over the serve-level one (`--function-idle-timeout` ...) over
    the profile's (REALISTIC for `--profile realistic`, else WARM); its provisioned concurrency
    checked too. A bad setting is a ValueError naming the function."""
    base = REALISTIC if options.get("profile") == REALISTIC_PROFILE else WARM
    try:
        cold = cold_start(function.get("coldStart"), cold_start(options.get("cold_start"), base))
        provisioned_concurrency(function.get("provisionedConcurrencyConfig"))
    except ValueError as exc:
        raise ValueError(f"function {function.get('name', function['id'])}: {exc}") from None
    return cold


def provisioned_concurrency(raw: Any) -> dict[str, Any]:
    """A function's `provisionedConcurrencyConfig` as the SDK models it (NONE, or CONSTANT
    with a positive `count` of PCUs), validated; absent means NONE."""
    if raw is None:
        return {"strategy": "NONE"}
    strategy = raw.get("strategy") if isinstance(raw, Mapping) else None
    if strategy == "NONE" and set(raw) == {"strategy"}:
        return {"strategy": "NONE"}
    if strategy == "CONSTANT" and set(raw) == {"strategy", "count"}:
        count = raw["count"]
        if not isinstance(count, bool) and isinstance(count, int) and count >= 1:
            return {"strategy": "CONSTANT", "count": count}
    raise ValueError(
        'provisionedConcurrencyConfig must be {"strategy": "NONE"} or '
        f'{{"strategy": "CONSTANT", "count": N}} with N >= 1, not {raw!r}'
    )


def hot_containers(function: Mapping[str, Any], cold: ColdStart) -> int:
    """Containers kept hot: one per provisioned concurrency unit, within the container bound.

    OCI's minimum PCUs per memory size (20 at 256 MB) is not enforced: a topology may ask
    for 1 or 2 hot containers without the emulator starting 20 processes.
    """
    config = provisioned_concurrency(function.get("provisionedConcurrencyConfig"))
    return min(int(config.get("count", 0)), cold.max_containers)


def expired(idle_since: Sequence[float | None], now: float, idle_timeout_s: float | None, keep: int) -> list[int]:
    """Which containers to stop: idle (`idle_since` not None) for at least `idle_timeout_s`
    (every idle one when it is 0), longest idle first, never leaving fewer than `keep`."""
    if idle_timeout_s is None:
        return []
    stale = sorted(
        (since, index) for index, since in enumerate(idle_since) if since is not None and now - since >= idle_timeout_s
    )
    return [index for _, index in stale[: max(0, len(idle_since) - keep)]]


def detached_timeout(function: Mapping[str, Any]) -> int:
    """How long a detached invocation may run: the function's setting, within OCI's bounds."""
    low, high = DETACHED_TIMEOUT_BOUNDS
    value = int(function.get("detachedModeTimeoutInSeconds") or function.get("timeoutInSeconds", 30))
    return max(low, min(high, value))


def function_resource(function: Mapping[str, Any], endpoint: str) -> dict[str, Any]:
    """GetFunction's Function (no `config` values beyond what the topology holds)."""
    return {
        "id": function["id"],
        "displayName": function.get("name", ""),
        "lifecycleState": "ACTIVE",
        "applicationId": function.get("applicationId"),
        "compartmentId": function.get("compartmentId"),
        "sourceDetails": {
            "sourceType": "CONTAINER_IMAGE",
            "image": function.get("image", f"ocisim.local/{function.get('name', 'function')}:local"),
            "imageDigest": function.get("imageDigest"),
        },
        "shape": function.get("shape", "GENERIC_X86"),
        "memoryInMBs": int(function.get("memoryInMBs", 128)),
        "config": dict(function.get("config") or {}),
        "timeoutInSeconds": int(function.get("timeoutInSeconds", 30)),
        "provisionedConcurrencyConfig": provisioned_concurrency(function.get("provisionedConcurrencyConfig")),
        "detachedModeTimeoutInSeconds": detached_timeout(function),
        "failureDestination": None,
        "successDestination": None,
        "traceConfig": {"isEnabled": False},
        "freeformTags": {},
        "definedTags": {},
        "invokeEndpoint": endpoint,
        "timeCreated": function.get("timeCreated", DEFAULT_CREATED),
        "timeUpdated": function.get("timeCreated", DEFAULT_CREATED),
    }


def function_summary(function: Mapping[str, Any], endpoint: str) -> dict[str, Any]:
    """ListFunctions' FunctionSummary: the Function without its configuration."""
    return {k: v for k, v in function_resource(function, endpoint).items() if k != "config"}


def applications(functions: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Every Application the topology's functions name, by OCID."""
    found: dict[str, dict[str, Any]] = {}
    for function in functions.values():
        app_id = function.get("applicationId")
        if app_id and app_id not in found:
            found[app_id] = {
                "id": app_id,
                "compartmentId": function.get("compartmentId"),
                "displayName": function.get("applicationName", DEFAULT_APPLICATION_NAME),
                "lifecycleState": "ACTIVE",
                "config": {},
                "subnetIds": list(function.get("subnetIds", [])),
                "shape": function.get("shape", "GENERIC_X86"),
                "networkSecurityGroupIds": [],
                "syslogUrl": None,
                "traceConfig": {"isEnabled": False, "domainId": None},
                "logging": None,
                "freeformTags": {},
                "definedTags": {},
                "timeCreated": function.get("timeCreated", DEFAULT_CREATED),
                "timeUpdated": function.get("timeCreated", DEFAULT_CREATED),
                "imagePolicyConfig": None,
                "securityAttributes": {},
            }
    return found


def application_summary(application: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in application.items() if k not in ("config", "syslogUrl")}
