"""Pure parts of the emulator: the clock, the fault table, pagination tokens."""

from __future__ import annotations

import time

import pytest

from ocisim.clock import Clock, iso
from ocisim.errors import InvalidParameter
from ocisim.faults import FaultTable, make_fault
from ocisim.service import paginate


def test_clock_scale_and_advance_move_emulated_time_forward_only() -> None:
    clock = Clock(scale=100.0, start=1_000_000.0)
    time.sleep(0.05)
    assert clock.now() >= 1_000_005.0
    clock.set_scale(1.0)
    before = clock.now()
    clock.advance(60)
    assert 60 <= clock.now() - before < 61
    assert clock.real_seconds(60) == 60.0
    with pytest.raises(ValueError):
        clock.advance(-1)
    with pytest.raises(ValueError):
        clock.set_scale(0)
    assert iso(0.5) == "1970-01-01T00:00:00.500Z"


def test_fault_table_consumes_counts_in_order_and_matches_any_operation() -> None:
    table = FaultTable({"UpdatePrivateIp": 0.05})
    table.inject(make_fault("GetVnic", status=429, count=2))
    table.inject(make_fault("*", status=500, count=None))
    assert [table.take("GetVnic").status for _ in range(3)] == [429, 429, 500]
    assert table.take("GetPrivateIp").error().code == "InternalServerError"
    table.set_latency("GetVnic", 1.5)
    table.clear()
    assert table.take("GetVnic") is None
    assert (table.latency("GetVnic"), table.latency("UpdatePrivateIp")) == (0.0, 0.05)


@pytest.mark.parametrize("bad", [dict(status=200), dict(count=0), dict(delay=-1), dict(drop="sideways")])
def test_make_fault_refuses_nonsense(bad: dict) -> None:
    with pytest.raises(ValueError):
        make_fault("GetVnic", **bad)


def test_pagination_walks_every_item_once() -> None:
    items, query, seen = list(range(7)), {"limit": "3"}, []
    while True:
        reply = paginate(items, query)
        seen += reply.body
        if "opc-next-page" not in reply.headers:
            break
        query = {"limit": "3", "page": reply.headers["opc-next-page"]}
    assert seen == items
    with pytest.raises(InvalidParameter):
        paginate(items, {"limit": "0"})
