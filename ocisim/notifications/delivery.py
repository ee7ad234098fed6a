"""Delivering a message to a topic's subscriptions: ORACLE_FUNCTIONS invokes the function.

As in OCI, Notifications calls the Functions service (InvokeFunction over HTTP, signed with a
session token the emulator issued to the subscription), so latency and faults injected on
InvokeFunction apply to alarm deliveries too. Delivery is at least once: a failed invocation
(5xx, timeout, unreachable) is retried immediately, then after 1, 2, 4 … 32 minutes of emulated
time, for up to two hours, as OCI documents. Every attempt is logged in the state.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import dataclass, field
from typing import Any

import oci
from cryptography.hazmat.primitives.asymmetric import rsa

from ocisim.auth import new_private_key
from ocisim.notifications.models import NotificationsState

RETRY_DELAYS_SECONDS = (0, 60, 120, 240, 480, 960, 1920)
RETRY_WINDOW_SECONDS = 2 * 3600
INVOKE_READ_TIMEOUT_SECONDS = 330.0  # past the 300 s maximum function timeout
# How much of each answer the delivery log keeps: a function's whole JSON answer (the failover
# function's for a group of VIPs runs to a few KB), while a runaway answer cannot fill the state.
ANSWER_KEPT_CHARS = 16_000
SERVICE_NAME = "notifications"


@dataclass
class Deliveries:
    """Notifications' runtime: its session key (it signs InvokeFunction as a service principal)
    and the deliveries in flight, retries included."""

    session_key: rsa.RSAPrivateKey = field(default_factory=new_private_key)
    pending: set[asyncio.Task] = field(default_factory=set)


async def start_deliveries(backend: Any) -> None:
    backend.runtime[SERVICE_NAME] = Deliveries()


async def cancel_deliveries(backend: Any) -> None:
    """Stop pending retries (emulator shutdown; Monitoring, which publishes, has stopped)."""
    deliveries: Deliveries | None = backend.runtime.pop(SERVICE_NAME, None)
    if deliveries is None:
        return
    for task in deliveries.pending:
        task.cancel()
    await asyncio.gather(*deliveries.pending, return_exceptions=True)


def retry_delays() -> list[int]:
    """Waits before each retry: 0, 1, 2, 4, 8, 16, 32, 32 … minutes, within two hours."""
    delays, total, index = [], 0, 0
    while True:
        delay = RETRY_DELAYS_SECONDS[min(index, len(RETRY_DELAYS_SECONDS) - 1)]
        if total + delay > RETRY_WINDOW_SECONDS:
            return delays
        delays.append(delay)
        total += delay
        index += 1


def publish(backend: Any, topic_id: str, body: str) -> str:
    """Queue ``body`` for every active subscription of the topic; returns the message id."""
    message_id = f"ocid1.onsmessage.oc1.{backend.region}.{uuid.uuid4().hex}"
    with backend.lock:
        subscriptions = backend.states["notifications"].active_subscriptions(topic_id)
    deliveries: Deliveries = backend.runtime[SERVICE_NAME]
    for subscription in subscriptions:
        task = asyncio.get_running_loop().create_task(_deliver(backend, subscription, message_id, body))
        deliveries.pending.add(task)
        task.add_done_callback(deliveries.pending.discard)
    return message_id


async def _deliver(backend: Any, subscription: dict[str, Any], message_id: str, body: str) -> None:
    waits = [None, *retry_delays()]
    for attempt, wait in enumerate(waits, start=1):
        if wait:
            await backend.clock.asleep(wait)
        status, answer = await asyncio.to_thread(_invoke, backend, subscription, body)
        state: NotificationsState = backend.states["notifications"]
        with backend.lock:
            state.log_delivery(
                {
                    "messageId": message_id,
                    "subscriptionId": subscription["id"],
                    "topicId": subscription["topicId"],
                    "endpoint": subscription["endpoint"],
                    "attempt": attempt,
                    "time": backend.clock.iso_now(),
                    "status": status,
                    "request": _excerpt(body),
                    "response": answer[:ANSWER_KEPT_CHARS],
                }
            )
        backend.log(
            "notification delivery",
            message_id=message_id,
            subscription=subscription["id"],
            attempt=attempt,
            status=status,
        )
        if status == 200:
            return
    backend.log("notification undeliverable", message_id=message_id, subscription=subscription["id"])


def session_key(backend: Any) -> rsa.RSAPrivateKey:
    """The session key Notifications signs its InvokeFunction calls with, as a service principal."""
    return backend.runtime[SERVICE_NAME].session_key


def _invoke(backend: Any, subscription: dict[str, Any], body: str) -> tuple[int | str, str]:
    """One InvokeFunction call through the emulator's own endpoint, as the Notifications service."""
    key = session_key(backend)
    token = backend.keyring.issue_session_token(
        subscription["id"],
        key.public_key(),
        ptype="service",
        tenancy_id=backend.tenancy_id,
        compartment_id=subscription.get("compartmentId", backend.compartment_id),
        ttl_seconds=600,
    )
    signer = oci.auth.signers.SecurityTokenSigner(token, key)
    client = oci.functions.FunctionsInvokeClient(
        {"region": backend.region},
        signer=signer,
        service_endpoint=backend.endpoint,
        retry_strategy=oci.retry.NoneRetryStrategy(),
        circuit_breaker_strategy=oci.circuit_breaker.NoCircuitBreakerStrategy(),
        timeout=(5.0, INVOKE_READ_TIMEOUT_SECONDS),
    )
    if backend.ca_bundle:  # serving HTTPS; trust_env off, or REQUESTS_CA_BUNDLE would win over verify
        client.base_client.session.trust_env = False
        client.base_client.session.verify = backend.ca_bundle
    try:
        response = client.invoke_function(subscription["endpoint"], invoke_function_body=body)
        return response.status, response.data.content.decode("utf-8", "replace")
    except oci.exceptions.ServiceError as exc:
        return exc.status, f"{exc.code}: {exc.message}"
    except (oci.exceptions.RequestException, oci.exceptions.ConnectTimeout) as exc:
        return "unreachable", type(exc).__name__
    finally:
        client.base_client.session.close()


def _excerpt(body: str) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return body[:2000]
