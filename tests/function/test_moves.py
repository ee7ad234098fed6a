"""When a decision made on a remembered read (the direct fast path's) must be taken again on a
fresh one: whenever no write's etag would check that read (pure)."""

from __future__ import annotations

import dataclasses

import pytest

from failover.decide import Action, Decision
from failover.moves import _unguarded
from failover.network import VipState
from tests.support.function_env import config

CONFIG = config()
NODE_A, NODE_B = CONFIG.nodes[0], CONFIG.nodes[1]
MOVE_TO_B = Decision(Action.MOVE, NODE_B.name, "holder node-a is down")
STAY = Decision(Action.STAY, NODE_A.name, "holder node-a is healthy")


def vip(on: str, remembered: bool, n: int = 1) -> VipState:
    return VipState(f"ocid1.privateip.oc1..vip{n}", f"10.0.0.{n}", on, False, f"etag-{n}", remembered=remembered)


@pytest.mark.parametrize("decision", [STAY, Decision(Action.REFUSE, None, "no healthy node")])
def test_a_decision_to_write_nothing_is_taken_again_on_a_fresh_read(decision: Decision) -> None:
    assert _unguarded([vip(NODE_A.vnic_id, True)], decision, False, CONFIG)
    assert not _unguarded([vip(NODE_A.vnic_id, False)], decision, False, CONFIG)


def test_a_dry_run_writes_nothing_either() -> None:
    assert _unguarded([vip(NODE_A.vnic_id, True)], MOVE_TO_B, True, CONFIG)


def test_a_move_whose_every_vip_is_written_rests_on_the_etags() -> None:
    group = [vip(NODE_A.vnic_id, True, 1), vip(NODE_A.vnic_id, True, 2)]
    assert not _unguarded(group, MOVE_TO_B, False, CONFIG)


def test_a_vip_skipped_as_already_on_the_target_is_read_again() -> None:
    """It would not be written, so no etag checks that it really is on the target."""
    group = [vip(NODE_A.vnic_id, True, 1), vip(NODE_B.vnic_id, True, 2)]
    assert _unguarded(group, MOVE_TO_B, False, CONFIG)
    assert not _unguarded([group[0], dataclasses.replace(group[1], remembered=False)], MOVE_TO_B, False, CONFIG)
