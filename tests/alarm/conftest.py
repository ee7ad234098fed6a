"""tests/alarm fixtures: the alarm path started with function configuration overrides."""
from __future__ import annotations

from typing import Callable, Iterator

import pytest
from alarm_helpers import AlarmPath, start_alarm_path
from loopback import HealthServer, health_servers  # noqa: F401 - fixture used by alarm_path


@pytest.fixture
def alarm_path(health_servers: dict[str, HealthServer]) -> Iterator[Callable[..., AlarmPath]]:  # noqa: F811
    """Start it with function configuration overrides (FAILBACK_POLICY, ...)."""
    started: list[AlarmPath] = []

    def start(**config: str) -> AlarmPath:
        started.append(start_alarm_path(health_servers, **config))
        return started[-1]

    yield start
    for path in started:
        path.close()
        path.emu.stop()
