"""Monitoring 20180401 paths as MonitoringClient sends them (PostMetricData goes to the
telemetry-ingestion host in OCI; the emulator serves both on its one endpoint)."""

from ocisim.monitoring import handlers as h
from ocisim.service import Route

BASE = "/20180401"

ROUTES = [
    Route("POST", f"{BASE}/metrics", "PostMetricData", h.post_metric_data),
    Route("POST", f"{BASE}/metrics/actions/summarizeMetricsData", "SummarizeMetricsData", h.summarize_metrics_data),
    Route("GET", f"{BASE}/alarms", "ListAlarms", h.list_alarms),
    Route("GET", f"{BASE}/alarms/status", "ListAlarmsStatus", h.list_alarms_status),
    Route("GET", f"{BASE}/alarms/{{alarmId}}", "GetAlarm", h.get_alarm),
    Route("PUT", f"{BASE}/alarms/{{alarmId}}", "UpdateAlarm", h.update_alarm),
    Route("GET", f"{BASE}/alarms/{{alarmId}}/history", "GetAlarmHistory", h.get_alarm_history),
]
