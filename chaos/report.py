"""Trial records -> bench/reliability.json and the results table. Pure: no I/O.

The JSON's shape is a fixed interface (`make chaos` writes it, docs/reliability.md reads it):
``{"faults": {NAME: {"trials", "violations" (per invariant), "max_writes_per_failure",
"convergence_s": {"p50", "p95", "max"}}}}``, plus the run's metadata beside ``faults``.
Convergence percentiles are nearest-rank over the trials that have a convergence time (null
when none has: nothing could serve, or the harness failed). A row of an earlier run that did
not check an invariant yet (no key for it under ``violations``) shows it as not run, ``-``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from chaos.faults import Fault
from chaos.invariants import INVARIANTS


def percentile(values: list[float], p: float) -> float | None:
    """Nearest-rank percentile (p in 0..100) of ``values``; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def summarise(fault: Fault, records: list[Mapping[str, Any]]) -> dict[str, Any]:
    judged = [r for r in records if "error" not in r]
    converged = [r["convergence_s"] for r in judged if r["convergence_s"] is not None]
    summary: dict[str, Any] = {
        "trials": len(records),
        "violations": {str(n): sum(1 for r in judged if not r["held"][str(n)]) for n in INVARIANTS},
        "max_writes_per_failure": max((r["writes"] / max(1, r["failures"]) for r in judged), default=None),
        "convergence_s": {
            name: None if (v := percentile(converged, p)) is None else round(v, 3)
            for name, p in (("p50", 50), ("p95", 95), ("max", 100))
        },
        "harness_errors": len(records) - len(judged),
        "needless_moves": sum(r["needless_moves"] for r in judged),
        "exercised": sum(1 for r in judged if r.get("exercised", True)),
        "driver": fault.driver,
        "description": fault.description,
    }
    if fault.relaxed:
        summary["relaxed"] = {str(n): why for n, why in fault.relaxed.items()}
    return summary


def build(faults: Iterable[Fault], records: list[Mapping[str, Any]], metadata: Mapping[str, Any]) -> dict[str, Any]:
    by_fault: dict[str, list[Mapping[str, Any]]] = {}
    for record in records:
        by_fault.setdefault(record["fault"], []).append(record)
    table = {f.name: summarise(f, by_fault.get(f.name, [])) for f in faults}
    return {**metadata, "totals": totals(table), "faults": table}


def totals(table: Mapping[str, Mapping[str, Any]]) -> dict[str, int]:
    return {
        "trials": sum(s["trials"] for s in table.values()),
        "violations": sum(sum(s["violations"].values()) for s in table.values()),
        "harness_errors": sum(s["harness_errors"] for s in table.values()),
    }


def merge(previous: Mapping[str, Any] | None, result: Mapping[str, Any], kept: Iterable[str]) -> dict[str, Any]:
    """``result`` plus what ``previous`` (an earlier reliability.json) holds for the levels in
    ``kept`` that did not run this time ("emulator": the top-level run data and its rows; "lab":
    the ``lab`` run data and the lab rows), so running one level never erases the other's numbers."""
    kept = set(kept)
    if not previous or not kept:
        return dict(result)
    merged: dict[str, Any] = {}
    if "emulator" in kept:
        merged.update({k: v for k, v in previous.items() if k not in ("faults", "totals", "lab")})
    if "lab" in kept and "lab" in previous:
        merged["lab"] = previous["lab"]
    merged.update({k: v for k, v in result.items() if k not in ("faults", "totals")})
    old_rows = {n: s for n, s in previous.get("faults", {}).items() if s.get("driver", "emulator") in kept}
    rows = {**old_rows, **result["faults"]}
    table = {n: s for driver in ("emulator", "lab") for n, s in rows.items() if s.get("driver", "emulator") == driver}
    return {**merged, "totals": totals(table), "faults": table}


NOT_RUN = "-"


def _cell(value: float | None) -> str:
    return NOT_RUN if value is None else f"{value:.2f}"


def markdown(report: Mapping[str, Any]) -> str:
    """The results table as Markdown, one row per fault."""
    numbered = f"{INVARIANTS[0]}-{INVARIANTS[-1]}"
    head = f"| fault | trials | fault bit | violations ({numbered}) | max writes/failure | convergence p50 / p95 / max (s) |"
    lines = [head, "| --- | ---: | ---: | --- | ---: | --- |"]
    for name, s in report["faults"].items():
        violations = " ".join(str(s["violations"].get(str(n), NOT_RUN)) for n in INVARIANTS)
        extra = f" ({s['harness_errors']} harness errors)" if s["harness_errors"] else ""
        conv = " / ".join(_cell(s["convergence_s"][k]) for k in ("p50", "p95", "max"))
        lines.append(
            f"| {name}{'*' if s.get('relaxed') else ''} | {s['trials']}{extra} | {s['exercised']} | {violations} | "
            f"{_cell(s['max_writes_per_failure'])} | {conv} |"
        )
    return "\n".join(lines)
