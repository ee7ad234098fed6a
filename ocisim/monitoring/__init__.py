"""Emulated OCI Monitoring: PostMetricData, SummarizeMetricsData and alarms.

Pure parts: ``mql`` (the MQL subset, lark), ``evaluate`` (aggregation), ``alarms`` (OCI's alarm
states and transitions), ``messages`` (OCI's alarm message JSON).
"""
