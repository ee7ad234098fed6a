"""Test stand-ins shared by every test area, imported as ``tests.support.<module>``."""
