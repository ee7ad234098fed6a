"""What acquiring an instance-principal token costs: per-request latency of IMDS v2 and of the
federation endpoint, installed at start as default latency of their operations (ocisim.faults).

Why: a caller that builds `InstancePrincipalsSecurityTokenSigner()` for every failover makes
four IMDS requests (region, certificate, key, intermediate) and one federation POST each time;
on a loopback emulator they cost nothing, on OCI they do. Default 0 (the `fast` profile).

The `realistic` numbers are estimates, not measurements (no published figure was found):
IMDS is a link-local HTTP endpoint answered on the instance's host, a few milliseconds a request;
federation is an HTTPS POST to auth.<region>.oraclecloud.com from within the region, a new TLS
connection (the signer builds its own session) and the token's issue, a few hundred
milliseconds. The session key's generation is real work the SDK already does here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ocisim.identity.routes import FEDERATION_OPERATION, IMDS_OPERATIONS
from ocisim.service import REALISTIC_PROFILE

MAX_LATENCY_SECONDS = 10.0
REALISTIC_IMDS_SECONDS = 0.005
REALISTIC_FEDERATION_SECONDS = 0.3


def _seconds(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= MAX_LATENCY_SECONDS:
        raise ValueError(f"{name} must be a number of seconds from 0 to {MAX_LATENCY_SECONDS:g}, not {value!r}")
    return float(value)


def token_latency(options: Mapping[str, Any]) -> dict[str, float]:
    """Seconds per request by operation: the profile's, overridden by `imds_latency_s` and
    `federation_latency_s` (`serve --imds-latency`, `--federation-latency`)."""
    realistic = options.get("profile") == REALISTIC_PROFILE
    imds = options.get("imds_latency_s")
    federation = options.get("federation_latency_s")
    imds_s = _seconds(imds, "imds latency") if imds is not None else REALISTIC_IMDS_SECONDS * realistic
    federation_s = (
        _seconds(federation, "federation latency")
        if federation is not None
        else REALISTIC_FEDERATION_SECONDS * realistic
    )
    return {**dict.fromkeys(IMDS_OPERATIONS, imds_s), FEDERATION_OPERATION: federation_s}


def install(backend: Any) -> None:
    """The identity service's start hook: every nonzero latency becomes a default latency."""
    for operation, seconds in token_latency(backend.options).items():
        if seconds:
            backend.faults.set_default_latency(operation, seconds)
