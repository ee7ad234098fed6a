"""Failover controller for a floating secondary private IP on OCI.

The package is a functional core (``config``, ``events``, ``decide``: pure, no I/O) with an
imperative shell around it (``network`` for OCI, ``probe`` for node health, ``log`` for JSON
lines, ``shell`` the entry and ``pipeline`` wiring observe → decide → act → verify).
``func.py`` hands fdk requests to the shell; ``python -m failover`` is the operator CLI on the
same shell.
"""
