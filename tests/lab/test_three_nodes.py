"""`lab up --nodes 3`: the ordinary single-VIP topology with a third node the lab derives, as
host processes (one lab for the module, a few seconds to start). Sorts after test_teardown.py,
when the session's booted lab is down."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from lab import cloud, control, network, trial
from lab.state import LabState
from tests.support.module_lab import own_lab

pytestmark = [pytest.mark.lab, pytest.mark.timeout(300)]


@pytest.fixture(scope="module")
def three_nodes() -> Iterator[tuple[LabState, dict[str, Any]]]:
    yield from own_lab(booted=False, nodes=3)


def test_up_lists_all_three_nodes_and_node_a_serves(three_nodes: tuple[LabState, dict[str, Any]]) -> None:
    state, info = three_nodes
    assert list(info["nodes"]) == ["node-a", "node-b", "node-c"]
    assert info["vip"] == "198.18.0.4" and info["topology"] == "two-node"
    assert info["nodes"]["node-c"]["ip"] == state.plan.node("node-c").ip
    assert "Hello from node-a" in control.client_get(state.plan)
    assert cloud.vip_holder(state.emulator, state.facts) == "node-a"


def test_a_crashed_backup_moves_nothing(three_nodes: tuple[LabState, dict[str, Any]]) -> None:
    state, _ = three_nodes
    plan = state.plan
    control.fault("node-c", "crash", plan)
    control.wait_for(lambda: not control.notify_running(plan), 10, "notices to finish")
    assert "Hello from node-a" in control.client_get(plan)
    assert cloud.vip_holder(state.emulator, state.facts) == "node-a"
    assert network.alias_holders(plan) == ["node-a"]
    control.heal(plan)


def test_a_crashed_holder_hands_the_ip_to_the_next_priority_node(three_nodes: tuple[LabState, dict[str, Any]]) -> None:
    state, _ = three_nodes
    plan = state.plan
    trial.wait_steady(plan)

    result = trial.run_trial(state, "crash", timeout=15)

    assert (result.from_node, result.to_node) == ("node-a", "node-b")
    assert result.failover_s is not None, "the client never got an answer from node-b"
    assert cloud.vip_holder(state.emulator, state.facts) == "node-b"
    assert network.alias_holders(plan) == ["node-b"] and network.vip_route_holder(plan) == plan.node("node-b")
    assert "Hello from node-b" in control.client_get(plan)
