"""The OCI adapter: read where a VIP is, move it with if-match, read it back.

An IPv4 VIP is a secondary private IP (GetPrivateIp / UpdatePrivateIp), an IPv6 VIP an Ipv6
(GetIpv6 / UpdateIpv6 with ``vnicId``, the same if-match and read-back; IPv6 has no public-IP
object). The VIP's OCID says which (``config.vip_family``); the shell treats both alike.

Only the SDK submodules used here are imported (``import oci`` pulls in every service and
costs a second of cold start). ``build_client`` is the one place that builds clients, once
per container:

* signer: resource principals when ``OCI_RESOURCE_PRINCIPAL_VERSION`` is set (inside OCI
  Functions, and in the emulator that mints them); otherwise an API key from the config file
  (``OCI_CONFIG_FILE`` or ``~/.oci/config``, profile ``OCI_CONFIG_PROFILE`` or DEFAULT) for a
  person running the CLI. The SDK re-reads the RPST/key files itself and retries once on 401.
* endpoint: ``OCI_SERVICE_ENDPOINT`` overrides the regional one (the emulator).
* retries: a strategy from ``RetryStrategyBuilder`` built *per call* from what is left of the
  invocation's budget (``Deadline``: ``RETRY_DEADLINE_SECONDS``, cut to what fdk's deadline
  leaves): each attempt's (connect, read) timeouts are shrunk to fit what is left, and retries
  may start only while one more backoff and one more full attempt still fit, so every OCI call,
  retries and in-flight attempts included, ends inside the budget. When that window is empty
  the call is made once, never with ``total_elapsed_time_seconds=0``, which the SDK reads as
  "no limit" (600 s). It retries what the SDK's own checker retries: timeouts,
  connection errors, 409 IncorrectState, 429 and 5xx. A 412 is not retried: it means someone
  else moved the IP and the shell must look again before deciding.
* circuit breaker: **off**. The SDK's default breaker is per client, i.e. per warm container:
  after ten transient errors it fails every call for 30 s. Our calls are few and rare, and
  the one that matters comes right after trouble; a breaker tripped by the previous
  invocation's throttling would refuse the next failover without even trying. The bounded
  per-invocation retry budget is what protects the API instead.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import oci.circuit_breaker
import oci.config
import oci.retry
from oci.core import VirtualNetworkClient
from oci.core.models import GetPublicIpByPrivateIpIdDetails, UpdateIpv6Details, UpdatePrivateIpDetails
from oci.exceptions import ServiceError

from .config import vip_family

# (connect, read) seconds for every OCI call: a hung connection must not eat the budget.
CALL_TIMEOUT = (2.0, 5.0)
MAX_WAIT_BETWEEN_CALLS = 2.0
# Backoff before retry n: min(RETRY_BASE_SLEEP * 2**(n-1) + uniform(0, RETRY_JITTER), MAX_WAIT_BETWEEN_CALLS).
RETRY_BASE_SLEEP = 0.2
RETRY_JITTER = 0.2


class ApiError(Exception):
    """An OCI call failed after its retries: the shell reports "could not verify / act"."""

    def __init__(self, operation: str, status: int | None, code: str, message: str, opc_request_id: str | None) -> None:
        super().__init__(f"{operation} failed: {status or ''} {code} {message}".strip())
        self.operation = operation
        self.status = status
        self.code = code
        self.opc_request_id = opc_request_id

    def log_fields(self) -> dict[str, Any]:
        """What a log line says of a failed call (one shape for every such line)."""
        return {
            "operation": self.operation,
            "status": self.status,
            "code": self.code,
            "opc_request_id": self.opc_request_id,
        }


class EtagMismatch(Exception):
    """UpdatePrivateIp or UpdateIpv6 answered 412: the VIP changed since we read it."""


@dataclass(frozen=True)
class VipState:
    """One VIP as read. ``private_ip_id`` is the VIP's OCID, an Ipv6's for an IPv6 VIP (the name
    every caller and answer already uses)."""

    private_ip_id: str
    ip_address: str
    vnic_id: str
    is_primary: bool
    etag: str
    freeform_tags: Mapping[str, str] = field(default_factory=dict)
    subnet_id: str = ""
    # A copy of an earlier read (Network.recall), not read for this decision. Its etag makes a
    # write safe (the VIP changed since: 412, read again), but nothing else checks it: a
    # decision not to write is taken again on a fresh read (failover/moves.py).
    remembered: bool = False

    @property
    def family(self) -> str:
        return vip_family(self.private_ip_id)


@dataclass
class Deadline:
    """The invocation's budget for OCI calls, on the monotonic clock."""

    seconds: float
    started: float = field(default_factory=time.monotonic)

    def remaining(self) -> float:
        return max(0.0, self.started + self.seconds - time.monotonic())


def call_plan(left: float) -> tuple[tuple[float, float], float | None]:
    """(connect, read) timeouts for each attempt and the window in which retries may start
    (None: one attempt only), so that the call ends within ``left`` seconds."""
    attempt = min(sum(CALL_TIMEOUT), left)
    connect = min(CALL_TIMEOUT[0], attempt / 2)
    window = left - attempt - MAX_WAIT_BETWEEN_CALLS
    return (connect, attempt - connect), (window if window > 0 else None)


class Network:
    """The few VirtualNetwork calls the controller makes, with errors turned into our types."""

    def __init__(self, client: VirtualNetworkClient) -> None:
        self.client = client

    def read(self, private_ip_id: str, deadline: Deadline) -> VipState:
        """GetPrivateIp, or GetIpv6 for an IPv6 VIP."""
        if vip_family(private_ip_id) == "ipv6":
            response = self._call("GetIpv6", deadline, self.client.get_ipv6, private_ip_id)
        else:
            response = self._call("GetPrivateIp", deadline, self.client.get_private_ip, private_ip_id)
        ip = response.data
        return VipState(
            private_ip_id=ip.id,
            ip_address=ip.ip_address,
            vnic_id=ip.vnic_id,
            is_primary=bool(getattr(ip, "is_primary", False)),
            etag=response.headers.get("etag", ""),
            freeform_tags=dict(ip.freeform_tags or {}),
            subnet_id=ip.subnet_id or "",
        )

    def recall(self, private_ip_id: str, deadline: Deadline) -> VipState:
        """The VIP to decide on first: here a fresh read; an adapter that keeps the last read of
        each VIP (health_probe/direct.py) may answer with that copy and save a round trip."""
        return self.read(private_ip_id, deadline)

    def move(self, state: VipState, vnic_id: str, tags: Mapping[str, str], deadline: Deadline) -> str | None:
        """UpdatePrivateIp / UpdateIpv6 to ``vnic_id`` (and our tags) if the etag still matches;
        the opc-request-id."""
        return self._update(state, deadline, vnic_id=vnic_id, freeform_tags=dict(tags)).request_id

    def retag(self, state: VipState, tags: Mapping[str, str], deadline: Deadline) -> VipState:
        """Replace the freeform tags only (no ``vnicId``: nothing moves), if the etag still
        matches; the VIP as a fresh GET reads it."""
        self._update(state, deadline, freeform_tags=dict(tags))
        return self.read(state.private_ip_id, deadline)

    def _update(self, state: VipState, deadline: Deadline, **details: Any) -> Any:
        if state.family == "ipv6":
            operation, method, body = "UpdateIpv6", self.client.update_ipv6, UpdateIpv6Details(**details)
        else:
            operation, method, body = (
                "UpdatePrivateIp",
                self.client.update_private_ip,
                UpdatePrivateIpDetails(**details),
            )
        try:
            return self._call(operation, deadline, method, state.private_ip_id, body, if_match=state.etag)
        except ApiError as exc:
            if exc.status == 412:
                raise EtagMismatch(str(exc)) from None
            raise

    def public_ip(self, private_ip_id: str, deadline: Deadline) -> str | None:
        """The public IP riding on this private IP (None when it has none; an IPv6 VIP never has one)."""
        if vip_family(private_ip_id) == "ipv6":
            return None
        details = GetPublicIpByPrivateIpIdDetails(private_ip_id=private_ip_id)
        try:
            response = self._call(
                "GetPublicIpByPrivateIpId", deadline, self.client.get_public_ip_by_private_ip_id, details
            )
        except ApiError as exc:
            if exc.status == 404:
                return None
            raise
        return response.data.ip_address

    def vnic_subnet(self, vnic_id: str, deadline: Deadline) -> str:
        """GetVnic: the subnet a node's VNIC is in (a VIP moves only within its subnet)."""
        return str(self._call("GetVnic", deadline, self.client.get_vnic, vnic_id).data.subnet_id)

    def _call(self, operation: str, deadline: Deadline, method: Any, *args: Any, **kwargs: Any) -> Any:
        return bounded_call(self.client, operation, deadline, method, *args, **kwargs)


def bounded_call(client: Any, operation: str, deadline: Deadline, method: Any, *args: Any, **kwargs: Any) -> Any:
    """``method`` of ``client`` within what ``deadline`` leaves (see the module docstring); SDK
    errors become ``ApiError``."""
    left = deadline.remaining()
    if left <= 0.05:
        raise ApiError(operation, None, "DeadlineExceeded", "no time left for this call", None)
    timeouts, window = call_plan(left)
    strategy: Any = oci.retry.NoneRetryStrategy()
    if window is not None:
        strategy = oci.retry.RetryStrategyBuilder(
            max_attempts=10,
            total_elapsed_time_seconds=window,
            retry_base_sleep_time_seconds=RETRY_BASE_SLEEP,
            retry_exponential_growth_factor=2,
            retry_max_wait_between_calls_seconds=MAX_WAIT_BETWEEN_CALLS,
            decorrelated_jitter=RETRY_JITTER,
        ).get_retry_strategy()
    # One invocation at a time per container (fdk), and its OCI calls are sequential: the
    # client's timeout is this call's.
    client.base_client.timeout = timeouts
    try:
        return method(*args, retry_strategy=strategy, **kwargs)
    except ServiceError as exc:
        raise ApiError(operation, exc.status, exc.code or "", exc.message or "", exc.request_id) from None
    except Exception as exc:  # connection errors and timeouts after the retries ran out
        raise ApiError(operation, None, type(exc).__name__, str(exc)[:200], None) from None


# The keys that choose the credentials (read here, not by Config: they are the runtime's).
CREDENTIAL_KEYS = ("OCI_RESOURCE_PRINCIPAL_VERSION", "OCI_CONFIG_FILE", "OCI_CONFIG_PROFILE")


def client_setup(env: Mapping[str, str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The SDK ``config`` and signer keyword arguments of every client this package builds (see
    the module docstring): resource principals inside OCI Functions, else an API key file."""
    if env.get("OCI_RESOURCE_PRINCIPAL_VERSION"):
        from oci.auth.signers import get_resource_principals_signer

        signer = get_resource_principals_signer()
        return {"region": signer.region}, {"signer": signer}
    path = env.get("OCI_CONFIG_FILE") or os.path.expanduser(oci.config.DEFAULT_LOCATION)
    return oci.config.from_file(path, env.get("OCI_CONFIG_PROFILE") or "DEFAULT"), {}


def build_client(
    client_class: Any, env: Mapping[str, str], service_endpoint: str | None, timeout: tuple[float, float]
) -> Any:
    """One OCI client: our credentials, endpoint override, no circuit breaker, ``timeout``."""
    config, kwargs = client_setup(env)
    if service_endpoint:
        kwargs["service_endpoint"] = service_endpoint
    return client_class(
        config,
        timeout=timeout,
        circuit_breaker_strategy=oci.circuit_breaker.NoCircuitBreakerStrategy(),
        **kwargs,
    )


def build_network(env: Mapping[str, str], service_endpoint: str | None) -> Network:
    """Build the VirtualNetwork client for this container (see the module docstring)."""
    return Network(build_client(VirtualNetworkClient, env, service_endpoint, CALL_TIMEOUT))
