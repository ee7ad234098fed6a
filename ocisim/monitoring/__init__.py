"""Emulated OCI Monitoring: PostMetricData, SummarizeMetricsData, GetAlarm, GetAlarmHistory, and
the alarms of the topology evaluated once per emulated minute.

Pure parts: ``mql`` (the MQL subset, lark), ``evaluate`` (aggregation), ``alarms`` (OCI's alarm
states and transitions), ``messages`` (OCI's alarm message JSON). Shell: ``models`` (state and
PostMetricData rules), ``handlers``/``routes`` (wire format), ``evaluator`` (the minute loop that
hands messages to Notifications).
"""

from ocisim.monitoring.evaluator import start, stop
from ocisim.monitoring.models import MonitoringState, seed
from ocisim.monitoring.routes import ROUTES
from ocisim.service import Service

SERVICE = Service(
    name="monitoring",
    routes=ROUTES,
    seed=seed,
    load=MonitoringState.from_json,
    dump=MonitoringState.to_json,
    start=start,
    stop=stop,
    depends_on=("notifications",),
)
