"""Where the repository is, for tests that run its programs or read its files."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# Alarm messages recorded from the emulator's Notifications (and from OCI's documented shapes).
ALARM_FIXTURES = REPO / "tests" / "alarm" / "fixtures"
