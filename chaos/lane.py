"""One lane of the emulator driver: an emulator running the real function, and its nodes.

The function runs exactly as in the other tests and the demo: this repository's func.py under
fdk in the emulator's Functions service, resource-principal credentials the emulator issued,
its SDK calls coming back to the emulator over HTTP. The harness reaches it only the way OCI's
callers do: `FunctionsInvokeClient.invoke_function` (keepalived's notify on the events
function, an operator on the operators' function) and Notifications `PublishMessage` to the
alarm topic, which delivers through InvokeFunction to the events function.
It observes only what an outside observer can: the audit log, the function's answers, the
function's log, and the private IP read back at the end. Its own SDK clients never retry and
have no circuit breaker, so an injected fault reaches the function, not the harness.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import oci
from oci.circuit_breaker import NoCircuitBreakerStrategy
from oci.core.models import UpdateIpv6Details, UpdatePrivateIpDetails

from chaos.faults import FUNCTION_CONFIG, PROBE_TIMEOUT_S
from chaos.invariants import Answer, Observation, VipEnd
from chaos.nodes import Nodes
from chaos.records import function_errors, json_object, writes_from_audit
from failover.config import Config, vip_family
from failover.tags import LastMove, with_move
from ocisim import Emulator
from ocisim.emulator import DEFAULT_TOPOLOGY
from ocisim.monitoring.alarms import Notice
from ocisim.monitoring.messages import build_message

REPO = Path(__file__).resolve().parents[1]
NODE_DOWN_ALARM = "vip-failover-node-down"
OPERATOR_FUNCTION = "vip-failover-operator"
# Where a trial starts: (audit seq, function-log sizes (events, operators'), request count).
Mark = tuple[int, tuple[int, int], int]
DELIVERY_WAIT_S = 60.0  # bound on waiting for one Notifications delivery
INVOKE_TIMEOUT = (5.0, 90.0)
WARM_CALLS = 3
WARM_CONTAINERS = 2


class RequestLog(logging.Handler):
    """(operation, status) of every request the emulator answered, from its JSON log events."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.seen: list[tuple[str | None, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        fields = getattr(record, "fields", {})
        if record.getMessage() == "request":
            self.seen.append((fields.get("operation"), fields.get("status")))


def topology_path(name: str) -> Path:
    """The emulator's topology ``name`` (ocisim/topologies/<name>.json)."""
    return DEFAULT_TOPOLOGY.with_name(f"{name}.json")


class Lane:
    """Start with `Lane(policy, latency, topology)`; `close()` stops everything it started.

    The lane reads its nodes (in priority order), VIPs (IPv4 and IPv6) and VIP groups from the
    function's configuration in ``topology``, as the function itself does.
    """

    def __init__(self, policy: str, latency: Mapping[str, float], topology_name: str = "two-node") -> None:
        path = topology_path(topology_name)
        topology = json.loads(path.read_text())
        function = topology["functions"][0]
        nodes = json.loads(function["config"]["NODES"])
        self.nodes = Nodes(tuple(n["name"] for n in nodes), hang_seconds=PROBE_TIMEOUT_S * 4)
        for node in nodes:
            node["health_url"] = self.nodes.endpoints[node["name"]].url
        config = {**FUNCTION_CONFIG, "NODES": json.dumps(nodes), "FAILBACK_POLICY": policy}
        self.config = Config.from_env({**function["config"], **config})
        self.policy = policy
        self.latency = dict(latency)
        self.vip_ids = self.config.vip_ids
        self.vip_id = self.vip_ids[0]  # the VIP whose trail the Observation's own fields follow
        self.groups = self.config.vip_groups
        self.node_names = tuple(n.name for n in self.config.nodes)
        # A VIP is named by its address in the invariants' notes (an OCID says less).
        self.addresses = {ip["id"]: ip["ipAddress"] for ip in topology["privateIps"] + topology.get("ipv6s", [])}
        self.vnics = {n.name: n.vnic_id for n in self.config.nodes}
        self.instances = {i["displayName"]: i["id"] for i in topology["instances"]}
        self.topic = topology["topics"][0]["topicId"]
        self.emu = Emulator.start(topology=path, state=None, function_dir=REPO, function_config=config)
        self.function_id = self.emu.functions[function["name"]]
        self.operator_id = self.emu.functions[OPERATOR_FUNCTION]
        # What the events and operator functions log, read from an offset per trial.
        self.function_logs = (self.emu.function_log(self.function_id), self.emu.function_log(self.operator_id))
        self.alarm_spec = self.emu.alarm_spec(NODE_DOWN_ALARM)
        self._sdk = self.emu.oci_config()
        self._client_options = {
            "service_endpoint": self.emu.endpoint,
            "retry_strategy": oci.retry.NoneRetryStrategy(),
            "circuit_breaker_strategy": NoCircuitBreakerStrategy(),
        }
        self.network = oci.core.VirtualNetworkClient(self._sdk, timeout=(5.0, 30.0), **self._client_options)
        self.ons = oci.ons.NotificationDataPlaneClient(self._sdk, timeout=(5.0, 30.0), **self._client_options)
        self._local = threading.local()
        self.requests = RequestLog()
        emulator_log = logging.getLogger("ocisim")
        self._log_level = emulator_log.level
        emulator_log.setLevel(logging.INFO)
        emulator_log.addHandler(self.requests)
        # Two containers per function, each past its first calls (clients and signer built): a
        # split brain's notices arrive in pairs, and the second of a pair must not meet a
        # container starting up (the bench warms two for the same reason).
        for _ in range(WARM_CALLS):
            for kind in ("automatic", "manual"):
                together([lambda kind=kind: self.invoke({"action": "status"}, kind)] * WARM_CONTAINERS)

    def close(self) -> None:
        logging.getLogger("ocisim").removeHandler(self.requests)
        logging.getLogger("ocisim").setLevel(self._log_level)
        self.emu.stop()
        self.nodes.close()

    # --- trial start and end ---------------------------------------------------------------------
    def reset(self, holder: str = "node-a", last_move_age: float | None = None) -> Mark:
        """Faults cleared, nodes up, every VIP on ``holder`` with or without a last-move record.

        Returns (audit seq, function-log offset, request count): what the trial is judged after.
        """
        self.emu.clear_faults()
        self.nodes.reset()
        tags: dict[str, str] = {}
        if last_move_age is not None:
            other = next(n for n in self.vnics if n != holder)
            tags = with_move(
                {},
                LastMove(
                    at=time.time() - last_move_age,
                    from_node=other,
                    to_node=holder,
                    reason="chaos: initial state",
                    event_key=None,
                    move_id="chaos-initial",
                ),
            )
        for vip in self.vip_ids:
            if vip_family(vip) == "ipv6":
                self.network.update_ipv6(vip, UpdateIpv6Details(vnic_id=self.vnics[holder], freeform_tags=tags))
            else:
                self.network.update_private_ip(
                    vip, UpdatePrivateIpDetails(vnic_id=self.vnics[holder], freeform_tags=tags)
                )
        self.clear_faults()
        audit = self.emu.audit()
        return (audit[-1]["seq"] if audit else 0), self._log_sizes(), len(self.requests.seen)

    def clear_faults(self) -> None:
        """Every injected fault gone; the lane's latency stays (the emulator's clear resets it)."""
        self.emu.clear_faults()
        for operation, seconds in self.latency.items():
            self.emu.set_latency(operation, seconds)

    def _log_sizes(self) -> tuple[int, int]:
        return tuple(
            log.stat().st_size if log.exists() else 0  # type: ignore[return-value]
            for log in self.function_logs
        )

    def statuses(self, mark: Mark, operation: str) -> list[Any]:
        """Statuses the emulator answered ``operation`` with since ``mark`` ("dropped": cut off)."""
        return [status for op, status in self.requests.seen[mark[2] :] if op == operation]

    def pending(self, operation: str) -> int | None:
        """How many more calls the fault injected on ``operation`` will hit (None: until cleared, 0: none)."""
        left = [f["count"] for f in self.emu.faults()["faults"] if f["operation"] == operation]
        return left[0] if left else 0

    def observe(
        self,
        *,
        fault: str,
        mark: Mark,
        initial_holder: str,
        onset: float,
        answers: list[Answer],
        failures: int,
        allowed_writes: int,
        budget_s: float,
        api_fault: bool = False,
        exercised: bool = True,
    ) -> Observation:
        """Clear the faults and read back everything the invariants need; the end state is judged
        now (``observed_until``), so a node's state the trial changed after the last write counts."""
        self.emu.clear_faults()
        until = time.time()
        seq, offset, _ = mark
        audit = self.emu.audit(after=seq)
        first, *others = (self._vip_end(vip, audit, initial_holder) for vip in self.vip_ids)
        return Observation(
            fault=fault,
            policy=self.policy,
            preferred=self.config.preferred.name,
            cooldown_s=self.config.cooldown_seconds,
            window_s=self.config.probe_timeout_seconds + 1.0,
            onset=onset,
            initial_holder=initial_holder,
            final_holder=first.final_holder,
            listed_on=first.listed_on,
            writes=first.writes,
            answers=tuple(answers),
            timeline=tuple(self.nodes.timeline),
            failures=failures,
            allowed_writes=allowed_writes,
            budget_s=budget_s,
            api_fault=api_fault,
            function_errors=self._function_errors(offset),
            exercised=exercised,
            observed_until=until,
            vip_group=first.group,
            other_vips=tuple(others),
        )

    def _vip_end(self, vip: str, audit: list[dict[str, Any]], initial_holder: str) -> VipEnd:
        """One VIP's writes since the trial began, the VNIC it ends on, and how many list it."""
        names = {vnic: name for name, vnic in self.vnics.items()}
        writes = writes_from_audit(audit, vip, names, {self.function_id, self.operator_id})
        if vip_family(vip) == "ipv6":
            final = self.network.get_ipv6(vip).data.vnic_id
            listed = sum(
                any(ip.id == vip for ip in self.network.list_ipv6s(vnic_id=vnic).data) for vnic in self.vnics.values()
            )
        else:
            final = self.network.get_private_ip(vip).data.vnic_id
            listed = sum(
                any(ip.id == vip for ip in self.network.list_private_ips(vnic_id=vnic).data)
                for vnic in self.vnics.values()
            )
        group = next(i for i, members in enumerate(self.groups) if vip in members)
        return VipEnd(self.addresses[vip], group, initial_holder, names.get(final), listed, writes)

    def _function_errors(self, offsets: tuple[int, int]) -> tuple[str, ...]:
        lines: list[str] = []
        for path, offset in zip(self.function_logs, offsets, strict=True):
            if not path.exists():
                continue
            with open(path, "rb") as log:
                log.seek(offset)
                lines += log.read().decode("utf-8", "replace").splitlines()
        return function_errors(lines)

    # --- callers ---------------------------------------------------------------------------------
    def _invoker(self) -> oci.functions.FunctionsInvokeClient:
        """One client per thread: concurrent invocations must not share an HTTP session."""
        client = getattr(self._local, "invoker", None)
        if client is None:
            client = oci.functions.FunctionsInvokeClient(self._sdk, timeout=INVOKE_TIMEOUT, **self._client_options)
            self._local.invoker = client
        return client

    def invoke(
        self, body: Any, kind: str, evidence: frozenset[str] = frozenset(), *, function_id: str | None = None
    ) -> Answer:
        """Invoke a function directly: an operator's ("manual", "forced") reaches the operators'
        function, everything else (keepalived's notify, a node's own call) the events function."""
        raw = body if isinstance(body, (bytes, str)) else json.dumps(body)
        target = function_id or (self.operator_id if kind in ("manual", "forced") else self.function_id)
        try:
            response = self._invoker().invoke_function(target, invoke_function_body=raw)
        except oci.exceptions.ServiceError as exc:
            return Answer(kind, exc.status, None, evidence)
        except Exception:  # the connection itself failed: no status to judge
            return Answer(kind, None, None, evidence)
        return Answer(kind, response.status, json_object(response.data.content), evidence)

    def publish(self, message: Any) -> str:
        """Publish to the alarm topic; Notifications delivers it to the function."""
        body = message if isinstance(message, str) else json.dumps(message)
        details = oci.ons.models.MessageDetails(body=body, title="chaos")
        return self.ons.publish_message(self.topic, details).data.message_id

    def delivered(self, message_id: str, kind: str, evidence: frozenset[str] = frozenset()) -> Answer:
        """The first delivery attempt of ``message_id``, waited for (bounded)."""
        deadline = time.monotonic() + DELIVERY_WAIT_S
        while time.monotonic() < deadline:
            found = [d for d in self.emu.deliveries() if d["messageId"] == message_id]
            if found:
                status = found[0]["status"]
                return Answer(
                    kind, status if isinstance(status, int) else None, json_object(found[0]["response"]), evidence
                )
            time.sleep(0.01)
        raise TimeoutError(f"Notifications did not deliver {message_id} within {DELIVERY_WAIT_S:g}s")

    def alarm(self, node: str, kind: str = "OK_TO_FIRING", *, at: float | None = None) -> dict[str, Any]:
        """The node-down alarm's message about ``node``, built by the emulator's own Monitoring."""
        status = "OK" if kind in ("FIRING_TO_OK", "RESET") else "FIRING"
        stream = (("node", node), ("resourceId", self.instances[node]))
        notice = Notice(
            type=kind,
            status=status,
            time=time.time() if at is None else at,
            streams=((stream, 0.0 if status == "FIRING" else 1.0),),
            total_firing=int(status == "FIRING"),
        )
        return build_message(self.alarm_spec, notice, self.emu.region)


def together(calls: list[Callable[[], Answer]]) -> list[Answer]:
    """Run the calls at the same instant on their own threads; their answers in call order."""
    answers: list[Answer | None] = [None] * len(calls)
    start = threading.Barrier(len(calls))

    def run(index: int) -> None:
        start.wait()
        answers[index] = calls[index]()

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(INVOKE_TIMEOUT[1] + DELIVERY_WAIT_S)
    return [a if a is not None else Answer("automatic", None, None) for a in answers]
