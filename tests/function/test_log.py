"""The one logger (failover/log.py): every process's lines are one JSON object each, carry their
bound context, and never a field that looks secret, whichever package logs it."""

from __future__ import annotations

import io
import json
import sys

import pytest

from failover import log
from failover.log import Logger, to_stream
from tests.support.logs import capture_logs


@pytest.mark.parametrize("name", ["failover", "health_probe", "ocisim"])
def test_secret_looking_fields_are_redacted_for_every_logger(name: str) -> None:
    with capture_logs(name) as logs:
        Logger(name).bind(node="node-a").warning(
            "refresh", session_token="ST$abc", private_key="-----BEGIN", Authorization="Signature x", reason="ok"
        )
    (entry,) = logs.entries
    assert (entry["event"], entry["level"], entry["logger"], entry["node"], entry["reason"]) == (
        "refresh",
        "warning",
        name,
        "node-a",
        "ok",
    )
    assert entry["session_token"] == entry["private_key"] == entry["Authorization"] == "[redacted]"
    assert "ST$abc" not in logs.lines[0] and "BEGIN" not in logs.lines[0]


def test_context_fields_reach_every_line_until_the_context_ends() -> None:
    with capture_logs("failover") as logs:
        with log.context(call_id="01CALL"):
            log.info("decision", reason="line one\nline two")
        log.info("after")
    assert [e.get("call_id") for e in logs.entries] == ["01CALL", None]
    assert len(logs.lines[0].splitlines()) == 1  # a newline in a value stays inside its JSON line


def test_a_stream_gets_only_json_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    out = io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    to_stream("tests.agent", "stdout")
    Logger("tests.agent").info("target_down", target="node-b")
    Logger("tests.agent").log(10, "debug_is_below_info")
    (line,) = out.getvalue().splitlines()
    assert json.loads(line)["event"] == "target_down"
