"""The outside-in alarm through the real FunctionsInvokeClient: the function re-checks the holder,
its probe and the public IP's attachment with real SDK calls to the emulator, refuses loudly when
everything holds, and repairs what its own probe finds wrong."""

import json
import time

from tests.support.function_emulator import ALARM_IDS
from tests.support.paths import ALARM_FIXTURES
from tests.support.topology import VNICS, two_node

RECORDED = ALARM_FIXTURES / "ocisim-outside-in-split-v1.5.json"
OUTSIDE_ALARM = json.loads(RECORDED.read_text())["alarmMetaData"][0]["id"]
WITH_OUTSIDE_IN = f"{ALARM_IDS},{OUTSIDE_ALARM}"


def outside_in(kind: str = "OK_TO_FIRING") -> dict:
    """The recorded outside-in message, as if evaluated just now."""
    return {**json.loads(RECORDED.read_text()), "type": kind, "timestampEpochMillis": int(time.time() * 1000)}


def test_everything_holds_so_the_function_refuses_and_says_where_to_look(start_function, nodes):
    fn = start_function(ALARM_IDS=WITH_OUTSIDE_IN)

    answer = fn.invoke(outside_in())

    assert (answer["decision"], answer["code"], answer["from"], answer["to"]) == (
        "refused",
        "outside_unreachable",
        "node-a",
        "node-a",
    )
    assert "every check holds" in answer["reason"] and "public IP 203.0.113.10 attached" in answer["reason"]
    assert answer["health"]["node-a"]["health"] == "healthy"
    assert fn.writes() == [] and fn.holder_vnic() == VNICS["node-a"]


def test_the_holders_own_probe_down_moves_the_ip(start_function, nodes):
    fn = start_function(ALARM_IDS=WITH_OUTSIDE_IN)
    nodes["node-a"].state = "down"

    answer = fn.invoke(outside_in("REPEAT"))

    assert (answer["decision"], answer["from"], answer["to"], answer["code"]) == ("moved", "node-a", "node-b", None)
    assert fn.holder_vnic() == VNICS["node-b"] and len(fn.writes()) == 1


def test_a_detached_public_ip_is_refused_as_such(start_function, nodes, tmp_path):
    topology = two_node()
    topology["publicIps"] = []  # the reserved public IP unassigned by hand
    path = tmp_path / "detached.json"
    path.write_text(json.dumps(topology))
    fn = start_function(topology=path, ALARM_IDS=WITH_OUTSIDE_IN)

    answer = fn.invoke(outside_in())

    assert (answer["decision"], answer["code"], answer["public_ip"]) == ("refused", "public_ip_detached", None)
    assert "re-attach the reserved public IP" in answer["reason"]
    assert fn.writes() == []


def test_an_unlisted_health_checks_alarm_is_no_outside_in_alarm(start_function, nodes):
    fn = start_function()  # ALARM_IDS without the outside-in alarm

    answer = fn.invoke(outside_in())

    assert (answer["decision"], answer["code"]) == ("no_change", None)
    assert fn.writes() == []
