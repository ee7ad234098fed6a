"""The HTTP adapter a vantage point probes with: aiohttp's client, every part of it bounded.

One `timeout` (wall seconds) bounds the whole probe: connect, headers and body, so a peer that
accepts and never answers, or drips its answer a byte at a time, costs at most that. At most
MAX_BODY_BYTES of the body are read, then the connection is closed (a peer that streams forever
is still answered for). aiohttp bounds the status line and headers itself (8 KiB per line) and
refuses a malformed answer; both end as a TRANSPORT error. No proxy from the environment is used
and no redirect is followed: the answer of the target itself is what counts.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import time
from collections.abc import Callable
from typing import Any

import aiohttp

from ocisim.healthchecks.results import NETWORK, TRANSPORT, ProbeOutcome, ProbeRequest

MAX_BODY_BYTES = 64 * 1024
READ_CHUNK = 8192
MAX_CONNECTIONS = 32


def new_session(socket_factory: Callable[[tuple[Any, ...]], socket.socket] | None = None) -> aiohttp.ClientSession:
    """Lab targets have no certificate a CA signed: HTTPS is probed without verification.
    `socket_factory` makes the sockets elsewhere (ocisim.healthchecks.vantage)."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    connector = aiohttp.TCPConnector(
        limit=MAX_CONNECTIONS, ssl=context, force_close=True, socket_factory=socket_factory
    )
    return aiohttp.ClientSession(connector=connector, trust_env=False, auto_decompress=False)


async def http_probe(session: aiohttp.ClientSession, request: ProbeRequest) -> ProbeOutcome:
    started = time.monotonic()

    def elapsed_ms() -> float:
        return (time.monotonic() - started) * 1000

    try:
        async with asyncio.timeout(request.timeout):
            async with session.request(
                request.method, request.url, headers=dict(request.headers), allow_redirects=False
            ) as response:
                headers_ms = elapsed_ms()
                size = 0
                while size < MAX_BODY_BYTES:
                    chunk = await response.content.read(min(READ_CHUNK, MAX_BODY_BYTES - size))
                    if not chunk:
                        break
                    size += len(chunk)
                return ProbeOutcome(
                    status_code=response.status, response_ms=headers_ms, duration_ms=elapsed_ms(), body_bytes=size
                )
    except TimeoutError:
        return ProbeOutcome(
            status_code=None,
            error_category=NETWORK,
            timed_out=True,
            duration_ms=elapsed_ms(),
            error_message=f"No complete answer within {request.timeout:g} s",
        )
    except (aiohttp.ClientError, OSError, ValueError) as exc:
        return ProbeOutcome(
            status_code=None,
            error_category=TRANSPORT,
            duration_ms=elapsed_ms(),
            error_message=f"{type(exc).__name__}: {exc}"[:500],
        )
