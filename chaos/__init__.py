"""Chaos: the fault matrix of docs/reliability.md, run against the real function, with the invariants measured.

    faults      the matrix as data, and the seeded plan of trials
    invariants  the seven invariants, pure checks on an audit log and the function's answers
    nodes       loopback health endpoints whose answer (and real state) the harness sets
    lane        one emulator running the real function under fdk, reached as OCI's callers do
    scenarios   the emulator driver's trial scripts, one per fault scenario
    runner      trials on parallel lanes, one record each
    records     the audit log and the function's log read into the invariants' inputs
    lab_records the lab's records (actions, alias samples, client answers) read the same way
    lab_driver  the lab level: lab faults in the real lab, one trial at a time
    report      records -> bench/reliability.json and the results table

`python -m chaos --trials N --lab-trials M --seed S` (or `make chaos`) runs it;
docs/reliability.md explains it.
"""
