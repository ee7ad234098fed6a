"""The invariant checks on hand-made trial records (pure: no emulator, no clock)."""

from dataclasses import replace

import pytest

from chaos.invariants import (
    INVARIANTS,
    Answer,
    Change,
    Observation,
    VipEnd,
    Write,
    check,
    check_protected,
    keepalived_at,
    protected_after,
    served_throughout,
    serving_at,
)

T0 = 1_000.0
A, B = "node-a", "node-b"


def moved_answer(health_a="down", kind="automatic", evidence=frozenset({A}), **extra):
    body = {
        "ok": True,
        "decision": "moved",
        "from": A,
        "to": B,
        "moved": ["vip"],
        "health": {A: {"health": health_a}, B: {"health": "healthy"}},
        "unverified": [A] if health_a == "unknown" else [],
        **extra,
    }
    return Answer(kind, 200, body, evidence)


def failover(**overrides) -> Observation:
    """node-a fails at T0 and the function moves the IP to node-b 1 s later: every invariant holds."""
    base = Observation(
        fault="test",
        policy="never",
        preferred=A,
        cooldown_s=60.0,
        window_s=2.5,
        onset=T0,
        initial_holder=A,
        final_holder=B,
        listed_on=1,
        writes=(Write(T0 + 1.0, A, B, True, reason="holder node-a is down; node-b is healthy"),),
        answers=(moved_answer(),),
        timeline=(Change(T0 - 5, A, "up", True), Change(T0 - 5, B, "up", True), Change(T0, A, "down", False)),
        failures=1,
        allowed_writes=1,
        budget_s=2.0,
    )
    return replace(base, **overrides)


def broken(verdict) -> list[int]:
    return [n for n, ok in verdict.held.items() if not ok]


def test_a_clean_failover_holds_everything_and_measures_convergence():
    verdict = check(failover())
    assert verdict.ok and verdict.writes == 1 and verdict.convergence_s == pytest.approx(1.0)


def test_timeline_lookups():
    timeline = failover().timeline
    assert serving_at(timeline, A, T0 - 1) and not serving_at(timeline, A, T0 + 1)
    assert serving_at(timeline, B, T0 + 100) and not serving_at(timeline, None, T0)
    assert served_throughout(timeline, B, T0 - 1, T0 + 1) and not served_throughout(timeline, A, T0 - 1, T0 + 1)


def test_one_holder_counts_vnics_and_follows_the_chain():
    assert broken(check(failover(listed_on=2))) == [1]
    lost_update = (Write(T0 + 1, A, B, True), Write(T0 + 1.1, A, B, False))
    assert 1 in broken(check(failover(writes=lost_update, allowed_writes=2)))
    assert 1 in broken(check(failover(final_holder=A)))


def test_moving_to_a_node_that_does_not_serve_is_wrong():
    timeline = failover().timeline + (Change(T0 - 3, B, "down", False),)
    assert 2 in broken(check(failover(timeline=timeline)))
    unchecked = moved_answer(health_a="down")
    unchecked.body["health"][B] = {"health": "unknown"}
    assert 2 in broken(check(failover(answers=(unchecked,))))


def test_an_unverified_target_is_right_only_on_its_own_master_notice():
    """The function may move to a peer it cannot probe when that peer's MASTER notice asked for
    it (the holder probed down); the same move for any other caller is a wrong move."""
    for source, wrong in (
        ("keepalived node-b MASTER", False),
        ("alarm OK_TO_FIRING", True),
        ("keepalived node-a MASTER", True),
    ):
        answer = moved_answer(health_a="down", source=source)
        answer.body["health"][B] = {"health": "unknown"}
        assert (2 in broken(check(failover(answers=(answer,))))) is wrong, source


def test_automatic_move_away_from_a_serving_holder_is_wrong_but_relaxable():
    healthy = (Change(T0 - 5, A, "up", True), Change(T0 - 5, B, "up", True))
    verdict = check(failover(timeline=healthy, failures=0))
    assert 2 in broken(verdict) and verdict.needless_moves == 1
    relaxed = check(failover(timeline=healthy, failures=0, allowed_writes=1), relaxed=[2])
    assert relaxed.ok and relaxed.needless_moves == 1 and any("which was serving" in n for n in relaxed.notes)
    with pytest.raises(ValueError):
        check(failover(), relaxed=[3])


def test_operator_and_failback_moves_away_from_a_serving_holder():
    healthy = (Change(T0 - 5, A, "up", True), Change(T0 - 5, B, "up", True))
    operator = Write(T0 + 1, A, B, True, reason="operator failover to node-b (node-a healthy, node-b healthy)")
    assert check(failover(timeline=healthy, writes=(operator,), answers=(moved_answer("healthy", "manual"),))).held[2]
    # The same record without a command in the trial is not believed.
    assert not check(failover(timeline=healthy, writes=(operator,), answers=(moved_answer("healthy"),))).held[2]
    back = Write(T0 + 1, B, A, True, reason="failback", previous_move_at=T0 - 120)
    preferred = failover(policy="preferred", timeline=healthy, initial_holder=B, final_holder=A, writes=(back,))
    assert check(preferred).held[2]
    assert not check(replace(preferred, writes=(replace(back, previous_move_at=T0 - 10),))).held[
        2
    ]  # inside the cooldown
    forced = Write(T0 + 1, A, B, True, reason="forced failover to node-b by operator")
    assert not check(failover(writes=(forced,))).held[2]
    assert check(failover(writes=(forced,), answers=(moved_answer(kind="forced"),))).held[2]


def test_convergence_needs_a_serving_holder_within_budget():
    assert 3 in broken(check(failover(writes=(), final_holder=A, answers=())))
    assert 3 in broken(check(failover(budget_s=0.5)))
    nothing_serves = failover().timeline + (Change(T0 - 3, B, "down", False),)
    verdict = check(failover(writes=(), final_holder=A, answers=(), timeline=nothing_serves))
    assert verdict.held[3] and verdict.convergence_s is None


def test_no_more_writes_than_failures():
    again = (Write(T0 + 1, A, B, True), Write(T0 + 1.5, B, A, True), Write(T0 + 2, A, B, True))
    assert 4 in broken(check(failover(writes=again)))


def test_cannot_verify_never_moves_and_says_so():
    assert 5 in broken(check(failover(answers=(moved_answer("unknown", evidence=frozenset()),))))
    assert check(failover(answers=(moved_answer("unknown"),))).held[5]  # the peer's MASTER vouched
    silent = Answer("automatic", 200, {"ok": False, "error": "cannot_verify", "moved": ["vip"], "reason": "x"})
    assert 5 in broken(check(failover(answers=(silent,))))
    mismatch = moved_answer(unverified=[B])
    assert 5 in broken(check(failover(answers=(mismatch,))))
    healthy = (Change(T0 - 5, A, "up", True), Change(T0 - 5, B, "up", True))
    assert 5 in broken(check(failover(api_fault=True, failures=0, timeline=healthy)))


def test_bad_input_never_crashes_or_writes():
    assert 6 in broken(check(failover(answers=(Answer("automatic", 502, None),))))
    crash = Answer("automatic", 200, {"ok": False, "error": "internal_error", "reason": "KeyError"})
    assert 6 in broken(check(failover(answers=(crash,))))
    assert 6 in broken(check(failover(function_errors=("a traceback",))))
    junk = Answer("bad_input", 200, {"ok": False, "error": "bad_request", "moved": []})
    assert 6 in broken(check(failover(answers=(junk,))))  # the write came with nothing but junk
    assert check(failover(answers=(junk, moved_answer()))).held[6]


# keepalived killed on node-a at T0: the alias stays (node-a serves on), node-b is MASTER since.
KILLED = (
    Change(T0 - 5, A, "up", True, keepalived=True),
    Change(T0 - 5, B, "up", True, keepalived=True),
    Change(T0, A, "up", True, keepalived=False),
)
PROTECTIVE = Write(T0 + 1.0, A, B, True, reason="holder node-a serves but its keepalived does not run; ...")


def killed(**overrides) -> Observation:
    """keepalived SIGKILLed on the holder; the peer's MASTER notice moves the IP off it 1 s later."""
    answer = moved_answer(health_a="healthy", code="holder_unmanaged")
    return failover(**{"timeline": KILLED, "writes": (PROTECTIVE,), "answers": (answer,), **overrides})


def test_keepalived_at_reads_the_latest_change_that_says():
    assert keepalived_at(KILLED, A, T0 - 1) is True and keepalived_at(KILLED, A, T0) is False
    assert keepalived_at(KILLED + (Change(T0 + 1, A, "up", True),), A, T0 + 2) is False  # silent: unchanged
    assert keepalived_at(failover().timeline, A, T0) is None and keepalived_at(KILLED, None, T0) is None


def test_protected_holds_when_the_ip_ends_on_a_serving_node_whose_keepalived_runs():
    verdict = check(killed())
    assert verdict.ok and verdict.needless_moves == 0  # invariant 2: the move off a node without keepalived is right
    assert check_protected(killed()) == [] and protected_after(killed()) == pytest.approx(1.0)


def test_protected_is_invariant_7_and_fails_when_the_ip_stays_on_the_node_whose_keepalived_was_killed():
    assert INVARIANTS == (1, 2, 3, 4, 5, 6, 7)
    stayed = killed(writes=(), answers=(), final_holder=A, observed_until=T0 + 3)
    note = "7: the IP ends on node-a, which serves but its keepalived does not run, while node-b could hold it"
    assert check_protected(stayed) == [note]
    verdict = check(stayed)
    assert broken(verdict) == [7] and verdict.notes == (note,)  # invariant 3 is content: node-a serves


def test_protected_must_come_within_the_budget_counted_from_the_onset():
    late = killed(writes=(replace(PROTECTIVE, at=T0 + 2.5),))
    assert protected_after(late) == pytest.approx(2.5)
    assert check_protected(late) == ["7: on a protected node after 2.50s, budget 2.00s"]
    assert 7 in broken(check(late))
    # Protected from the onset on (nothing killed the holder's keepalived): no time at all.
    running = tuple(replace(c, keepalived=True) for c in KILLED)
    assert protected_after(killed(timeline=running, writes=(), final_holder=A)) == 0.0


def test_protected_fails_when_the_holder_does_not_serve_or_is_no_node_of_the_trial():
    down_b = KILLED + (Change(T0 + 2, B, "down", False, keepalived=True),)
    dead = killed(
        timeline=KILLED + (Change(T0 + 2, A, "down", False),), final_holder=A, writes=(), observed_until=T0 + 3
    )
    assert check_protected(dead) == ["7: the IP ends on node-a, which does not serve, while node-b could hold it"]
    assert check_protected(killed(final_holder=None)) == [
        "7: the IP ends on None, which is no node of the trial, while node-b could hold it"
    ]
    assert (
        check_protected(killed(timeline=down_b, final_holder=A, writes=(), observed_until=T0 + 3)) == []
    )  # nobody does both


def test_protected_is_vacuous_when_no_node_is_managed_or_the_trial_does_not_record_keepalived():
    assert check_protected(failover()) == [] and check(failover()).held[7]
    partial = (Change(T0 - 5, A, "up", True, keepalived=False), Change(T0 - 5, B, "up", True))
    assert check_protected(failover(timeline=partial, final_holder=A, writes=())) == []
    # Both keepalived gone (the peer's killed too): nobody to hand the IP to, it stays.
    both = KILLED + (Change(T0 + 0.5, B, "up", True, keepalived=False),)
    stayed = killed(timeline=both, writes=(), answers=(), final_holder=A, observed_until=T0 + 3)
    assert check(stayed).ok


def test_protected_judges_every_vip():
    moved = Write(T0 + 1.2, A, B, True)
    group = killed(other_vips=(VipEnd("vip-2", 0, A, B, 1, (moved,)), VipEnd("vip6", 1, A, A, 1, ())))
    assert check_protected(group) == [
        "7: vip6 ends on node-a, which serves but its keepalived does not run, while node-b could hold it"
    ]
    fixed = replace(group, other_vips=(group.other_vips[0], VipEnd("vip6", 1, A, B, 1, (replace(moved, at=T0 + 1.4),))))
    assert check_protected(fixed) == [] and protected_after(fixed) == pytest.approx(1.4)


def test_a_move_off_a_serving_holder_is_still_wrong_unless_its_keepalived_stopped_and_the_targets_ran():
    running = (Change(T0 - 5, A, "up", True, keepalived=True), Change(T0 - 5, B, "up", True, keepalived=True))
    assert 2 in broken(check(killed(timeline=running)))  # split brain: both run, the IP must stay
    unmanaged_b = KILLED + (Change(T0, B, "up", True, keepalived=False),)
    assert 2 in broken(check(killed(timeline=unmanaged_b)))  # onto a node without keepalived
    unrecorded = tuple(replace(c, keepalived=None) for c in KILLED)
    assert 2 in broken(check(killed(timeline=unrecorded)))  # not recorded: no excuse


def group_of_three(second: tuple[str | None, tuple[Write, ...]], ipv6: tuple[str | None, tuple[Write, ...]]):
    """node-a fails; the VIP ends as in `failover`, a second VIP of its group and an IPv6 VIP of
    a group of its own each end on (node, writes)."""
    return failover(
        other_vips=(VipEnd("vip-2", 0, A, second[0], 1, second[1]), VipEnd("vip6", 1, A, ipv6[0], 1, ipv6[1]))
    )


def test_every_vip_of_a_group_is_judged_and_the_group_must_end_on_one_node():
    moved = (Write(T0 + 1.2, A, B, True), Write(T0 + 1.4, A, B, True))
    together = check(group_of_three((B, moved[:1]), (B, moved[1:])))
    assert together.ok and together.writes == 1 and together.convergence_s == pytest.approx(1.4)
    # The group's second VIP left behind on the dead node: split, and on a node that does not serve.
    split = check(group_of_three((A, ()), (B, moved[1:])))
    assert broken(split) == [3] and any("VIP group 0 is split" in n for n in split.notes)
    assert any("vip-2 ends on node-a" in n for n in split.notes)
    # A group of its own may end elsewhere, as long as that node serves.
    c_serves = failover().timeline + (Change(T0 - 5, "node-c", "up", True),)
    apart = group_of_three((B, moved[:1]), ("node-c", (Write(T0 + 1.4, A, "node-c", True),)))
    assert check(replace(apart, timeline=c_serves)).ok


def test_the_write_bound_and_the_chain_hold_per_vip():
    twice = (Write(T0 + 1.2, A, B, True), Write(T0 + 1.3, B, B, True))
    verdict = check(group_of_three((B, twice), (B, (Write(T0 + 1.4, A, B, True),))))
    assert broken(verdict) == [4] and verdict.writes == 2 and any("of vip-2" in n for n in verdict.notes)
    lost_update = (Write(T0 + 1.2, A, B, True), Write(T0 + 1.3, A, B, False))
    assert 1 in broken(check(group_of_three((B, lost_update), (B, (Write(T0 + 1.4, A, B, True),)))))
