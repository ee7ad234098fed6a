"""Failover events: the function tells every move and refused move on the events topic and as a
metric, through the real SDK into the emulator, and an event never delays or fails a move."""

from __future__ import annotations

import json
import time

import oci

from failover.announce import EVENTS_NAMESPACE, event_for
from tests.support.topology import FUNCTION, VNICS

EVENTS_TOPIC = FUNCTION["config"]["EVENTS_TOPIC_ID"]
COMPARTMENT = FUNCTION["config"]["COMPARTMENT_ID"]
NOTICE = {"source": "keepalived", "node": "node-b", "state": "MASTER"}


def _messages(fn, topic_id=EVENTS_TOPIC):
    return fn.emu.published(topic_id)


def _metric_total(fn, name):
    config = oci.config.from_file(fn.emu.oci_config_file, fn.emu.oci_profile)
    client = oci.monitoring.MonitoringClient(config, service_endpoint=fn.emu.endpoint)
    now = fn.emu.clock.now()
    details = oci.monitoring.models.SummarizeMetricsDataDetails(
        namespace=EVENTS_NAMESPACE,
        query=f"{name}[1m].sum()",
        start_time=oci.util.datetime.datetime.fromtimestamp(now - 600, oci.util.datetime.timezone.utc),
        end_time=oci.util.datetime.datetime.fromtimestamp(now + 120, oci.util.datetime.timezone.utc),
    )
    data = client.summarize_metrics_data(COMPARTMENT, details).data
    return {tuple(sorted(d.dimensions.items())): sum(p.value for p in d.aggregated_datapoints) for d in data}


def test_a_move_is_told_on_the_events_topic_and_as_a_metric(start_function, nodes):
    fn = start_function()
    nodes["node-a"].state = "down"
    moved = fn.invoke(NOTICE)
    assert moved["decision"] == "moved" and fn.holder_vnic() == VNICS["node-b"]
    [message] = _messages(fn)
    assert message["title"] == "VIP 10.0.0.4 moved node-a -> node-b"
    body = json.loads(message["body"])
    assert (body["event"], body["from"], body["to"]) == ("moved", "node-a", "node-b")
    assert body["asked_by"] == "keepalived node-b MASTER" and "node-a is down" in body["why"]
    assert body["elapsed_ms"] >= 0
    totals = _metric_total(fn, "failover_moves")
    assert totals == {(("from", "node-a"), ("outcome", "moved"), ("to", "node-b"), ("vip", "10.0.0.4")): 1.0}
    # Nothing was sent to the alarms' topic, whose subscriber is the function itself.
    assert _messages(fn, FUNCTION["config"]["ALARM_IDS"]) == []


def test_a_refused_needed_move_is_told_too(start_function, nodes):
    fn = start_function()
    nodes["node-a"].state = nodes["node-b"].state = "down"
    refused = fn.invoke(NOTICE)
    assert refused["decision"] == "refused" and fn.writes() == []
    [message] = _messages(fn)
    assert "refused" in message["title"] and json.loads(message["body"])["event"] == "refused"
    assert list(_metric_total(fn, "failover_refused").values()) == [1.0]


def test_a_slow_or_failing_events_service_never_delays_or_fails_the_move(start_function, nodes):
    fn = start_function()
    fn.emu.set_latency("PublishMessage", 20.0)
    fn.emu.inject_fault("PostMetricData", status=500, count=5)
    nodes["node-a"].state = "down"
    started = time.monotonic()
    moved = fn.invoke(NOTICE)
    assert moved["decision"] == "moved" and moved["ok"] and fn.holder_vnic() == VNICS["node-b"]
    assert time.monotonic() - started < 10.0  # the 20 s PublishMessage was not waited for
    assert _metric_total(fn, "failover_moves") == {}


def test_which_answers_are_events():
    base = {"ip_address": "10.0.0.4", "vips": [{"private_ip_id": "p", "from": "node-a"}], "reason": "r"}
    assert event_for({**base, "decision": "moved", "target": "node-b"}, 0.0).kind == "moved"
    assert event_for({**base, "decision": "would_move", "dry_run": True}, 0.0) is None
    assert event_for({**base, "decision": "no_change"}, 0.0) is None
    assert event_for({**base, "decision": "paused", "target": None}, 0.0) is None
    assert event_for({**base, "decision": "paused", "target": "node-b"}, 0.0).kind == "refused"
    assert event_for({**base, "decision": "failed", "target": "node-b"}, 0.0).kind == "failed"


def test_an_event_names_every_address_and_what_a_partial_move_left_behind():
    vips = [
        {"private_ip_id": "p1", "ip_address": "10.0.0.4", "from": "node-a"},
        {"private_ip_id": "p2", "ip_address": "10.0.0.5", "from": "node-a"},
        {"private_ip_id": "ocid1.ipv6.x", "ip_address": "fd00:10:0:1::4", "from": "node-a"},
    ]
    answer = {"decision": "partial", "ip_address": "10.0.0.4", "target": "node-b", "reason": "r", "vips": vips}
    event = event_for({**answer, "moved": ["p1", "ocid1.ipv6.x"], "not_moved": ["p2"]}, 0.0)
    body = json.loads(event.body())
    assert body["addresses"] == ["10.0.0.4", "10.0.0.5", "fd00:10:0:1::4"]
    assert (body["moved"], body["not_moved"]) == (["p1", "ocid1.ipv6.x"], ["p2"])
    assert event.title == "VIP 10.0.0.4 partly moved node-a -> node-b: 1 of 3 VIPs did not move"


class _Hangs:
    """A client whose calls block far longer than any invocation may wait (a hostile peer)."""

    def __init__(self) -> None:
        import threading

        self.release = threading.Event()

    def post_metric_data(self, *args, **kwargs):
        self.release.wait(30)

    def publish_message(self, *args, **kwargs):
        raise RuntimeError("refused")


def test_an_announcer_never_raises_and_never_waits_past_its_bound():
    from failover.announce import Announcer, FailoverEvent

    event = FailoverEvent("moved", "10.0.0.4", ("p",), "node-a", "node-b", "why", "manual failover", 5, 0.0)

    def broken():
        raise RuntimeError("no credentials")

    Announcer("ocid1.onstopic.oc1.iad.x", "ocid1.compartment.oc1..x", broken).post(event, 1.0)
    hangs = _Hangs()
    started = time.monotonic()
    Announcer("ocid1.onstopic.oc1.iad.x", "ocid1.compartment.oc1..x", lambda: (hangs, hangs)).post(event, 0.5)
    assert time.monotonic() - started < 2.0
    hangs.release.set()
