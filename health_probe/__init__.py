"""Node agent of the alarm path.

Every node runs it and probes every node's haproxy health endpoint and the floating IP, so a node
that dies outright is still reported down by its peer. Each probe becomes one datapoint per
metric (up 0/1, latency) posted to OCI Monitoring; Monitoring's alarm then calls the failover
function through Notifications.

Modules, one job each: ``names`` (metric and alarm names, shared with terraform and the
emulator), ``config`` (YAML → frozen config, clear errors), ``probe`` (one HTTP check),
``points`` (results → datapoints and bounded buffer, pure), ``schedule`` (jittered timing, pure),
``publish`` (PostMetricData), ``clients`` (signers and OCI clients), ``agent`` (the loop),
``notify`` (keepalived's notify → the relay, else the function directly; with ``--relay``,
the standard library and the logger only until the fallback reads the agent's config), ``notice`` (the notice and its outcome, shared by notify and the relay),
``relay`` (the agent's warm loopback relay to the function), ``invoke`` (the one
FunctionsInvokeClient call), ``direct`` (fast_path_mode "direct": the function's core run by the
agent itself instead of the invoke), ``serving`` (can this node serve the floating IP now: haproxy up
and the alias local, pure) and ``endpoint`` (that verdict as GET /healthz on :8405, the URL the
function probes). It logs through the project's one logger, ``failover.log`` (standard library
only; a node runs from the whole checkout, which ``install`` puts on the venv's path).
"""
