"""The one place that builds OCI signers and clients for the node agent and notify.

In OCI the agent uses instance principals (``InstancePrincipalsSecurityTokenSigner``, which reads
the instance metadata service; ``OCI_METADATA_BASE_URL`` points it elsewhere, e.g. the emulator);
run by hand it uses an API-key config file. Retries are off and the circuit breaker is off: the
agent's buffer is its retry, and a breaker would only delay the first post after an outage.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import oci

from health_probe.config import AgentConfig

INGESTION_TEMPLATE = "https://telemetry-ingestion.{region}.{secondLevelDomain}"
CONNECT_TIMEOUT_SECONDS = 3.0


@dataclass(frozen=True)
class Credentials:
    """What every client constructor needs: an SDK config dict, a signer, and the region."""

    config: dict[str, Any]
    signer: Any
    region: str


def credentials(config: AgentConfig) -> Credentials:
    """Instance principals, or the API key of ``oci_config_file`` when run by hand."""
    if config.auth == "config_file":
        assert config.oci_config_file is not None  # guaranteed by config validation
        sdk_config = oci.config.from_file(config.oci_config_file, config.oci_profile)
        signer = oci.signer.Signer(
            tenancy=sdk_config["tenancy"],
            user=sdk_config["user"],
            fingerprint=sdk_config["fingerprint"],
            private_key_file_location=sdk_config["key_file"],
            pass_phrase=sdk_config.get("pass_phrase"),
        )
        return Credentials(sdk_config, signer, config.region or sdk_config["region"])
    kwargs = {"federation_endpoint": config.federation_endpoint} if config.federation_endpoint else {}
    signer = oci.auth.signers.InstancePrincipalsSecurityTokenSigner(**kwargs)
    return Credentials({"region": config.region or signer.region}, signer, config.region or signer.region)


def monitoring_ingestion_client(config: AgentConfig, creds: Credentials) -> oci.monitoring.MonitoringClient:
    """MonitoringClient on the telemetry-ingestion endpoint, which the SDK does not pick by itself."""
    endpoint = config.telemetry_endpoint or oci.regions.endpoint_for(
        "monitoring", creds.region, service_endpoint_template=INGESTION_TEMPLATE
    )
    return oci.monitoring.MonitoringClient(
        creds.config,
        signer=creds.signer,
        service_endpoint=endpoint,
        retry_strategy=oci.retry.NoneRetryStrategy(),
        circuit_breaker_strategy=oci.circuit_breaker.NoCircuitBreakerStrategy(),
        timeout=(CONNECT_TIMEOUT_SECONDS, config.post_timeout_seconds),
    )


def network_client(creds: Credentials, service_endpoint: str | None) -> oci.core.VirtualNetworkClient:
    """The direct fast path's VirtualNetworkClient (health_probe/direct.py) with the agent's
    credentials, shaped as the function's own (failover/network.py: its per-call timeouts and
    retry budget, no circuit breaker)."""
    from failover.network import CALL_TIMEOUT

    endpoint = {"service_endpoint": service_endpoint} if service_endpoint else {}
    return oci.core.VirtualNetworkClient(
        creds.config,
        signer=creds.signer,
        timeout=CALL_TIMEOUT,
        circuit_breaker_strategy=oci.circuit_breaker.NoCircuitBreakerStrategy(),
        **endpoint,
    )
