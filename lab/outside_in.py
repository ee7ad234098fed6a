"""The outside-in option in an emulator topology: the Health Checks monitor and the alarm that
terraform/outside_in.tf deploys, with terraform's own settings (its locals and its variables'
defaults, read from the .tf files), so the lab and the tests exercise what a deployment gets.

OCI probes the reserved public IP from other clouds; the lab has no internet, so the monitor
targets the lab's floating IP from the client namespace (the internet's stand-in), and the
emulator only ever probes loopback and lab addresses.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import hcl2

TERRAFORM_DIR = Path(__file__).resolve().parents[1] / "terraform"
MONITOR_ID = "ocid1.httpmonitor.oc1..aaaaaaaaoutsideinmonitorofthetwonodetopology0000000000"
ALARM_ID = "ocid1.alarm.oc1.iad.aaaaaaaaoutsideinalarmofthetwonodetopology00000000000000"
DISPLAY_NAME = "vip-failover-outside-in"


def _literal(value: Any) -> Any:
    """python-hcl2 keeps a string literal's quotes and escapes ('"a \\"b\\""'): the string itself."""
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1].replace('\\"', '"')
    return value


def terraform_settings(terraform_dir: Path = TERRAFORM_DIR) -> dict[str, Any]:
    """`local.outside_in` (its literal entries) and the outside_in_* variables' defaults."""
    with (terraform_dir / "outside_in.tf").open() as handle:
        parsed = hcl2.load(handle)
    local = next(item["outside_in"] for item in parsed["locals"] if "outside_in" in item)
    settings = {key: _literal(value) for key, value in local.items() if not str(value).startswith("${")}
    for name in ("port", "path", "interval_seconds", "vantage_points"):
        settings[name] = variable_default(f"outside_in_{name}", terraform_dir)
    settings["vantage_points"] = [_literal(v) for v in settings["vantage_points"]]
    return settings


def variable_default(name: str, terraform_dir: Path = TERRAFORM_DIR) -> Any:
    """The default of terraform's variable `name` (variables.tf), so the lab deploys what a
    terraform.tfvars without it deploys."""
    with (terraform_dir / "variables.tf").open() as handle:
        variables = {_literal(key): body for item in hcl2.load(handle)["variable"] for key, body in item.items()}
    return _literal(variables[name]["default"])


def with_outside_in(
    topology: dict[str, Any], target: str, *, port: int | None = None, vantage_netns: str | None = None
) -> dict[str, Any]:
    """`topology` plus the monitor of `target` and its alarm to the node alarms' topic; the
    function's ALARM_IDS name the alarm, as terraform's functions.tf does with the option on."""
    spec = terraform_settings()
    out = copy.deepcopy(topology)
    compartment, topic = out["compartments"][0]["id"], out["topics"][0]["topicId"]
    out["healthChecks"] = {
        "httpMonitors": [
            {
                "id": MONITOR_ID,
                "compartmentId": compartment,
                "displayName": DISPLAY_NAME,
                "targets": [target],
                "protocol": "HTTP",
                "port": spec["port"] if port is None else port,
                "path": spec["path"],
                "method": "GET",
                "intervalInSeconds": spec["interval_seconds"],
                "timeoutInSeconds": spec["timeout_in_seconds"],
                "vantagePointNames": spec["vantage_points"],
            }
        ],
        **({"vantageNetns": vantage_netns} if vantage_netns else {}),
    }
    out["alarms"].append(
        {
            "id": ALARM_ID,
            "displayName": DISPLAY_NAME,
            "compartmentId": compartment,
            "metricCompartmentId": compartment,
            "namespace": spec["namespace"],
            "query": spec["query_format"] % MONITOR_ID,
            "resolution": "1m",
            "pendingDuration": spec["pending_duration"],
            "severity": spec["severity"],
            "body": spec["body"],
            "isNotificationsPerMetricDimensionEnabled": True,
            "messageFormat": "RAW",
            "destinations": [topic],
            "repeatNotificationDuration": "PT5M",
            "isEnabled": True,
        }
    )
    for function in out.get("functions", []):
        ids = [i for i in function["config"].get("ALARM_IDS", "").split(",") if i]
        function["config"]["ALARM_IDS"] = ",".join([*ids, ALARM_ID])
    return out
