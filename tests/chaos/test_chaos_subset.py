"""A short, fixed, seeded subset of the chaos matrix, run on every `make test`.

Every entry that costs no more than a second or two runs once, in-process, against the real
function under fdk in the emulator (fast emulator latency); the slow ones (API timeouts and
outages, which wait out the SDK's read timeout or the whole retry deadline) run only in
`make chaos`. The keepalived-kill rows (a SIGKILLed holder handed to a managed peer, invariant 7)
are among the quick ones. The multi topology's entries (three nodes, two VIP groups, an IPv6 VIP) run twice
each, on their own lane; a partial write waits out the SDK's retries, ~12 s. Any invariant
violation or harness error fails the test with the trial's notes.
"""

import json
import subprocess
import sys

from chaos.faults import FAST_LATENCY, MATRIX, MULTI_MATRIX, plan
from chaos.runner import run_lane

SLOW = ("timeout", "api-outage", "rp-token:expired-not-rotated")
SUBSET = tuple(f for f in MATRIX if not any(s in f.name for s in SLOW))
MULTI_TRIALS = 2


def test_the_fixed_subset_holds_every_invariant():
    trials = plan(SUBSET, len(SUBSET), seed=8)
    share = [(t.fault.name, t.index, t.seed) for t in trials]
    share += [(f.name, i, 8 + i) for f in MULTI_MATRIX for i in range(1, MULTI_TRIALS)]
    records = run_lane(0, share, dict(FAST_LATENCY))
    assert len(records) == len(SUBSET) + len(MULTI_MATRIX) * (MULTI_TRIALS - 1) >= 25
    failed = {r["fault"]: r.get("error") or r["notes"] for r in records if "error" in r or not all(r["held"].values())}
    assert failed == {}
    moved = [r for r in records if r["failures"]]
    assert moved and all(r["convergence_s"] is not None and r["writes"] == r["failures"] for r in moved)
    # A killed keepalived: handed to the managed peer once (holder_unmanaged), or left where it is.
    kills = {r["fault"]: r for r in records if "keepalived-kill" in r["fault"]}
    assert len(kills) == 4 and all(r["exercised"] for r in kills.values())
    assert kills["keepalived-kill"]["writes"] == kills["multi:keepalived-kill"]["writes"] == 1
    assert kills["keepalived-kill:no-managed-peer"]["writes"] == kills["keepalived-kill:split-brain"]["writes"] == 0
    # Every multi fault bit: the whole group moved, a write failed part-way, UpdateIpv6 answered 412.
    assert {r["fault"] for r in records if r["fault"].startswith("multi:") and r["exercised"]} == {
        f.name for f in MULTI_MATRIX
    }


def test_python_m_chaos_writes_reliability_json(tmp_path):
    out = tmp_path / "reliability.json"
    command = [
        sys.executable,
        "-m",
        "chaos",
        "--trials",
        "3",
        "--lanes",
        "1",
        "--latency",
        "fast",
        "--seed",
        "1",
        "--fault",
        "baseline",
        "--fault",
        "split-brain",
        "--fault",
        "bad-input",
        "--out",
        str(out),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(out.read_text())
    assert result["seed"] == 1 and result["totals"] == {"trials": 3, "violations": 0, "harness_errors": 0}
    assert set(result["faults"]) == {"baseline", "split-brain", "bad-input"}
    assert "| split-brain | 1 | 1 | 0 0 0 0 0 0 0 |" in done.stdout
    assert len((tmp_path / "reliability-trials.jsonl").read_text().splitlines()) == 3
