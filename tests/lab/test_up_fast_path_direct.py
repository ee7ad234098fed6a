"""`lab up` as it is, in terraform's default fast_path_mode, "direct": the booted lab deployed as
terraform deploys that mode (the nodes' IAM grants, their agents' fast_path_direct, the host
firewall's rule for the peers' probes), so a node's agent moves the floating IP itself with its
instance principal and no function is called. A lab of the module's own (the session's runs
the function mode, tests/support/booted_lab.py); sorts after test_teardown.py, when the
session's booted lab is down."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from lab import cloud, control, machines, network, sources, trial, userdata
from lab.plan import ENDPOINT_PORT
from lab.state import LabState
from tests.lab.test_booted import connect
from tests.support.booted_lab import invoking_principals
from tests.support.module_lab import own_lab

pytestmark = [pytest.mark.lab, pytest.mark.timeout(900)]

TRIAL_TIMEOUT_SECONDS = 20.0


@pytest.fixture(scope="module")
def direct_lab() -> Iterator[tuple[LabState, dict[str, Any]]]:
    yield from own_lab()


def moves_after(state: LabState, seq: int) -> list[dict[str, Any]]:
    """UpdatePrivateIp calls the emulator applied after audit entry `seq`, who made them included."""
    return [e for e in cloud.audit(state.emulator["endpoint"], after=seq) if e["operation"] == "UpdatePrivateIp"]


def last_seq(state: LabState) -> int:
    return max((e["seq"] for e in cloud.audit(state.emulator["endpoint"])), default=0)


def test_each_node_runs_the_direct_agent_config_terraform_renders_pointed_at_the_emulator(
    direct_lab: tuple[LabState, dict[str, Any]], tmp_path: Path
) -> None:
    state, info = direct_lab
    plan = state.plan
    assert info["fast_path_mode"] == "direct" and info["booted"]
    location = cloud.node_config_location(state.emulator, cloud.running_topology(plan))
    rendered = userdata.render(tmp_path, plan, control.nodes_cloud(state), sources.urls(plan), location)
    for node in plan.nodes:
        on_node = (machines.root(plan, node) / "etc" / "oci-vip-failover" / "node-agent.yaml").read_text()
        assert on_node == rendered[node.name].node_agent_yaml
        direct = yaml.safe_load(on_node)["fast_path_direct"]
        assert direct["OCI_SERVICE_ENDPOINT"] == state.emulator["endpoint"]
        assert direct["ROLE"] == "events" and "EVENTS_TOPIC_ID" not in direct
        assert "169.254" not in on_node


def test_each_nodes_agent_answers_its_peers_probes(direct_lab: tuple[LabState, dict[str, Any]]) -> None:
    plan = direct_lab[0].plan
    for node in plan.nodes:
        assert connect(plan.peer(node).netns, node, ENDPOINT_PORT) == "open"


def node_invokes(result: trial.TrialResult) -> list[str]:
    """The function calls a node made during the trial: none in direct mode. (Notifications may
    still invoke it on the alarm path: the outside-in monitor sees the VIP dark for a moment.)"""
    return [p for p in invoking_principals(result.emulator_log) if p.startswith("ocid1.instance.")]


def test_haproxy_stopped_on_the_holder_moves_the_ip_with_a_nodes_instance_principal_and_no_function(
    direct_lab: tuple[LabState, dict[str, Any]],
) -> None:
    """The peer's MASTER notice and the holder's FAULT notice (rule 4a: it asks to be relieved)
    both run the function's core on their node: whichever reads first writes, once, with its
    node's instance principal."""
    state, _ = direct_lab
    trial.put_vip_on(state, "node-a", TRIAL_TIMEOUT_SECONDS)
    seq = last_seq(state)

    result = trial.run_trial(state, "haproxy-stop", timeout=TRIAL_TIMEOUT_SECONDS)

    assert result.from_node == "node-a"
    assert result.failover_s is not None, "the client never got an answer from node-b"
    assert cloud.vip_holder(state.emulator, state.facts) == "node-b"
    assert network.alias_holders(state.plan) == ["node-b"]
    assert node_invokes(result) == []
    (write,) = moves_after(state, seq)
    assert write["after"]["vnicId"] == state.facts.vnic_ids["node-b"]
    assert write["principal"]["kind"] == "instance"
    writer = {ocid: name for name, ocid in state.facts.instance_ids.items()}[write["principal"]["id"]]
    print(f"\nhaproxy-stop: node-b answered after {result.failover_s:.3f} s; the move was written by {writer}")


def test_a_crashed_holder_is_relieved_by_the_peers_own_instance_principal(
    direct_lab: tuple[LabState, dict[str, Any]],
) -> None:
    state, _ = direct_lab
    trial.put_vip_on(state, "node-a", TRIAL_TIMEOUT_SECONDS)
    seq = last_seq(state)

    result = trial.run_trial(state, "crash", timeout=TRIAL_TIMEOUT_SECONDS)

    assert result.failover_s is not None, "the client never got an answer from node-b"
    assert cloud.vip_holder(state.emulator, state.facts) == "node-b"
    assert node_invokes(result) == []
    (write,) = moves_after(state, seq)
    assert write["principal"] == {**write["principal"], "kind": "instance", "id": state.facts.instance_ids["node-b"]}
    control.heal(state.plan)
