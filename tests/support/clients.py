"""Clients of the emulator that nobody here wrote, or that sign the way they do: raw HTTP signed
by the oci SDK's own signer, the oci command-line client, and the SDK's UpdatePrivateIp."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import oci
import requests

from ocisim import Emulator


class SignedSession:
    """Raw HTTP to the emulator, signed by the oci SDK's own request signer (API key)."""

    def __init__(self, emulator: Emulator) -> None:
        config = oci.config.from_file(emulator.oci_config_file, emulator.oci_profile)
        self.endpoint = emulator.endpoint
        self.auth = oci.signer.Signer(config["tenancy"], config["user"], config["fingerprint"], config["key_file"])

    def request(self, method: str, path: str, *, body: Any = None, **params: str) -> requests.Response:
        data = None if body is None else json.dumps(body)
        headers = {"content-type": "application/json"} if data is not None else {}
        return requests.request(
            method, self.endpoint + path, params=params or None, data=data, headers=headers, auth=self.auth, timeout=10
        )


OCI_CLI = Path(sys.executable).parent / "oci"


def oci_cli(emulator: Emulator, *args: str, home: Path, expect_ok: bool = True) -> subprocess.CompletedProcess[str]:
    """The oci command-line client against the emulator's endpoint with its config file.

    `home` keeps the CLI's own files (its invoke-endpoint cache) inside the test's directory.
    """
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(home), "OCI_CLI_SUPPRESS_FILE_PERMISSIONS_WARNING": "True"}
    done = subprocess.run(
        [str(OCI_CLI), "--config-file", emulator.oci_config_file, "--endpoint", emulator.endpoint, *args],
        capture_output=True,
        text=True,
        timeout=90,
        env=env,
    )
    if expect_ok:
        assert done.returncode == 0, done.stderr
    return done


def move(
    net: oci.core.VirtualNetworkClient, private_ip_id: str, vnic_id: str, etag: str | None = None
) -> oci.response.Response:
    """Assign ``private_ip_id`` to ``vnic_id`` (UpdatePrivateIp), optionally with If-Match."""
    return net.update_private_ip(private_ip_id, oci.core.models.UpdatePrivateIpDetails(vnic_id=vnic_id), if_match=etag)
