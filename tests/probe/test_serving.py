"""The node's verdict "can serve the floating IP now", pure: every way to fail says why."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from health_probe.serving import family, is_keepalived, judge, pid_in

VIP = "10.0.0.4"


def test_haproxy_up_and_the_alias_local_serves() -> None:
    verdict = judge("node-a", True, "HTTP 200", {VIP: True}, nonlocal_bind=(), keepalived=True)
    assert (verdict.serving, verdict.status) == (True, 200)
    assert verdict.body() == {
        "node": "node-a",
        "serving": True,
        "haproxy": "up",
        "vip_alias": {VIP: True},
        "reason": "haproxy answers and 10.0.0.4 is an address of this node",
        "serving_families": {"ipv4": True},
        "keepalived": "running",
    }


def test_keepalived_stopped_gracefully_haproxy_up_but_no_alias_does_not_serve() -> None:
    verdict = judge("node-a", True, "HTTP 200", {VIP: False}, nonlocal_bind=())
    assert (verdict.serving, verdict.status) == (False, 503)
    assert verdict.body()["haproxy"] == "up" and verdict.body()["vip_alias"] == {VIP: False}
    assert "10.0.0.4 not an address of this node" in verdict.reason


def test_haproxy_down_with_the_alias_does_not_serve() -> None:
    verdict = judge("node-a", False, "ConnectionError", {VIP: True}, nonlocal_bind=())
    assert verdict.status == 503 and verdict.body()["haproxy"] == "down"
    assert verdict.reason == "haproxy does not answer (ConnectionError)"


def test_both_problems_are_named() -> None:
    reason = judge("node-a", False, "HTTP 503", {VIP: False}, nonlocal_bind=()).reason
    assert "haproxy does not answer (HTTP 503)" in reason and "not an address" in reason


def test_every_floating_ip_must_be_local() -> None:
    verdict = judge("node-a", True, "HTTP 200", {VIP: True, "10.0.0.5": False}, nonlocal_bind=())
    assert not verdict.serving and verdict.reason.startswith("10.0.0.5 not an address")
    assert judge("node-a", True, "HTTP 200", {VIP: True, "10.0.0.5": True}, nonlocal_bind=()).serving


def test_nonlocal_bind_makes_the_alias_check_meaningless_so_it_never_vouches() -> None:
    verdict = judge("node-a", True, "HTTP 200", {VIP: True}, nonlocal_bind={"ipv4"})
    assert not verdict.serving and verdict.body()["vip_alias"] == {VIP: False}
    assert "ip_nonlocal_bind" in verdict.reason


def test_no_floating_ip_configured_never_serves() -> None:
    assert not judge("node-a", True, "HTTP 200", {}, nonlocal_bind=()).serving


@given(
    st.booleans(),
    st.dictionaries(st.sampled_from(["10.0.0.4", "10.0.0.5", "fd00:10:0:1::4"]), st.booleans()),
    st.sets(st.sampled_from(["ipv4", "ipv6"])),
    st.sampled_from([True, False, None]),
)
def test_serving_exactly_when_haproxy_is_up_and_every_alias_is_provably_local(
    up: bool, aliases: dict[str, bool], nonlocal_bind: set[str], keepalived: bool | None
) -> None:
    verdict = judge("node-a", up, "detail", aliases, nonlocal_bind, keepalived)
    provable = {ip: local and family(ip) not in nonlocal_bind for ip, local in aliases.items()}
    assert verdict.serving == (up and bool(aliases) and all(provable.values()))
    assert verdict.status == (200 if verdict.serving else 503)
    assert verdict.reason and set(verdict.body()) == {
        "node",
        "serving",
        "haproxy",
        "vip_alias",
        "reason",
        "serving_families",
        "keepalived",
    }
    for name, serving in verdict.serving_families:
        assert serving == (up and all(local for ip, local in provable.items() if family(ip) == name))
    assert {name for name, _ in verdict.serving_families} == {family(ip) for ip in aliases}


def test_each_family_is_judged_on_its_own() -> None:
    # vip_ipv6's keepalived instance is MASTER here, vip_ipv4's not yet: serves IPv6, not IPv4.
    verdict = judge("node-b", True, "HTTP 200", {VIP: False, "fd00:10:0:1::4": True}, nonlocal_bind=())
    assert verdict.status == 503 and verdict.body()["serving_families"] == {"ipv4": False, "ipv6": True}
    blind = judge("node-b", True, "HTTP 200", {VIP: True, "fd00:10:0:1::4": True}, nonlocal_bind={"ipv6"})
    assert blind.body()["serving_families"] == {"ipv4": True, "ipv6": False}
    assert "net.ipv6.ip_nonlocal_bind is 1" in blind.reason


@pytest.mark.parametrize("aliases", [{VIP: True}, {VIP: True, "10.0.0.5": True}])
def test_the_reason_lists_the_floating_ips(aliases: dict[str, bool]) -> None:
    assert ", ".join(aliases) in judge("node-a", True, "HTTP 200", aliases, nonlocal_bind=()).reason


def test_the_answer_says_whether_keepalived_runs_without_changing_serving() -> None:
    running = judge("node-a", True, "HTTP 200", {VIP: True}, nonlocal_bind=(), keepalived=True)
    killed = judge("node-a", True, "HTTP 200", {VIP: True}, nonlocal_bind=(), keepalived=False)
    unseen = judge("node-a", True, "HTTP 200", {VIP: True}, nonlocal_bind=())
    assert [v.body()["keepalived"] for v in (running, killed, unseen)] == ["running", "not running", "unknown"]
    assert running.serving and killed.serving and unseen.serving  # a SIGKILLed keepalived leaves the alias
    assert killed.reason == running.reason and killed.status == 200


@pytest.mark.parametrize(
    "stat, running",
    [
        ("812 (keepalived) S 1 812 812 0 -1 4194560", True),
        ("812 (keepalived) R 1 812", True),
        ("812 (keepalived) Z 1 812", False),  # SIGKILLed, not yet reaped
        ("812 (keepalived) X 1 812", False),
        ("812 (haproxy) S 1 812", False),
        ("812 (keepalived-x) S 1", False),
        ("812 (a) (keepalived) S 1", False),  # the name runs to the last ")"
        ("812 (keepalived", False),
        ("812 (keepalived)", False),
        ("", False),
    ],
)
def test_a_stat_line_is_keepalived_only_while_that_process_runs(stat: str, running: bool) -> None:
    assert is_keepalived(stat) is running


@pytest.mark.parametrize(
    "text, pid", [("812\n", 812), (" 812 ", 812), ("", None), ("-1", None), ("0", None), ("12x", None), ("٣", None)]
)
def test_a_pid_file_holds_one_pid_or_nothing(text: str, pid: int | None) -> None:
    assert pid_in(text) == pid
