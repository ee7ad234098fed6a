"""Functions as the SDK sees it: the control plane, relayed Fn headers, detached invocations."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import oci
import pytest

from ocisim import Emulator
from ocisim.emulator import DEFAULT_TOPOLOGY
from ocisim.functions.runtime import MAX_DETACHED
from tests.support.processes import alive

MARKER_FN = Path(__file__).parent / "fixtures" / "marker_fn"


@pytest.fixture
def marker_emulator() -> Iterator[Emulator]:
    with Emulator.start(function_dir=MARKER_FN) as emu:
        yield emu


def invoker(emu: Emulator) -> oci.functions.FunctionsInvokeClient:
    return oci.functions.FunctionsInvokeClient(emu.oci_config(), service_endpoint=emu.endpoint)


def wait_for(path: Path, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if path.exists():
            return True
        time.sleep(0.05)
    return False


def test_sync_invoke_relays_the_fdk_headers_and_the_call_id(marker_emulator: Emulator, tmp_path: Path) -> None:
    function_id = next(iter(marker_emulator.functions.values()))
    marker = tmp_path / "ran"

    answer = invoker(marker_emulator).invoke_function(
        function_id, invoke_function_body=json.dumps({"marker": str(marker)})
    )

    assert answer.status == 200 and json.loads(answer.data.content) == {"ran": True}
    assert answer.headers["Fn-Fdk-Version"].startswith("fdk-python/")
    assert answer.headers["Fn-Fdk-Runtime"].startswith("python")
    assert answer.headers["Fn-Call-Id"] == answer.headers["opc-request-id"] == marker.read_text()


def test_detached_invoke_answers_202_at_once_and_runs_in_the_background(
    marker_emulator: Emulator, tmp_path: Path
) -> None:
    function_id = next(iter(marker_emulator.functions.values()))
    marker = tmp_path / "ran"

    answer = invoker(marker_emulator).invoke_function(
        function_id, invoke_function_body=json.dumps({"marker": str(marker), "sleep": 1.5}), fn_invoke_type="detached"
    )

    assert answer.status == 202
    assert not marker.exists(), "the answer came before the function finished"
    assert wait_for(marker, 10.0)
    assert marker.read_text() == answer.headers["Fn-Call-Id"]


def test_unknown_invoke_type_is_refused(marker_emulator: Emulator) -> None:
    function_id = next(iter(marker_emulator.functions.values()))
    with pytest.raises(oci.exceptions.ServiceError) as caught:
        invoker(marker_emulator).invoke_function(function_id, invoke_function_body="{}", fn_invoke_type="later")
    assert (caught.value.status, caught.value.code) == (400, "InvalidParameter")


def test_a_delivery_keeps_the_functions_whole_answer(marker_emulator: Emulator, tmp_path: Path) -> None:
    """A caller judges the answer a delivery got: a long one (several VIPs) must parse whole."""
    topic = json.loads(DEFAULT_TOPOLOGY.read_text())["topics"][0]["topicId"]
    ons = oci.ons.NotificationDataPlaneClient(marker_emulator.oci_config(), service_endpoint=marker_emulator.endpoint)
    body = json.dumps({"marker": str(tmp_path / "ran"), "pad": "x" * 6000})
    message_id = ons.publish_message(topic, oci.ons.models.MessageDetails(title="t", body=body)).data.message_id

    deadline, delivered = time.monotonic() + 30, []
    while not delivered and time.monotonic() < deadline:
        delivered = [d for d in marker_emulator.deliveries() if d["messageId"] == message_id]
        time.sleep(0.05)

    assert delivered and delivered[0]["status"] == 200
    assert json.loads(delivered[0]["response"]) == {"ran": True, "pad": "x" * 6000}


def test_management_client_reads_functions_and_applications(emulator: Emulator) -> None:
    client = oci.functions.FunctionsManagementClient(emulator.oci_config(), service_endpoint=emulator.endpoint)
    function_id = emulator.functions["vip-failover"]

    function = client.get_function(function_id).data
    [application] = client.list_applications(emulator.compartment_id).data
    summaries = {f.display_name: f for f in client.list_functions(application.id).data}
    summary = summaries["vip-failover"]

    assert (function.invoke_endpoint, function.lifecycle_state) == (emulator.endpoint, "ACTIVE")
    assert function.application_id == application.id == client.get_application(application.id).data.id
    assert summary.id == function_id and function.config["FAILBACK_POLICY"] == "never"
    assert set(summaries) == set(emulator.functions), "every function the topology deploys is listed"


def test_detached_invocations_in_flight_are_bounded_and_end_with_the_emulator(tmp_path: Path) -> None:
    """A caller that floods detached invokes gets 429 beyond MAX_DETACHED; stopping the emulator
    mid-flight leaves no function process behind."""
    with Emulator.start(function_dir=MARKER_FN) as emu:
        function_id = next(iter(emu.functions.values()))
        client = invoker(emu)
        body = json.dumps({"marker": str(tmp_path / "ran"), "sleep": 5})

        accepted = [
            client.invoke_function(function_id, invoke_function_body=body, fn_invoke_type="detached").status
            for _ in range(MAX_DETACHED)
        ]
        with pytest.raises(oci.exceptions.ServiceError) as caught:
            client.invoke_function(function_id, invoke_function_body=body, fn_invoke_type="detached")
        launched = emu.function_containers(function_id)["pids"]

    assert accepted == [202] * MAX_DETACHED
    assert (caught.value.status, caught.value.code) == (429, "TooManyRequests")
    assert launched and [pid for pid in launched if alive(pid)] == []
