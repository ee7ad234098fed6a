"""The doctor as an operator runs it, and what the node agents post before it looks."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime

import oci

from health_probe.names import NAMES
from health_probe.points import Point
from health_probe.publish import metric_data
from tests.support.paths import REPO
from tests.support.topology import FUNCTION

COMPARTMENT = FUNCTION["config"]["COMPARTMENT_ID"]


def agents_post(emu, names=("node-a", "node-b")):
    """What the node agents post (health_probe.publish.metric_data, as it ships)."""
    now = datetime.fromtimestamp(emu.clock.now(), UTC)
    points = tuple(
        Point(NAMES.metric_up, (("node", n), ("reporter", "peer"), ("resourceId", n), ("role", "node")), now, 1.0)
        for n in names
    )
    client = oci.monitoring.MonitoringClient(emu.oci_config(), service_endpoint=emu.endpoint)
    details = oci.monitoring.models.PostMetricDataDetails(metric_data=metric_data(points, COMPARTMENT))
    assert client.post_metric_data(details).data.failed_metrics_count == 0


def doctor(emu, path, *flags):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "failover",
            "--env",
            str(path),
            "--config-file",
            emu.oci_config_file,
            "--endpoint",
            emu.endpoint,
            "doctor",
            *flags,
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return result.returncode, result.stdout
