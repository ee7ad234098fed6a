"""Notifications delivery: OCI's retry schedule, and a failing function retried until it answers."""

from __future__ import annotations

import json
from datetime import datetime

import oci

from ocisim.notifications.delivery import retry_delays
from tests.support.alarm_path import AlarmPath


def test_retries_back_off_from_immediately_to_32_minutes_within_two_hours() -> None:
    delays = retry_delays()
    assert delays[:7] == [0, 60, 120, 240, 480, 960, 1920] and set(delays[7:]) == {1920}
    assert sum(delays) <= 2 * 3600 < sum(delays) + 1920


def test_a_failing_function_is_retried_until_it_answers(alarm_path) -> None:
    path: AlarmPath = alarm_path()
    path.emu.inject_fault("InvokeFunction", status=500, code="InternalServerError", count=2)
    topic = path.emu.topology["topics"][0]["topicId"]
    ons = oci.ons.NotificationDataPlaneClient(
        oci.config.from_file(path.emu.oci_config_file), service_endpoint=path.emu.endpoint
    )
    message_id = ons.publish_message(
        topic, oci.ons.models.MessageDetails(title="status", body=json.dumps({"action": "status"}))
    ).data.message_id

    def attempts() -> list[dict]:
        return [d for d in path.deliveries() if d["messageId"] == message_id]

    path.wait_for("a successful delivery", lambda: any(d["status"] == 200 for d in attempts()))
    tries = attempts()
    assert [(d["attempt"], d["status"]) for d in tries] == [(1, 500), (2, 500), (3, 200)]
    times = [datetime.fromisoformat(d["time"].replace("Z", "+00:00")).timestamp() for d in tries]
    assert times[1] - times[0] < 30 <= 60 <= times[2] - times[1] < 150  # immediately, then after 1 minute
    assert json.loads(tries[-1]["response"])["ok"] is True
