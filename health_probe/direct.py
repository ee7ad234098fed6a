"""The direct fast path (terraform's ``fast_path_mode = "direct"``): the node agent handles
keepalived's notice itself, with the events function's own core, instead of invoking the function.

Why: a function that has been idle is cold on OCI (many seconds before its first line runs), and
that wait is the fast path's largest part. The agent is already warm, with instance-principal
credentials, so it runs ``failover.shell.handle`` in process: the same event parsing, decision
table, probes of every node, if-match write and read-back as the function, and the same JSON
answer, which the relay hands notify as the function's (health_probe/relay.py). One thing
the function cannot do: remember. The agent keeps its last read of each VIP (RememberingNetwork),
so a notice is written with that read's etag as soon as the probes are in, a round trip sooner.

What stays the function's: alarms and manual commands. The configuration under
``fast_path_direct`` is the events function's (failover/config.py's keys; ROLE ``events`` only,
config.py refuses ``operator``), and the only events built here are this node's keepalived
notices, so no manual or forced move can start on a node. The function and the nodes may both
write: every writer reads the VIP, writes with its etag (if-match) and, on 412, reads again
and decides anew, so neither can undo the other's move unseen.

Privilege: the nodes' dynamic group is granted exactly the function's grants for moving the
floating IPs, only in this mode (terraform/modules/controller/iam.tf). Not the events topic:
a move made here is in the agent's journal (``relay_answered``) and the VIP's tags, but is not
announced on the events topic (failover/announce.py needs grants the nodes do not get).
"""

from __future__ import annotations

import dataclasses
import json
import threading
import time
from collections.abc import Callable
from typing import Any

from failover.config import Config
from failover.network import ApiError, Deadline, Network, VipState
from failover.runtime import Runtime
from failover.shell import answer_with
from health_probe.clients import Credentials, credentials, network_client
from health_probe.config import AgentConfig
from health_probe.invoke import refresh_if_stale
from health_probe.notice import Outcome, answered, notice

# One refresh of the remembered reads (the relay's keep-warm tick, KEEP_WARM_SECONDS): a slow
# API must not hold that thread.
REFRESH_BUDGET_SECONDS = 10.0


class RememberingNetwork(Network):
    """The agent's network adapter: it keeps the last read of each VIP and answers ``recall``
    with it, so a notice writes after the probes alone, without a GetPrivateIp round trip first.

    Why that is safe: the write carries the remembered etag (if-match); a VIP that changed since
    answers 412 and the core reads again and decides anew (failover/moves.py), as it does for
    any race. A decision to write nothing is never taken on a remembered read. A write forgets
    the VIP first (its etag is spent); the core's read-back remembers the new one. The reads
    are refreshed on the relay's keep-warm tick, so a move made elsewhere (the function on an
    alarm, an operator) seldom costs a lost race."""

    def __init__(self, client: Any) -> None:
        super().__init__(client)
        self._lock = threading.Lock()
        self._known: dict[str, VipState] = {}
        self._writes = 0  # a refresh that overlapped a write would remember the state before it

    def read(self, private_ip_id: str, deadline: Deadline) -> VipState:
        state = super().read(private_ip_id, deadline)
        with self._lock:
            self._known[private_ip_id] = state
        return state

    def recall(self, private_ip_id: str, deadline: Deadline) -> VipState:
        with self._lock:
            known = self._known.get(private_ip_id)
        if known is None:
            return self.read(private_ip_id, deadline)
        return dataclasses.replace(known, remembered=True)

    def _update(self, state: VipState, deadline: Deadline, **details: Any) -> Any:
        with self._lock:
            self._known.pop(state.private_ip_id, None)
            self._writes += 1
        return super()._update(state, deadline, **details)

    def refresh(self, reader: Network, private_ip_ids: tuple[str, ...]) -> None:
        """Read every VIP again through ``reader``: another client, because a notice may be
        using this one meanwhile (the SDK client's timeout is set per call). A VIP that cannot
        be read is forgotten: the next notice reads it."""
        deadline = Deadline(REFRESH_BUDGET_SECONDS)
        for vip in private_ip_ids:
            with self._lock:
                writes = self._writes
            try:
                state: VipState | None = reader.read(vip, deadline)
            except ApiError:
                state = None
            with self._lock:
                if state is None:
                    self._known.pop(vip, None)
                elif writes == self._writes:
                    self._known[vip] = state


def build_runtime(config: AgentConfig, creds: Credentials) -> Runtime:
    """The function's runtime with the agent's network adapter (its instance principal, its
    remembered reads); no announcer (see the module docstring)."""
    assert config.fast_path_direct is not None  # guaranteed by the callers
    env = dict(config.fast_path_direct)
    settings = Config.from_env(env)
    network = RememberingNetwork(network_client(creds, settings.service_endpoint))
    return Runtime(config=settings, network=network, env=env)


def handle_notice(
    build: Callable[[], Runtime], config: AgentConfig, state: str, vips: tuple[str, ...] | None = None
) -> Outcome:
    """This node's notice through the function's core, within ``notify_timeout_seconds``: the
    function's answer (a refusal and every error are answers too)."""
    body = json.dumps(notice(config.node, state, vips)).encode()
    return answered(answer_with(build, body, time.monotonic(), config.notify_timeout_seconds))


def warm(config: AgentConfig) -> tuple[Callable[[str, tuple[str, ...] | None], Outcome], Callable[[], None]]:
    """The relay's factory in direct mode: credentials and runtime built now, every VIP read
    once; (handle, keep the token and the remembered reads fresh)."""
    creds = credentials(config)
    runtime = build_runtime(config, creds)
    network = runtime.network
    assert isinstance(network, RememberingNetwork)
    reader = Network(network_client(creds, runtime.config.service_endpoint))
    vips = runtime.config.vip_ids

    def keep_fresh() -> None:
        refresh_if_stale(creds.signer)
        network.refresh(reader, vips)

    network.refresh(reader, vips)
    return (lambda state, vips: handle_notice(lambda: runtime, config, state, vips)), keep_fresh
