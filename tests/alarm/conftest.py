"""tests/alarm fixtures: the alarm path started with function configuration overrides."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.support.alarm_path import AlarmPath, start_alarm_path
from tests.support.health_servers import MonitorUriServer


@pytest.fixture
def alarm_path(health_servers: dict[str, MonitorUriServer]) -> Iterator[Callable[..., AlarmPath]]:
    """Start it with function configuration overrides (FAILBACK_POLICY, ...)."""
    started: list[AlarmPath] = []

    def start(**config: str) -> AlarmPath:
        started.append(start_alarm_path(health_servers, **config))
        return started[-1]

    yield start
    for path in started:
        path.close()
        path.emu.stop()
