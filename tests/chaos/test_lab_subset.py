"""One fixed lab trial of the chaos matrix in the real lab, on every `make test`, on the
session's booted lab (tests/support/booted_lab.py).

keepalived SIGKILLed on the holder and started again: it comes back as BACKUP and drops the
stale alias, and the IP must follow to the peer (an outage before the node's serving-health
endpoint and the function's handling of BACKUP notices). Skipped only where network namespaces
cannot be created; the full lab level (100 trials, every lab fault) runs in `make chaos`.
"""

import pytest

from chaos import faults
from chaos.lab_driver import run_lab_trials
from tests.support.booted_lab import BootedLab

pytestmark = [pytest.mark.lab, pytest.mark.timeout(900)]
FAULTS = ("lab:keepalived-kill+restart",)


def test_lab_trials_hold_every_invariant(booted_lab: BootedLab) -> None:
    selected = faults.by_name(list(FAULTS))
    records = run_lab_trials(faults.plan(selected, len(FAULTS), 8), faults.REALISTIC_API_LATENCY, attach=True)
    assert sorted(r["fault"] for r in records) == sorted(FAULTS)
    for record in records:
        assert "error" not in record, record["error"]
        assert all(record["held"].values()), record["notes"]
        assert record["writes"] == 1 and record["client"]["requests"] > 0
