"""Rule 4b through the real function: fdk over its socket in the emulator, the events function
invoked with the real SDK, node health from the agent's own answer (tests/support/health_servers).

After keepalived is SIGKILLed on the holder the alias stays (it serves on) and the peer becomes
MASTER: its notice must move the IP to the peer, once, and change nothing while the holder's
keepalived runs."""

import json

from tests.support.topology import VNICS

MASTER_B = {"source": "keepalived", "node": "node-b", "state": "MASTER"}


def test_a_master_notice_moves_the_ip_off_a_holder_whose_keepalived_was_killed_exactly_once(start_function, nodes):
    fn = start_function()
    split = fn.invoke(MASTER_B)  # both keepalived run: split brain, the VIP stays
    assert (split["decision"], split["code"]) == ("no_change", None) and "split brain" in split["reason"]
    assert fn.writes() == []

    nodes["node-a"].keepalived = False  # SIGKILLed: node-a keeps the alias and serves on
    moved = fn.invoke(MASTER_B)
    assert (moved["decision"], moved["from"], moved["to"]) == ("moved", "node-a", "node-b")
    assert moved["code"] == "holder_unmanaged" and moved["ok"] is True and moved["forced"] is False
    assert "keepalived does not run" in moved["reason"] and moved["health"]["node-a"]["health"] == "healthy"
    assert fn.holder_vnic() == VNICS["node-b"]

    again = fn.invoke(MASTER_B)  # a second delivery of the notice: node-b holds and its keepalived runs
    assert again["decision"] == "no_change" and again["from"] == "node-b"
    assert len(fn.writes()) == 1

    log = [json.loads(line) for line in fn.emu.function_log(fn.function_id).read_text().splitlines() if line[:1] == "{"]
    [decision] = [e for e in log if e["event"] == "decision" and e["action"] == "move"]
    assert decision["code"] == "holder_unmanaged" and decision["level"] == "info" and "alert" not in decision


def test_no_managed_peer_and_an_agent_that_does_not_say_leave_the_ip_where_it_is(start_function, nodes):
    fn = start_function()
    nodes["node-a"].keepalived = False
    nodes["node-b"].keepalived = None  # an older agent: not known to run
    stays = fn.invoke(MASTER_B)
    assert stays["decision"] == "no_change" and "no healthy node whose keepalived runs" in stays["reason"]
    nodes["node-a"].keepalived = None
    nodes["node-b"].keepalived = True
    assert "split brain" in fn.invoke(MASTER_B)["reason"]  # the holder's agent does not say: as before
    assert fn.writes() == []
