"""node-a's health endpoint fails → the probes report it → the alarm fires after its pending
duration → Notifications invokes the real function under fdk → the floating IP moves to node-b.
Clock scaled 60x: one emulated minute per wall second."""

from __future__ import annotations

import json
from datetime import datetime

import oci

from health_probe.names import NAMES
from tests.support.alarm_path import AlarmPath

OK_TO_FIRING, FIRING_TO_OK = "OK_TO_FIRING", "FIRING_TO_OK"
NODE_DOWN = next(a for a in NAMES.alarms if a.key == "node_down")


def emulated(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def fail_node_a(path: AlarmPath) -> tuple[float, float, float]:
    """Take node-a's health endpoint down; returns (fault, alarm FIRING, IP moved) emulated times."""
    path.wait_emulated(120)  # both agents reporting, alarm evaluated OK
    assert path.holder() == "node-a" and path.deliveries() == []
    path.servers["node-a"].healthy = False
    fault = path.emu.clock.now()
    path.wait_for("the VIP on node-b", lambda: path.holder() == "node-b")
    (firing,) = path.wait_for("the function's answer", lambda: path.delivered(OK_TO_FIRING, "node-a"))
    (move,) = path.moves()
    fired = firing["request"]["timestampEpochMillis"] / 1000
    detection, to_move = (fired - fault) / 60, (emulated(move["time"]) - fault) / 60
    print(f"\nalarm path: fault→FIRING {detection:.2f} emulated min, fault→IP moved {to_move:.2f} emulated min")
    # a whole minute of failed probes (the last good one may predate the fault by a probe interval),
    # evaluated at the next minute boundary with PT1M pending: 1-2 minutes, slack for a busy machine
    assert 0.75 <= detection <= 4
    return fault, fired, emulated(move["time"])


def test_node_down_moves_the_ip_and_failback_never_keeps_it(alarm_path) -> None:
    path = alarm_path(FAILBACK_POLICY="never")
    fail_node_a(path)
    # what an operator sees in the Console / SDK: the alarm as deployed and its history
    monitoring = oci.monitoring.MonitoringClient(
        oci.config.from_file(path.emu.oci_config_file), service_endpoint=path.emu.endpoint
    )
    alarm_id = path.delivered(OK_TO_FIRING, "node-a")[0]["request"]["alarmMetaData"][0]["id"]
    alarm = monitoring.get_alarm(alarm_id).data
    assert (alarm.display_name, alarm.query) == (NODE_DOWN.display_name, NODE_DOWN.query)
    assert any(e.summary.startswith(OK_TO_FIRING) for e in monitoring.get_alarm_history(alarm_id).data.entries)

    path.servers["node-a"].healthy = True  # node-a comes back: FIRING_TO_OK
    path.wait_for("FIRING_TO_OK for node-a", lambda: path.delivered(FIRING_TO_OK, "node-a"))
    path.wait_emulated(120)
    assert path.holder() == "node-b" and len(path.moves()) == 1

    # a duplicate of the OK_TO_FIRING message (Notifications is at least once) moves nothing
    (original,) = path.delivered(OK_TO_FIRING, "node-a")
    ons = oci.ons.NotificationDataPlaneClient(
        oci.config.from_file(path.emu.oci_config_file), service_endpoint=path.emu.endpoint
    )
    topic = original["topicId"]
    seen = len(path.deliveries())
    ons.publish_message(topic, oci.ons.models.MessageDetails(body=json.dumps(original["request"])))
    (duplicate,) = path.wait_for("the duplicate delivered", lambda: path.delivered(OK_TO_FIRING, "node-a", seen))
    assert path.holder() == "node-b" and len(path.moves()) == 1
    assert json.loads(duplicate["response"])["decision"] == "no_change"


def test_both_nodes_down_the_ip_stays_and_the_function_says_why(alarm_path) -> None:
    path = alarm_path(FAILBACK_POLICY="never")
    fail_node_a(path)
    path.servers["node-b"].healthy = False
    (answer,) = path.wait_for("node-b's alarm delivered", lambda: path.delivered(OK_TO_FIRING, "node-b"))
    assert path.holder() == "node-b" and len(path.moves()) == 1
    reply = json.loads(answer["response"])
    assert reply["decision"] == "refused" and "no healthy node" in reply["reason"]


def test_failback_preferred_moves_back_after_the_cooldown(alarm_path) -> None:
    path = alarm_path(FAILBACK_POLICY="preferred", COOLDOWN_SECONDS="1")
    fail_node_a(path)
    # The function's cooldown runs on wall time (1 s here), the alarm on emulated time: stay
    # down for 3 emulated minutes (3 wall seconds) so node-a's recovery comes after it.
    path.wait_emulated(180)
    path.servers["node-a"].healthy = True
    path.wait_for("the VIP back on node-a", lambda: path.holder() == "node-a")
    (recovered,) = path.wait_for("the function's answer", lambda: path.delivered(FIRING_TO_OK, "node-a"))
    assert len(path.moves()) == 2
    assert json.loads(recovered["response"])["decision"] == "moved"


def test_silent_agents_fire_the_absence_alarm_and_a_healthy_holder_stays(alarm_path) -> None:
    path = alarm_path()
    path.wait_emulated(120)
    path.close()  # both agents stop reporting; the nodes stay healthy
    absent = next(a for a in NAMES.alarms if a.key == "node_absent")

    def absence_messages() -> list[dict]:
        return [d for d in path.deliveries() if d["status"] == 200 and d["request"]["title"] == absent.display_name]

    delivered = path.wait_for("both nodes reported absent", lambda: len(absence_messages()) >= 2 and absence_messages())
    assert {d["request"]["alarmMetaData"][0]["dimensions"][0]["node"] for d in delivered} == {"node-a", "node-b"}
    assert path.holder() == "node-a" and path.moves() == []


def test_repeat_while_firing_repairs_a_vip_put_back_on_the_dead_node(alarm_path) -> None:
    path = alarm_path(FAILBACK_POLICY="never")
    fail_node_a(path)
    # someone (a stale script, a console click) puts the VIP back on node-a, which is still down
    path.network.update_private_ip(path.vip_id, oci.core.models.UpdatePrivateIpDetails(vnic_id=path.vnics["node-a"]))
    assert path.holder() == "node-a"
    (repeat,) = path.wait_for("a REPEAT about node-a", lambda: path.delivered("REPEAT", "node-a"))
    assert json.loads(repeat["response"])["decision"] == "moved" and path.holder() == "node-b"
