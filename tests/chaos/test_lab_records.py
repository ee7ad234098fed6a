"""The lab level's pure parts: its records read into the invariants' inputs, its budgets, and
the verdicts they give on hand-made lab trials (no lab, no clock)."""

import json
import re
from dataclasses import replace

import pytest

from chaos import faults
from chaos.invariants import Change, ClientView, Observation, Write, check, check_protected, holder_at, protected_after
from chaos.lab_records import Action, AliasSample, answers_from_log, client_view, invoke_errors, timeline
from chaos.records import function_errors, writes_from_audit
from failover.tags import LastMove, with_move
from lab.cloud import LAB_FUNCTION_CONFIG
from lab.plan import REPO, Plan

T0 = 1_000.0
A, B = "node-a", "node-b"
NODES = (A, B)


def change(at: float, node: str, probe: str, serving: bool, keepalived: bool = True) -> Change:
    """A lab timeline's change: there every change says whether the node's keepalived runs."""
    return Change(at, node, probe, serving, keepalived)


def test_timeline_follows_what_the_trial_did_and_the_alias_samples():
    changes = timeline(
        NODES,
        AliasSample(T0, frozenset({A})),
        [Action(T0 + 1, A, "haproxy-stop"), Action(T0 + 5, "", "heal")],
        [AliasSample(T0 + 1.5, frozenset()), AliasSample(T0 + 2.0, frozenset({B}))],
    )
    assert changes == (
        change(T0, A, "up", True),
        change(T0, B, "up", False),
        change(T0 + 1, A, "down", False),  # haproxy stopped: its probe says 503, it cannot serve
        change(T0 + 1.5, A, "down", False),  # keepalived dropped the alias (no serving change)
        change(T0 + 2.0, B, "up", True),  # the peer took the alias: it can serve
        change(T0 + 5, A, "up", False),  # healed, but without the alias it does not serve
    )


def test_timeline_link_down_crash_and_a_blocked_health_port_hang_the_probe():
    start = AliasSample(T0, frozenset({A}))
    link = timeline(NODES, start, [Action(T0 + 1, A, "link-down")], [])
    assert link[-1] == change(T0 + 1, A, "hang", False)
    crash = timeline(NODES, start, [Action(T0 + 1, A, "crash"), Action(T0 + 3, "", "heal")], [])
    assert crash[-2:] == (change(T0 + 1, A, "hang", False, keepalived=False), change(T0 + 3, A, "up", True))
    blocked = timeline(NODES, start, [Action(T0 + 1, B, "health-blocked")], [])
    assert blocked[-1] == change(T0 + 1, B, "hang", False)  # B serves nothing: it has no alias
    kill = timeline(NODES, start, [Action(T0 + 1, A, "keepalived-kill")], [AliasSample(T0 + 2, frozenset({A, B}))])
    assert kill[-1] == change(T0 + 2, B, "up", True) and all(c.serving for c in kill if c.node == A)
    assert change(T0 + 1, A, "up", True, keepalived=False) in kill  # SIGKILLed: the alias stays, it serves on
    stop = timeline(NODES, start, [Action(T0 + 1, A, "keepalived-stop"), Action(T0 + 3, "", "heal")], [])
    assert stop[-2:] == (change(T0 + 1, A, "up", True, keepalived=False), change(T0 + 3, A, "up", True))


def answer(sent, node=None, error=None):
    return {"sent": sent, "done": sent + 0.01, "node": node, "error": error}


def test_client_view_is_the_last_unbroken_run_from_the_holder():
    answers = [answer(T0 + i / 10, A) for i in range(10)] + [
        answer(T0 + 1 + i / 10, error="TimeoutError") for i in range(5)
    ]
    answers += [answer(T0 + 2 + i / 10, B) for i in range(10)]
    view = client_view(list(reversed(answers)), B)
    assert view == ClientView(steady_from=pytest.approx(T0 + 2.01), requests=25, failed=5)
    assert client_view(answers, A).steady_from is None  # A did not answer at the end
    assert client_view(answers[:-7], B).steady_from is None  # 3 answers are not "served"


def test_holder_at_follows_the_audit_chain():
    writes = (Write(T0 + 2, A, B, True), Write(T0 + 6, B, A, True))
    assert [holder_at(A, writes, t) for t in (T0, T0 + 2, T0 + 4, T0 + 7)] == [A, B, B, A]


def log_line(**fields):
    return json.dumps({"time": "2026-11-25T18:32:25.977Z", "level": "info", "logger": "failover", **fields})


def test_answers_from_the_functions_log():
    lines = [
        log_line(
            call_id="1",
            event="decision",
            source="keepalived node-b MASTER",
            holder=A,
            action="move",
            target=B,
            forced=False,
            health={A: "unhealthy", B: "healthy"},
        ),
        log_line(call_id="1", event="moved", **{"from": A, "to": B}),
        log_line(call_id="1", event="answer", decision="moved", action="move", **{"from": A, "to": B}),
        log_line(
            call_id="2",
            event="decision",
            source="keepalived node-a STOP",
            holder=B,
            action="none",
            target=B,
            forced=False,
            health={A: "unknown", B: "healthy"},
        ),
        log_line(call_id="2", event="answer", decision="kept", action="none", **{"from": B, "to": B}),
        "not json",
        log_line(event="no call id"),
    ]
    first, second = answers_from_log(lines, NODES)
    assert first.kind == "automatic" and first.status is None and first.evidence == {A}
    # The source travels with the answer: the no-wrong-move check needs it for a MASTER notice.
    assert first.body == {
        "decision": "moved",
        "source": "keepalived node-b MASTER",
        "from": A,
        "to": B,
        "target": B,
        "forced": False,
        "health": {A: {"health": "unhealthy"}, B: {"health": "healthy"}},
    }
    assert second.evidence == {A} and second.body["health"][A] == {"health": "unknown"}


def test_errors_invariant_6_reads_in_the_lab():
    assert function_errors(
        [
            log_line(event="internal_error", reason="KeyError: x"),
            "Traceback (most recent call last):",
            log_line(event="answer"),
        ]
    ) == ("internal_error: KeyError: x", "a traceback")
    requests = [
        {"event": "request", "operation": "InvokeFunction", "status": 200},
        {"event": "request", "operation": "InvokeFunction", "status": 502},
        {"event": "request", "operation": "GetPrivateIp", "status": 404},
    ]
    assert invoke_errors(requests) == ("InvokeFunction answered HTTP 502",)


def test_writes_from_audit_keep_only_the_floating_ips_moves():
    tags = with_move(
        {}, LastMove(at=T0, from_node=A, to_node=B, reason="holder node-a is down", event_key=None, move_id="m1")
    )
    entries = [
        {
            "operation": "UpdatePrivateIp",
            "resource_id": "vip",
            "time": "1970-01-01T00:16:41Z",
            "principal": {"id": "fn"},
            "before": {"vnicId": "va", "freeformTags": {}},
            "after": {"vnicId": "vb", "freeformTags": tags},
        },
        {
            "operation": "UpdatePrivateIp",
            "resource_id": "other",
            "time": "1970-01-01T00:16:42Z",
            "principal": {"id": "fn"},
            "before": {"vnicId": "va"},
            "after": {"vnicId": "vb"},
        },
        {"operation": "PostMetricData", "resource_id": "vip", "time": "1970-01-01T00:16:43Z"},
    ]
    (write,) = writes_from_audit(entries, "vip", {"va": A, "vb": B}, "fn")
    assert (write.at, write.from_node, write.to_node, write.by_function) == (T0 + 1, A, B, True)
    assert (write.reason, write.previous_move_at) == ("holder node-a is down", None)
    ipv6 = {**entries[0], "operation": "UpdateIpv6", "resource_id": "vip6"}
    (moved,) = writes_from_audit([*entries, ipv6], "vip6", {"va": A, "vb": B}, "fn")
    assert (moved.from_node, moved.to_node, moved.reason) == (A, B, "holder node-a is down")


# --- verdicts on hand-made lab trials ----------------------------------------------------------


def lab_trial(**overrides) -> Observation:
    """node-a's haproxy stops at T0; node-b takes the alias at +1.2 s, the function moves the IP
    at +2.2 s and the client is answered by node-b from +2.3 s: every invariant holds."""
    base = dict(
        fault="lab:haproxy-stop",
        policy="never",
        preferred=A,
        cooldown_s=2.0,
        window_s=3.0,
        onset=T0,
        initial_holder=A,
        final_holder=B,
        listed_on=1,
        writes=(Write(T0 + 2.2, A, B, True, reason="holder down"),),
        answers=(),
        failures=1,
        allowed_writes=1,
        budget_s=3.0,
        observed_until=T0 + 6,
        timeline=timeline(
            NODES,
            AliasSample(T0 - 1, frozenset({A})),
            [Action(T0, A, "haproxy-stop")],
            [AliasSample(T0 + 1.0, frozenset()), AliasSample(T0 + 1.2, frozenset({B}))],
        ),
        client=ClientView(steady_from=T0 + 2.3, requests=120, failed=40),
    )
    return replace(Observation(**base), **overrides)


def test_a_lab_failover_that_the_client_sees_in_time_holds():
    verdict = check(lab_trial())
    assert verdict.ok and verdict.convergence_s == pytest.approx(2.3)


def test_the_client_late_or_not_answered_breaks_convergence():
    late = check(lab_trial(client=ClientView(steady_from=T0 + 3.5)))
    assert not late.held[3] and late.convergence_s == pytest.approx(3.5)
    unanswered = check(lab_trial(client=ClientView(steady_from=None)))
    assert not unanswered.held[3] and "client is not answered" in unanswered.notes[0]


def test_the_ip_left_on_a_node_without_the_alias_is_caught_at_the_end_of_watching():
    # keepalived-stop on the holder: it drops the alias, the peer takes it, the function keeps the IP.
    stopped = lab_trial(
        fault="lab:keepalived-stop",
        writes=(),
        final_holder=A,
        budget_s=2.0,
        timeline=timeline(
            NODES,
            AliasSample(T0 - 1, frozenset({A})),
            [Action(T0, A, "keepalived-stop")],
            [AliasSample(T0 + 0.1, frozenset({B}))],
        ),
        client=ClientView(steady_from=None),
    )
    verdict = check(stopped)
    assert verdict.notes == (
        "3: the IP ends on node-a, which does not serve",
        "7: the IP ends on node-a, which does not serve, while node-b could hold it",
    )
    # Why the lab passes observed_until: with no write, the end state would be judged at the
    # onset, when node-a still held the alias.
    assert check(replace(stopped, observed_until=None, client=None)).held[3]


def test_a_keepalived_kill_is_judged_by_what_keepalived_ran_where():
    """keepalived SIGKILLed on the holder: node-a keeps the alias and serves, node-b takes the alias
    too (MASTER); the function moves the IP to node-b on its notice. That move off a serving node is
    no wrong move (node-a's keepalived is gone), and staying would leave the IP unprotected."""
    killed = lab_trial(
        fault="lab:keepalived-kill",
        writes=(Write(T0 + 1.5, A, B, True, reason="holder node-a serves but its keepalived does not run"),),
        timeline=timeline(
            NODES,
            AliasSample(T0 - 1, frozenset({A})),
            [Action(T0, A, "keepalived-kill")],
            [AliasSample(T0 + 0.8, frozenset({A, B}))],
        ),
        client=ClientView(steady_from=T0 + 1.6),
    )
    verdict = check(killed)
    assert verdict.ok and verdict.needless_moves == 0 and check_protected(killed) == []
    stayed = replace(killed, writes=(), final_holder=A, client=ClientView(steady_from=T0 - 1))
    assert [n for n, ok in check(stayed).held.items() if not ok] == [7]  # 1-6 are content: node-a serves
    assert check_protected(stayed) == [
        "7: the IP ends on node-a, which serves but its keepalived does not run, while node-b could hold it"
    ]


def test_a_keepalived_kill_and_restart_is_protected_from_the_restart_on():
    """lab:keepalived-kill+restart: the peer's MASTER notice moved the IP off the killed holder
    before keepalived was started again (one write, before the onset, the restart); the restarted
    keepalived comes up as BACKUP and drops its stale alias. Protected from the onset on."""
    restarted = lab_trial(
        fault="lab:keepalived-kill+restart",
        onset=T0 + 3,
        budget_s=2.0,
        writes=(Write(T0 + 1.9, A, B, True, reason="holder node-a serves but its keepalived does not run"),),
        timeline=timeline(
            NODES,
            AliasSample(T0 - 1, frozenset({A})),
            [Action(T0, A, "keepalived-kill"), Action(T0 + 3, "", "heal")],
            [AliasSample(T0 + 0.8, frozenset({A, B})), AliasSample(T0 + 3.2, frozenset({B}))],
        ),
        client=ClientView(steady_from=T0 + 2.0),
    )
    verdict = check(restarted)
    assert verdict.ok and verdict.writes == 1 and protected_after(restarted) == 0.0


# --- the lab matrix and its budgets -----------------------------------------------------------


def test_the_lab_matrix_names_and_drivers():
    names = [f.name for f in faults.LAB_MATRIX]
    assert all(n.startswith("lab:") for n in names) and len(set(names)) == len(names) >= 11
    assert all(f.driver == "lab" for f in faults.LAB_MATRIX) and not any(f.driver == "lab" for f in faults.MATRIX)
    assert {f.policy for f in faults.LAB_MATRIX} == {"never", "preferred"}
    assert faults.by_name(["lab:crash", "baseline"])[0].name == "lab:crash"
    assert len(faults.plan(faults.LAB_MATRIX, 100, seed=8)) == 100


def test_lab_budgets_come_from_the_lab_settings():
    template = (REPO / "templates" / "keepalived.conf.tftpl").read_text()
    check_block = re.search(r"vrrp_script chk_haproxy \{\n(.*?)\n\}", template, re.S).group(1)
    assert re.search(r"\binterval (\S+)", check_block).group(1) == f"{faults.LAB_CHECK_INTERVAL_S:g}"
    assert re.search(r"\bfall (\S+)", check_block).group(1) == "1"
    plan = Plan(REPO / "run" / "unused")
    assert plan.advert_int == faults.LAB_ADVERT_INT_S
    assert min(n.priority for n in plan.nodes) == faults.LAB_LOWEST_VRRP_PRIORITY
    assert "PROBE_TIMEOUT_SECONDS" not in LAB_FUNCTION_CONFIG and faults.LAB_PROBE_TIMEOUT_S == 2.0
    budget = {f.name: faults.FAST_PATH_BUDGET_S + f.extra_budget_s for f in faults.LAB_MATRIX}
    assert budget["lab:keepalived-stop"] == budget["lab:heal:never"] == faults.FAST_PATH_BUDGET_S
    # The peer's MASTER notice after VRRP's master-down interval, then the function's move (rule 4b).
    assert budget["lab:keepalived-kill"] == pytest.approx(
        faults.FAST_PATH_BUDGET_S + faults.LAB_MASTER_DOWN_S, abs=0.01
    )
    assert budget["lab:haproxy-stop"] == 3.0 and budget["lab:crash"] == pytest.approx(2 + 0.73 + 2, abs=0.01)
