"""The emulator's topology alarms are the ones terraform deploys: both read health_probe/metrics.json."""

from __future__ import annotations

from health_probe.names import NAMES
from ocisim.monitoring.mql import parse
from tests.support.topology import two_node


def test_topology_alarms_match_the_names_file() -> None:
    topology = two_node()
    by_name = {a["displayName"]: a for a in topology["alarms"]}
    assert set(by_name) == {a.display_name for a in NAMES.alarms}
    topic_ids = {t["topicId"] for t in topology["topics"]}
    for alarm in NAMES.alarms:
        deployed = by_name[alarm.display_name]
        assert (
            deployed["query"],
            deployed["pendingDuration"],
            deployed["repeatNotificationDuration"],
            deployed["severity"],
            deployed["body"],
        ) == (alarm.query, alarm.pending_duration, alarm.repeat_notification_duration, alarm.severity, alarm.body)
        assert (
            deployed["namespace"],
            deployed["resolution"],
            deployed["messageFormat"],
            deployed["isNotificationsPerMetricDimensionEnabled"],
        ) == (NAMES.namespace, NAMES.resolution, NAMES.message_format, NAMES.split_notifications)
        assert set(deployed["destinations"]) <= topic_ids
        query = parse(alarm.query)
        assert query.metric == NAMES.metric_up and query.group_by == (NAMES.dim_target, NAMES.dim_resource_id)
    function_ids = {f["id"] for f in topology["functions"]}
    assert {(s["protocol"], s["endpoint"] in function_ids) for s in topology["subscriptions"]} == {
        ("ORACLE_FUNCTIONS", True)
    }
