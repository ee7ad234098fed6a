"""A valid function environment and the recorded fixtures, for the function's pure tests (no I/O)."""

from __future__ import annotations

import json

from failover.config import Config
from tests.support.paths import REPO

FIXTURES = REPO / "tests" / "function" / "fixtures"
VIP = "ocid1.privateip.oc1.iad.abuwcljrvip"
VNIC_A = "ocid1.vnic.oc1.iad.abuwcljrnodea"
VNIC_B = "ocid1.vnic.oc1.iad.abuwcljrnodeb"
# The alarm of the recorded fixtures: the deployment's own (ALARM_IDS), so its streams are evidence.
RECORDED_ALARM_ID = "ocid1.alarm.oc1.iad.aaaaaaaavipfailovernodedown"


def env(**overrides: str) -> dict[str, str]:
    """A valid function environment; keyword arguments replace keys (None removes one)."""
    base = {
        "VIP_PRIVATE_IP_IDS": VIP,
        "NODES": json.dumps(
            [
                {"name": "node-a", "vnic_id": VNIC_A, "health_url": "http://127.0.0.1:1/healthz", "priority": 100},
                {"name": "node-b", "vnic_id": VNIC_B, "health_url": "http://127.0.0.1:2/healthz", "priority": 50},
            ]
        ),
        "ALARM_IDS": RECORDED_ALARM_ID,
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def config(**overrides: str) -> Config:
    return Config.from_env(env(**overrides))


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()
