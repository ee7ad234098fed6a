"""Invoke the failover function with a keepalived notice: the one SDK call of the fast path.

Used warm by the relay in the node agent (health_probe/relay.py: client and credentials built
once) and cold by ``health_probe.notify`` when the relay does not answer. Both bound the call by
``notify_timeout_seconds``: SDK retries stop at that deadline.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import oci

from health_probe.clients import CONNECT_TIMEOUT_SECONDS, Credentials, credentials
from health_probe.config import AgentConfig
from health_probe.notice import Outcome, answered, notice


def invoke_client(config: AgentConfig, creds: Credentials | None = None) -> oci.functions.FunctionsInvokeClient:
    """FunctionsInvokeClient on the function's invoke endpoint, retrying only inside the deadline."""
    creds = creds or credentials(config)
    retry = oci.retry.RetryStrategyBuilder(
        max_attempts_check=True,
        max_attempts=3,
        total_elapsed_time_check=True,
        total_elapsed_time_seconds=config.notify_timeout_seconds,
        retry_max_wait_between_calls_seconds=1,
        retry_base_sleep_time_seconds=0.2,
        service_error_check=True,
        service_error_retry_on_any_5xx=True,
    ).get_retry_strategy()
    return oci.functions.FunctionsInvokeClient(
        creds.config,
        signer=creds.signer,
        service_endpoint=config.invoke_endpoint,
        retry_strategy=retry,
        circuit_breaker_strategy=oci.circuit_breaker.NoCircuitBreakerStrategy(),
        timeout=(CONNECT_TIMEOUT_SECONDS, config.notify_timeout_seconds),
    )


def invoke(
    client: oci.functions.FunctionsInvokeClient, config: AgentConfig, state: str, vips: tuple[str, ...] | None = None
) -> Outcome:
    """One notice to the function (with the client's bounded retries): its answer, or why not.
    ``vips``: the VIPs of the VRRP instance that changed state (None: every VIP)."""
    assert config.function_id is not None  # guaranteed by the callers' configuration checks
    body = json.dumps(notice(config.node, state, vips))
    try:
        response = client.invoke_function(config.function_id, invoke_function_body=body)
        return answered(json.loads(response.data.content or b"null"))
    except oci.exceptions.ServiceError as exc:
        return Outcome(False, reason=f"{exc.status} {exc.code}: {exc.message}")
    except (oci.exceptions.RequestException, oci.exceptions.ConnectTimeout) as exc:
        return Outcome(False, reason=f"function unreachable: {type(exc).__name__}")
    except ValueError:
        return Outcome(False, reason="the function's answer is not JSON")


def warm(config: AgentConfig) -> tuple[Callable[[str, tuple[str, ...] | None], Outcome], Callable[[], None]]:
    """The relay's factory: credentials and client built now; (invoke, keep the token fresh)."""
    creds = credentials(config)
    client = invoke_client(config, creds)
    return (lambda state, vips: invoke(client, config, state, vips)), (lambda: refresh_if_stale(creds.signer))


def refresh_if_stale(signer: Any) -> None:
    """Refresh an instance-principal token once past half its lifetime (API-key signers have
    none), so the token a notice signs with is never fetched while a failover waits."""
    token = getattr(getattr(signer, "federation_client", None), "security_token", None)
    if token is not None and not token.valid_with_half_expiration_time():
        signer.refresh_security_token()
