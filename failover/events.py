"""Request bodies → small frozen event objects, or an ``EventError`` that says what was wrong.

Three kinds of caller reach the function, each with its own body:

* OCI Notifications delivering a Monitoring alarm message (OCI's published JSON: ``dedupeKey``,
  ``type`` such as ``OK_TO_FIRING``, ``timestampEpochMillis``, ``alarmMetaData[]`` whose entries
  carry a ``status`` and the ``dimensions`` of every metric stream in that status);
* a person with ``fn invoke``: ``{"action": "status" | "failover" | "failback" | "doctor",
  "to"?, "dry_run"?, "force"?}``;
* keepalived's notify script on a node that changed VRRP state:
  ``{"source": "keepalived", "node": "node-b", "state": "MASTER"}`` (the fast path), or
  ``"BACKUP"``, ``"FAULT"``, ``"STOP"`` when a node leaves MASTER (a repair request when it is
  the holder, see decide.py). ``"vips": [OCID, ...]`` (optional) names the VIPs of the VRRP
  instance that changed state (the node agent maps keepalived's instance name to them): only
  the VIP groups containing them are decided, and a list that covers part of a group is refused
  (``covered_groups``), because a group moves as a unit. Absent: every group.

Parsing is strict where a typo could move the IP (unknown command keys are refused, so
``"dryrun": true`` never turns into a real move) and lenient where OCI may add fields (extra
alarm fields are ignored). An alarm message the function does not fully understand (a new
``type``, a stream ``status`` it does not know, no ``alarmMetaData``) is still a reason to look:
it is parsed with those parts recorded in ``not_understood`` and carries no evidence, so the
function re-checks the nodes with its own probes and says so. Nothing here does I/O, so every
malformed body is testable.

The outside-in alarm (OCI Health Checks on the reserved public IP, namespace ``oci_healthchecks``)
says "clients cannot reach the VIP" and names no node: its only dimension is the monitor's
``resourceId``. Its streams never name a node, whatever dimensions they carry, so a Health Checks
dimension such as ``resourceDisplayName`` can never be read as a node name.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

MAX_BODY_BYTES = 256 * 1024
ALARM_TYPES = ("OK_TO_FIRING", "FIRING_TO_OK", "REPEAT", "RESET")
STREAM_STATUSES = ("FIRING", "OK", "RESET", "SUSPENDED")
ACTIONS = ("status", "failover", "failback", "doctor")
KEEPALIVED_STATES = ("MASTER", "BACKUP", "FAULT", "STOP")
# More VIPs than any deployment configures is junk, not a notice.
MAX_NOTICE_VIPS = 64
# Dimensions that may name the node a metric stream is about, in the order they are trusted.
NODE_DIMENSIONS = ("node", "nodeName", "resourceDisplayName")
# The metric namespace of OCI Health Checks: the outside-in alarm's streams carry it.
OUTSIDE_IN_NAMESPACE = "oci_healthchecks"


class EventError(ValueError):
    """The request body is not an event this function accepts; the message says why."""


@dataclass(frozen=True)
class Stream:
    """One metric stream of an alarm message: its status and its dimensions."""

    status: str
    dimensions: tuple[tuple[str, str], ...]
    alarm_id: str | None = None  # the alarm OCID of its alarmMetaData entry
    namespace: str | None = None  # the metric namespace of its alarmMetaData entry

    @property
    def outside_in(self) -> bool:
        return self.namespace == OUTSIDE_IN_NAMESPACE

    def node_name(self) -> str | None:
        """The node this stream reports on, if one of its dimensions names it (an outside-in
        stream is about the public IP, never a node)."""
        if self.outside_in:
            return None
        dims = dict(self.dimensions)
        return next((dims[k] for k in NODE_DIMENSIONS if k in dims), None)


@dataclass(frozen=True)
class AlarmEvent:
    """A Monitoring alarm message as delivered by Notifications."""

    type: str
    dedupe_key: str
    timestamp_ms: int | None
    title: str
    streams: tuple[Stream, ...]
    not_understood: tuple[str, ...] = ()  # what was ignored (unknown type/status, no metadata)

    @property
    def key(self) -> str:
        """Identifies this message (dedupeKey names the alarm, the timestamp the evaluation)."""
        return f"{self.dedupe_key}@{self.timestamp_ms}"

    def nodes_with(self, status: str, alarm_ids: frozenset[str]) -> frozenset[str]:
        """Nodes named by streams in ``status`` of the given alarms only (the deployment's own)."""
        return frozenset(
            n for s in self.streams if s.status == status and s.alarm_id in alarm_ids and (n := s.node_name())
        )

    def is_from(self, alarm_ids: frozenset[str]) -> bool:
        """True when some stream belongs to one of these alarms."""
        return any(s.alarm_id in alarm_ids for s in self.streams)

    def is_outside_in(self, alarm_ids: frozenset[str]) -> bool:
        """True when this is the deployment's own outside-in alarm: a stream of one of its alarms
        in the Health Checks namespace (another tenant's or an unlisted alarm is not)."""
        return any(s.outside_in and s.alarm_id in alarm_ids for s in self.streams)


@dataclass(frozen=True)
class Command:
    """A manual request typed by an operator."""

    action: str
    to: str | None = None
    dry_run: bool = False
    force: bool = False


@dataclass(frozen=True)
class KeepalivedNotice:
    """keepalived's notify on a node that changed VRRP state (the fast path)."""

    node: str
    state: str
    vips: tuple[str, ...] | None = None  # the VIPs of the VRRP instance; None: every VIP group


Event = AlarmEvent | Command | KeepalivedNotice


def parse_event(body: bytes | str | None) -> Event:
    """Parse a request body; raise ``EventError`` with a message fit to show the caller."""
    if body is None or len(body) == 0:
        raise EventError('empty body: send an alarm message, {"action": "status"}, or a keepalived notice')
    if len(body) > MAX_BODY_BYTES:
        raise EventError(f"body too large ({len(body)} bytes, limit {MAX_BODY_BYTES})")
    if isinstance(body, bytes):
        try:
            body = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise EventError(f"body is not UTF-8 ({exc.reason} at byte {exc.start})") from None
    try:
        data = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise EventError(f"body is not JSON ({exc})") from None
    if not isinstance(data, dict):
        raise EventError(f"body must be a JSON object, not {type(data).__name__}")
    if "alarmMetaData" in data or "dedupeKey" in data:
        return _alarm(data)
    if "source" in data:
        return _keepalived(data)
    if "action" in data:
        return _command(data)
    raise EventError(
        'unrecognised body: expected an OCI alarm message (with "dedupeKey" and "alarmMetaData"), '
        '{"action": "status" | "failover" | "failback"}, or {"source": "keepalived", "node", "state"}'
    )


def unknown_nodes(event: Event, known: Iterable[str]) -> list[str]:
    """Node names an operator or keepalived named that the configuration does not know.

    Alarm streams are not checked: an alarm may carry streams about other targets (the
    floating IP itself, other services) that simply do not name a node.
    """
    names = set(known)
    if isinstance(event, Command):
        return [event.to] if event.to is not None and event.to not in names else []
    if isinstance(event, KeepalivedNotice):
        return [event.node] if event.node not in names else []
    return []


def covered_groups(event: Event, groups: Sequence[tuple[str, ...]]) -> tuple[tuple[str, ...], ...]:
    """The VIP groups this event is about: a keepalived notice's ``vips`` select the groups that
    contain them, every group otherwise. ``EventError`` when a VIP is not configured or the list
    covers only part of a group (moving part of one would split what must sit together)."""
    vips = event.vips if isinstance(event, KeepalivedNotice) else None
    if vips is None:
        return tuple(groups)
    configured = {v for group in groups for v in group}
    unknown = [v for v in vips if v not in configured]
    if unknown:
        raise EventError(f"keepalived notice: {unknown[0]!r} is not a configured VIP: nothing moved")
    chosen = tuple(group for group in groups if set(group) & set(vips))
    for group in chosen:
        left_out = [v for v in group if v not in vips]
        if left_out:
            raise EventError(
                f"keepalived notice: vips cover only part of the VIP group [{', '.join(group)}] "
                f"(missing {', '.join(left_out)}); a group moves as a unit, so the notice must name all of it "
                "(node-agent.yaml vrrp_instances): nothing moved"
            )
    return chosen


def _alarm(data: dict) -> AlarmEvent:
    ignored: list[str] = []
    kind = data.get("type")
    if not isinstance(kind, str) or not kind:
        raise EventError("alarm message: type must be a non-empty string")
    if kind not in ALARM_TYPES:
        ignored.append(f"alarm type {kind[:40]!r}")
    dedupe = data.get("dedupeKey")
    if not isinstance(dedupe, str) or not dedupe:
        raise EventError("alarm message: dedupeKey must be a non-empty string")
    stamp = data.get("timestampEpochMillis")
    if stamp is not None and (isinstance(stamp, bool) or not isinstance(stamp, int) or stamp < 0):
        raise EventError("alarm message: timestampEpochMillis must be a non-negative integer")
    title = data.get("title")
    metadata = data.get("alarmMetaData")
    if metadata is None or metadata == []:
        metadata = []
        ignored.append("no alarmMetaData")
    if not isinstance(metadata, list):
        raise EventError("alarm message: alarmMetaData must be a list")
    streams: list[Stream] = []
    for i, entry in enumerate(metadata):
        streams.extend(_streams(i, entry, ignored))
    return AlarmEvent(
        type=kind,
        dedupe_key=dedupe,
        timestamp_ms=stamp,
        title=title if isinstance(title, str) else "",
        streams=tuple(streams),
        not_understood=tuple(ignored),
    )


def _streams(index: int, entry: object, ignored: list[str]) -> list[Stream]:
    where = f"alarm message: alarmMetaData[{index}]"
    if not isinstance(entry, dict):
        raise EventError(f"{where} must be an object")
    status = entry.get("status")
    if status not in STREAM_STATUSES:
        ignored.append(f"stream status {str(status)[:40]!r}")
        return []
    alarm_id = entry.get("id") if isinstance(entry.get("id"), str) else None
    namespace = entry.get("namespace") if isinstance(entry.get("namespace"), str) else None
    dimensions = entry.get("dimensions")
    if dimensions is None or dimensions == []:
        return [Stream(status=status, dimensions=(), alarm_id=alarm_id, namespace=namespace)]
    if not isinstance(dimensions, list):
        raise EventError(f"{where}.dimensions must be a list of objects")
    streams = []
    for j, dims in enumerate(dimensions):
        if not isinstance(dims, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in dims.items()):
            raise EventError(f"{where}.dimensions[{j}] must be an object of string values")
        streams.append(
            Stream(status=status, dimensions=tuple(sorted(dims.items())), alarm_id=alarm_id, namespace=namespace)
        )
    return streams


def _command(data: dict) -> Command:
    unknown = set(data) - {"action", "to", "dry_run", "force"}
    if unknown:
        raise EventError(f"unknown key(s) {sorted(unknown)}; allowed: action, to, dry_run, force")
    action = data["action"]
    if action not in ACTIONS:
        raise EventError(f"action must be one of {', '.join(ACTIONS)}, not {action!r}")
    to = data.get("to")
    if to is not None and (not isinstance(to, str) or not to):
        raise EventError('"to" must be a node name')
    if to is not None and action != "failover":
        raise EventError(f'"to" only goes with action "failover", not {action!r}')
    for flag in ("dry_run", "force"):
        if not isinstance(data.get(flag, False), bool):
            raise EventError(f'"{flag}" must be true or false')
    return Command(action=action, to=to, dry_run=data.get("dry_run", False), force=data.get("force", False))


def _keepalived(data: dict) -> KeepalivedNotice:
    if data.get("source") != "keepalived":
        raise EventError(f'source must be "keepalived", not {data.get("source")!r}')
    unknown = set(data) - {"source", "node", "state", "vips"}
    if unknown:
        raise EventError(f"keepalived notice: unknown key(s) {sorted(unknown)}")
    node, state = data.get("node"), data.get("state")
    if not isinstance(node, str) or not node:
        raise EventError('keepalived notice: "node" must be a node name')
    if state not in KEEPALIVED_STATES:
        raise EventError(f"keepalived notice: state must be one of {', '.join(KEEPALIVED_STATES)}, not {state!r}")
    return KeepalivedNotice(node=node, state=state, vips=_notice_vips(data))


def _notice_vips(data: dict) -> tuple[str, ...] | None:
    if "vips" not in data:
        return None
    vips = data["vips"]
    if not isinstance(vips, list) or not vips or not all(isinstance(v, str) and v for v in vips):
        raise EventError('keepalived notice: "vips" must be a non-empty list of VIP OCIDs')
    if len(vips) > MAX_NOTICE_VIPS or len(set(vips)) != len(vips):
        raise EventError(f'keepalived notice: "vips" must list distinct VIPs, at most {MAX_NOTICE_VIPS}')
    return tuple(vips)
