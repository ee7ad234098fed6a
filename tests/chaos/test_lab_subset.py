"""One fixed lab trial of the chaos matrix in the real lab, on every `make test` (~17 s).

keepalived SIGKILLed on the holder and started again: it comes back as BACKUP and drops the
stale alias, and the IP must follow to the peer (an outage before the node's serving-health
endpoint and the function's handling of BACKUP notices). Skipped only where network namespaces
cannot be created; the full lab level (100 trials, every lab fault) runs in `make chaos`.
"""

import json
import subprocess
import sys

import pytest

from lab.network import netns_unavailable

pytestmark = pytest.mark.lab
FAULTS = ("lab:keepalived-kill+restart",)


def test_lab_trials_hold_every_invariant(tmp_path):
    reason = netns_unavailable()
    if reason:
        pytest.skip(reason)
    out = tmp_path / "reliability.json"
    command = [sys.executable, "-m", "chaos", "--trials", "0", "--lab-trials", str(len(FAULTS)), "--seed", "8",
               *(arg for fault in FAULTS for arg in ("--fault", fault)), "--out", str(out)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]  # the failed trial's notes are in its progress line
    records = [json.loads(line) for line in (tmp_path / "reliability-trials.jsonl").read_text().splitlines()]
    assert sorted(r["fault"] for r in records) == sorted(FAULTS)
    assert all(r["writes"] == 1 and r["client"]["requests"] > 0 for r in records)
