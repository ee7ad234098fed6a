"""What an instance-principal token costs: the SDK's signer, built as a per-failover script
builds it, pays the configured IMDS and federation latency; by default it pays nothing extra."""

from __future__ import annotations

import time

import oci
import pytest
import requests

from ocisim import Emulator
from ocisim.identity.latency import REALISTIC_FEDERATION_SECONDS, REALISTIC_IMDS_SECONDS
from ocisim.identity.routes import IMDS_OPERATIONS

IMDS_S, FEDERATION_S = 0.1, 0.3
SIGNER_IMDS_REQUESTS = 4  # region, certificate, key, intermediate certificate


def build_signer(emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> float:
    """Seconds to build node-a's signer (it fetches its token as it is built, and raises if the
    federation refuses it)."""
    monkeypatch.setenv("OCI_METADATA_BASE_URL", f"{emu.endpoint}/imds/node-a/opc/v2")
    began = time.monotonic()
    oci.auth.signers.InstancePrincipalsSecurityTokenSigner(federation_endpoint=f"{emu.endpoint}/v1/x509")
    return time.monotonic() - began


def latency(emu: Emulator) -> dict[str, float]:
    return requests.get(f"{emu.endpoint}/_admin/faults", timeout=5).json()["latency"]


def test_the_signer_pays_the_imds_and_federation_latency(monkeypatch: pytest.MonkeyPatch) -> None:
    with Emulator.start(imds_latency=IMDS_S, federation_latency=FEDERATION_S) as emu:
        seconds = build_signer(emu, monkeypatch)
        emu.clear_faults()  # a modeled cost, not a fault: clearing faults keeps it
        assert latency(emu)["X509Federation"] == FEDERATION_S
    assert seconds >= SIGNER_IMDS_REQUESTS * IMDS_S + FEDERATION_S


def test_by_default_token_requests_add_no_latency_and_the_realistic_profile_states_its_own() -> None:
    with Emulator.start() as emu:
        assert not set(latency(emu)) & {*IMDS_OPERATIONS, "X509Federation"}
    with Emulator.start(profile="realistic", federation_latency=0.05) as emu:
        stated = latency(emu)
    assert stated["ImdsGetCertificate"] == REALISTIC_IMDS_SECONDS and stated["X509Federation"] == 0.05
    assert REALISTIC_FEDERATION_SECONDS > 0


def test_a_latency_out_of_bounds_stops_the_emulator_with_a_clear_error() -> None:
    with pytest.raises(RuntimeError) as caught:
        Emulator.start(imds_latency=60.0)
    assert "imds latency must be a number of seconds from 0 to 10" in str(caught.value.__cause__)
