"""Functions control-plane resources (Function, Application) in the wire shape of API 20260325.

The topology lists functions with their application's OCID; an application is every function
that names it. `invokeEndpoint` is the emulator's own endpoint, so a client that reads it (the
oci CLI's `fn function invoke` does) invokes here and never leaves the machine.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

DEFAULT_APPLICATION_NAME = "vip-failover-app"
DEFAULT_CREATED = "2026-01-01T00:00:00.000Z"
DETACHED_TIMEOUT_BOUNDS = (5, 3600)  # OCI's allowed detached-mode timeout, seconds


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
        "provisionedConcurrencyConfig": function.get("provisionedConcurrencyConfig", {"strategy": "NONE"}),
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
