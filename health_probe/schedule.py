"""When the next probe round starts.

Rounds start every ``interval`` seconds plus a random jitter in [0, jitter), so the agents on
all nodes (started together by cloud-init) do not probe and post in lockstep. A round that
overran its interval starts the next one immediately instead of queueing missed rounds.
"""

from __future__ import annotations


def next_delay(elapsed: float, interval: float, jitter: float, random_fraction: float) -> float:
    """Seconds to wait after a round that took ``elapsed`` seconds; ``random_fraction`` in [0, 1)."""
    return max(0.0, interval - elapsed) + jitter * random_fraction
