"""tests/probe fixtures come from loopback.py (shared with tests/alarm)."""
from loopback import health_servers  # noqa: F401 - re-exported as a fixture
