"""`serve --tls`: the SDK and the oci CLI over HTTPS, trusting the CA the emulator made."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any

import certifi
import oci
import pytest
import requests

from ocisim import Emulator
from tests.support.clients import OCI_CLI
from tests.support.emulator_process import serve
from tests.support.paths import REPO


def test_sdk_over_https_with_the_ready_lines_cert_bundle(
    topology: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """REQUESTS_CA_BUNDLE, as a user sets it (it also wins over a session's `verify`)."""
    vip = topology["privateIps"][0]["id"]
    with Emulator.start(tls=True) as emu:
        ready = emu.ready_line
        assert ready["endpoint"].startswith("https://127.0.0.1:")
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", ready["cert_bundle"])
        net = oci.core.VirtualNetworkClient(emu.oci_config(), service_endpoint=ready["endpoint"])

        assert net.get_private_ip(vip).data.ip_address == "10.0.0.4"

        with pytest.raises(requests.exceptions.SSLError):  # the system CAs: refused
            requests.get(f"{ready['endpoint']}/20160918/privateIps/{vip}", timeout=5, verify=certifi.where())
        assert (
            requests.get(
                f"{ready['endpoint']}/20160918/privateIps/{vip}", timeout=5, verify=ready["cert_bundle"]
            ).status_code
            == 401
        )  # trusted, but unsigned


def test_oci_cli_over_https_with_requests_ca_bundle(topology: dict[str, Any], tmp_path: Path) -> None:
    vip = topology["privateIps"][0]["id"]
    with Emulator.start(tls=True) as emu:
        env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": str(tmp_path),
            "REQUESTS_CA_BUNDLE": emu.ready_line["cert_bundle"],
            "OCI_CLI_SUPPRESS_FILE_PERMISSIONS_WARNING": "True",
        }
        done = subprocess.run(
            [
                str(OCI_CLI),
                "--config-file",
                emu.oci_config_file,
                "--endpoint",
                emu.endpoint,
                "network",
                "private-ip",
                "get",
                "--private-ip-id",
                vip,
            ],
            capture_output=True,
            text=True,
            timeout=90,
            env=env,
        )

        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["data"]["ip-address"] == "10.0.0.4"


def test_serve_tls_prints_an_https_ready_line_and_the_function_runs_over_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The whole chain over HTTPS: the function (fdk) calls back into the emulator with our CA."""
    with serve(
        "--tls",
        "--function-dir",
        str(REPO),
        "--state",
        str(tmp_path / "state.json"),
        "--port",
        "0",
        stderr=subprocess.DEVNULL,
    ) as (_, ready):
        assert ready["endpoint"].startswith("https://") and Path(ready["cert_bundle"]).is_file()
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", ready["cert_bundle"])
        config = oci.config.from_file(ready["oci_config_file"])
        invoker = oci.functions.FunctionsInvokeClient(config, service_endpoint=ready["endpoint"])

        answer = invoker.invoke_function(
            ready["functions"]["vip-failover"], invoke_function_body=json.dumps({"action": "status"})
        )

        status = json.loads(answer.data.content)
        assert status["decision"] == "status", status


def test_notifications_delivers_to_the_function_over_https(
    topology: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """PublishMessage -> Notifications invokes the subscribed function through the HTTPS endpoint.

    No CA variable in this process: Notifications (in the emulator's process) must trust the CA
    by itself; this test's own client is given it as `verify`.
    """
    topic = topology["topics"][0]["topicId"]
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
    with Emulator.start(tls=True, function_dir=REPO) as emu:
        ons = oci.ons.NotificationDataPlaneClient(emu.oci_config(), service_endpoint=emu.endpoint)
        ons.base_client.session.verify = emu.ready_line["cert_bundle"]

        published = ons.publish_message(topic, oci.ons.models.MessageDetails(body=json.dumps({"action": "status"})))

        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            attempts = [d for d in emu.deliveries() if d["messageId"] == published.data.message_id]
            if attempts:
                break
            time.sleep(0.1)
        assert [a["status"] for a in attempts] == [200]
