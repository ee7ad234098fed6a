"""What a trial left behind, read into the invariants' inputs. Pure: no I/O.

Both drivers judge a trial on the same records: the emulator's audit log (every
UpdatePrivateIp or UpdateIpv6 of a floating IP, by whom, the IP before and after, with the
move record the function tags it with) and the function's own JSON log lines.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Mapping
from datetime import datetime
from typing import Any

from chaos.invariants import Write
from failover.tags import last_move

VIP_WRITES = ("UpdatePrivateIp", "UpdateIpv6")


def epoch(stamp: str) -> float:
    """An ISO-8601 time stamp of the emulator ("...Z") as Unix seconds."""
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def json_object(raw: bytes | str | None) -> dict[str, Any] | None:
    """``raw`` parsed as a JSON object, or None (not JSON, or JSON but not an object)."""
    try:
        value = json.loads(raw or b"")
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def writes_from_audit(
    entries: Iterable[Mapping[str, Any]],
    vip_id: str,
    node_by_vnic: Mapping[str, str],
    function_ids: str | Collection[str],
) -> tuple[Write, ...]:
    """Every UpdatePrivateIp (UpdateIpv6 for an IPv6 VIP) of ``vip_id`` in the audit log, as a
    `Write` (other entries skipped).

    ``reason`` is the move record the write itself added (a write that leaves the previous
    record in place, e.g. an operator's, has none); ``previous_move_at`` is the record before it.
    """
    ours = {function_ids} if isinstance(function_ids, str) else set(function_ids)  # the events and operators' functions
    writes = []
    for entry in entries:
        if entry["operation"] not in VIP_WRITES or entry["resource_id"] != vip_id:
            continue
        before, after = last_move(entry["before"].get("freeformTags")), last_move(entry["after"].get("freeformTags"))
        fresh = after is not None and (before is None or after.move_id != before.move_id)
        writes.append(
            Write(
                at=epoch(entry["time"]),
                from_node=node_by_vnic.get(entry["before"]["vnicId"]),
                to_node=node_by_vnic.get(entry["after"]["vnicId"]),
                by_function=(entry["principal"] or {}).get("id") in ours,
                reason=after.reason if fresh and after else "",
                previous_move_at=before.at if before else None,
            )
        )
    return tuple(writes)


def function_errors(lines: Iterable[str]) -> tuple[str, ...]:
    """Internal errors and tracebacks in the function's log (invariant 6)."""
    errors = []
    for line in lines:
        entry = json_object(line)
        if entry is not None and entry.get("event") == "internal_error":
            errors.append(f"internal_error: {entry.get('reason')}")
        elif entry is None and "Traceback" in line:
            errors.append("a traceback")
    return tuple(errors)
