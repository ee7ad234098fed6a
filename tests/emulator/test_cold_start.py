"""Cold starts as a caller of the real oci SDK sees them: idle functions answer late, busy ones
start another container, provisioned ones stay hot, and nothing piles up beyond the bound.

Times are small (idle 0.5 s, delay 0.3 s) so the file stays quick; idling out is on the
emulated clock, which a test advances instead of sleeping.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import oci
import pytest
import requests

from ocisim import Emulator
from ocisim.cli import cold_start as cli_cold_start
from ocisim.cli import parser
from ocisim.functions import runtime
from ocisim.functions.models import REALISTIC, WARM, ColdStart, cold_start, expired, provisioned_concurrency
from tests.support.processes import alive
from tests.support.topology import two_node

MARKER_FN = Path(__file__).parent / "fixtures" / "marker_fn"
IDLE_S, DELAY_S = 0.5, 0.3
QUICK = {"idleTimeoutSeconds": IDLE_S, "delaySeconds": DELAY_S}


def topology_file(tmp_path: Path, **function: Any) -> Path:
    """The default topology with its first function (the warm one) given `function`'s keys."""
    topology = two_node()
    topology["functions"][0].update(function)
    path = tmp_path / "topology.json"
    path.write_text(json.dumps(topology))
    return path


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Callable[..., Emulator]]:
    started: list[Emulator] = []

    def run(function: dict[str, Any] | None = None, **options: Any) -> Emulator:
        emu = Emulator.start(topology=topology_file(tmp_path, **(function or {})), function_dir=MARKER_FN, **options)
        started.append(emu)
        return emu

    yield run
    for emu in started:
        emu.stop()


def first_function(emu: Emulator) -> str:
    return emu.functions["vip-failover"]


def call(emu: Emulator, marker: Path, sleep: float = 0.0) -> tuple[int, float]:
    """One invoke through the SDK (no retries, no breaker): its status and how long it took."""
    client = oci.functions.FunctionsInvokeClient(
        emu.oci_config(),
        service_endpoint=emu.endpoint,
        retry_strategy=oci.retry.NoneRetryStrategy(),
        circuit_breaker_strategy=oci.circuit_breaker.NoCircuitBreakerStrategy(),
    )
    began = time.monotonic()
    try:
        status = client.invoke_function(
            first_function(emu), invoke_function_body=json.dumps({"marker": str(marker), "sleep": sleep})
        ).status
    except oci.exceptions.ServiceError as error:
        status = error.status
    return status, time.monotonic() - began


def report(emu: Emulator) -> dict[str, Any]:
    answer = requests.get(f"{emu.endpoint}/_admin/functions", timeout=5)
    answer.raise_for_status()
    return answer.json()["functions"][first_function(emu)]


def invoke_lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    return [r.fields for r in caplog.records if r.getMessage() == "function.invoke"]  # type: ignore[attr-defined]


def test_an_idle_function_answers_its_next_call_cold_and_later_calls_warm(
    start: Callable[..., Emulator], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="ocisim")
    emu = start(cold_start={"idleTimeoutSeconds": 5.0, "delaySeconds": DELAY_S})
    assert call(emu, tmp_path / "first")[0] == 200  # started with the emulator: warm

    emu.clock.advance(5.1)
    status, seconds = call(emu, tmp_path / "after-idle")
    again = call(emu, tmp_path / "again")

    assert status == 200 and again[0] == 200
    assert seconds >= DELAY_S, "the cold call did not wait the modeled delay"
    assert [line["cold"] for line in invoke_lines(caplog)] == [False, True, False]
    assert invoke_lines(caplog)[1]["cold_start_s"] >= DELAY_S and invoke_lines(caplog)[2]["cold_start_s"] == 0
    assert report(emu)["calls"] == {"cold": 1, "warm": 2}

    [idle] = [c["pid"] for c in emu.function_containers(first_function(emu))["instances"]]
    forced = requests.post(f"{emu.endpoint}/_admin/functions/{first_function(emu)}/idle", timeout=5).json()
    assert (forced["stopped"], forced["containers"], forced["stopping"]) == (1, 0, 0)
    assert not alive(idle), "the forced idle answered before its fdk process was gone"
    assert call(emu, tmp_path / "forced")[1] >= DELAY_S
    assert report(emu)["calls"] == {"cold": 2, "warm": 2}


def test_idle_containers_are_stopped_on_time(start: Callable[..., Emulator], tmp_path: Path) -> None:
    emu = start(cold_start=QUICK)
    [process] = emu.function_containers(first_function(emu))["pids"]

    deadline = time.monotonic() + 5.0
    while report(emu)["containers"] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert report(emu)["containers"] == 0, "an idle container outlived its idle timeout"
    while alive(process) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(process), "the idled-out fdk process still runs"
    assert call(emu, tmp_path / "cold")[1] >= DELAY_S
    assert report(emu)["calls"] == {"cold": 1, "warm": 0}


def test_a_warm_call_pays_no_delay(start: Callable[..., Emulator], tmp_path: Path) -> None:
    emu = start(cold_start={"idleTimeoutSeconds": 60.0, "delaySeconds": 2.0})
    status, seconds = call(emu, tmp_path / "warm")
    assert status == 200 and seconds < 2.0
    assert report(emu)["calls"] == {"cold": 0, "warm": 1}


def test_two_concurrent_calls_start_two_containers(start: Callable[..., Emulator], tmp_path: Path) -> None:
    emu = start()  # today's default: warm, no delay
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda name: call(emu, tmp_path / name, sleep=1.0), ["one", "two"]))

    assert [status for status, _ in results] == [200, 200]
    assert (tmp_path / "one").exists() and (tmp_path / "two").exists()
    state = report(emu)
    assert (state["containers"], state["containersStarted"], state["calls"]) == (2, 2, {"cold": 1, "warm": 1})


def test_provisioned_concurrency_keeps_its_containers_hot_past_the_idle_timeout(
    start: Callable[..., Emulator], tmp_path: Path
) -> None:
    provisioned = {"strategy": "CONSTANT", "count": 2}
    emu = start(
        {"provisionedConcurrencyConfig": provisioned, "coldStart": {"idleTimeoutSeconds": IDLE_S, "delaySeconds": 2.0}}
    )
    assert report(emu)["containers"] == 2

    emu.clock.advance(60.0)
    time.sleep(0.3)  # a few idle checks
    forced = requests.post(f"{emu.endpoint}/_admin/functions/{first_function(emu)}/idle", timeout=5).json()
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda name: call(emu, tmp_path / name, sleep=0.2), ["one", "two"]))

    assert (forced["stopped"], forced["containers"], forced["provisioned"]) == (0, 2, 2)
    assert all(status == 200 and seconds < 2.0 for status, seconds in results)
    assert report(emu)["calls"] == {"cold": 0, "warm": 2}
    management = oci.functions.FunctionsManagementClient(emu.oci_config(), service_endpoint=emu.endpoint)
    config = management.get_function(first_function(emu)).data.provisioned_concurrency_config
    assert (config.strategy, config.count) == ("CONSTANT", 2)


def test_a_provisioned_container_that_dies_is_replaced(start: Callable[..., Emulator]) -> None:
    emu = start({"provisionedConcurrencyConfig": {"strategy": "CONSTANT", "count": 2}})
    os.kill(emu.function_containers(first_function(emu))["instances"][0]["pid"], signal.SIGKILL)

    deadline = time.monotonic() + 10.0
    while (report(emu)["containersStarted"], report(emu)["containers"]) != (3, 2) and time.monotonic() < deadline:
        time.sleep(0.1)
    state = report(emu)
    assert (state["containers"], state["containersStarted"]) == (2, 3)
    assert all(c["alive"] for c in emu.function_containers(first_function(emu))["instances"])


def test_a_slow_function_queues_callers_within_bounds_and_never_runs_more_containers(
    start: Callable[..., Emulator], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Four callers of a function that sleeps past its 2 s timeout, two containers, one queue
    place: at most two fdk processes ever run; each caller gets 504 (timed out, its container
    replaced) or 429 (no container came free), never a hang."""
    monkeypatch.setattr(runtime, "MAX_WAITING", 1)
    emu = start({"timeoutInSeconds": 2, "coldStart": {"maxContainers": 2}})
    most, done = 0, threading.Event()

    def watch() -> None:
        nonlocal most
        while not done.is_set():
            most = max(most, len(emu.function_containers(first_function(emu))["pids"]))
            time.sleep(0.01)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        with ThreadPoolExecutor(4) as callers:
            results = list(callers.map(lambda n: call(emu, tmp_path / f"slow{n}", sleep=5.0), range(4)))
    finally:
        done.set()
        watcher.join()

    statuses = sorted(status for status, _ in results)
    assert set(statuses) <= {429, 504} and 429 in statuses and 504 in statuses
    assert all(seconds < 10.0 for _, seconds in results)
    assert most <= 2, f"{most} fdk processes ran at once with maxContainers 2"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"delaySeconds": 600}, "coldStart.delaySeconds must be a number of seconds from 0 to 60"),
        ({"maxContainers": 100}, "coldStart.maxContainers must be an integer from 1 to 16"),
        ({"idleTimeoutSeconds": -1}, "coldStart.idleTimeoutSeconds"),
        ({"delay": 1}, "coldStart must be an object of idleTimeoutSeconds, .*, not with 'delay'"),
        ("fast", "coldStart must be an object"),
    ],
)
def test_a_bad_cold_start_setting_stops_the_emulator_with_a_clear_error(tmp_path: Path, raw: Any, message: str) -> None:
    with pytest.raises(ValueError, match=f"function vip-failover: {message}"):
        Emulator.start(topology=topology_file(tmp_path, coldStart=raw))


def test_a_bad_provisioned_concurrency_is_refused_and_a_serve_flag_too(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="provisionedConcurrencyConfig must be"):
        Emulator.start(topology=topology_file(tmp_path, provisionedConcurrencyConfig={"strategy": "CONSTANT"}))
    with pytest.raises(ValueError, match="delaySeconds"):
        Emulator.start(cold_start={"delaySeconds": 1e6})
    with pytest.raises(ValueError, match="profile must be one of"):
        Emulator.start(profile="slow")


def test_serve_flags_and_the_profile_make_the_cold_start_settings() -> None:
    args = parser().parse_args(
        ["serve", "--profile", "realistic", "--function-cold-start", "2.5", "--function-max-containers", "3"]
    )
    assert cli_cold_start(args) == {"delaySeconds": 2.5, "maxContainers": 3}
    assert cold_start(cli_cold_start(args), REALISTIC) == ColdStart(idle_timeout_s=30.0, delay_s=2.5, max_containers=3)
    assert cli_cold_start(parser().parse_args(["serve"])) == {} and ColdStart(None, 0.0, 4) == WARM


def test_expired_stops_the_longest_idle_first_and_keeps_the_provisioned() -> None:
    # busy (None), idle 10 s, idle 2 s, idle 5 s at now=10 with a 3 s timeout
    since = [None, 0.0, 8.0, 5.0]
    assert expired(since, 10.0, 3.0, keep=0) == [1, 3]
    assert expired(since, 10.0, 3.0, keep=3) == [1]
    assert expired(since, 10.0, 3.0, keep=4) == []
    assert expired(since, 10.0, None, keep=0) == []
    assert expired(since, 10.0, 0.0, keep=1) == [1, 3, 2]


def test_provisioned_concurrency_takes_the_sdk_model_shapes() -> None:
    assert provisioned_concurrency(None) == {"strategy": "NONE"}
    assert provisioned_concurrency({"strategy": "CONSTANT", "count": 20}) == {"strategy": "CONSTANT", "count": 20}
    for bad in (
        {"strategy": "CONSTANT", "count": 0},
        {"strategy": "CONSTANT", "count": True},
        {"strategy": "NONE", "count": 2},
        {"strategy": "SOME"},
        ["CONSTANT"],
    ):
        with pytest.raises(ValueError):
            provisioned_concurrency(bad)
