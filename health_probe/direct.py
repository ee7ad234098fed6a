"""The direct fast path (terraform's ``fast_path_mode = "direct"``): the node agent handles
keepalived's notice itself, with the events function's own core, instead of invoking the function.

Why: a function that has been idle is cold on OCI (many seconds before its first line runs), and
that wait is the fast path's largest part. The agent is already warm, with instance-principal
credentials, so it runs ``failover.shell.handle`` in process: the same event parsing, decision
table, probes of every node, if-match write and read-back as the function, and the same JSON
answer, which the relay hands notify as the function's (health_probe/relay.py).

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

import json
import time
from collections.abc import Callable

from failover.config import Config
from failover.network import Network
from failover.runtime import Runtime
from failover.shell import answer_with
from health_probe.clients import Credentials, credentials, network_client
from health_probe.config import AgentConfig
from health_probe.invoke import refresh_if_stale
from health_probe.notice import Outcome, answered, notice


def build_runtime(config: AgentConfig, creds: Credentials) -> Runtime:
    """The function's runtime with the agent's network adapter (its instance principal); no
    announcer (see the module docstring)."""
    assert config.fast_path_direct is not None  # guaranteed by the callers
    env = dict(config.fast_path_direct)
    settings = Config.from_env(env)
    return Runtime(config=settings, network=Network(network_client(creds, settings.service_endpoint)), env=env)


def handle_notice(
    build: Callable[[], Runtime], config: AgentConfig, state: str, vips: tuple[str, ...] | None = None
) -> Outcome:
    """This node's notice through the function's core, within ``notify_timeout_seconds``: the
    function's answer (a refusal and every error are answers too)."""
    body = json.dumps(notice(config.node, state, vips)).encode()
    return answered(answer_with(build, body, time.monotonic(), config.notify_timeout_seconds))


def warm(config: AgentConfig) -> tuple[Callable[[str, tuple[str, ...] | None], Outcome], Callable[[], None]]:
    """The relay's factory in direct mode: credentials and runtime built now; (handle, keep the
    token fresh)."""
    creds = credentials(config)
    runtime = build_runtime(config, creds)
    return (lambda state, vips: handle_notice(lambda: runtime, config, state, vips)), (
        lambda: refresh_if_stale(creds.signer)
    )
