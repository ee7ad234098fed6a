"""ocisim: a local OCI emulator that the unmodified `oci` SDK and CLI talk to over HTTP(S).

Start it (tests, tools):

    from ocisim import Emulator
    with Emulator.start(topology="ocisim/topologies/two-node.json", state=None) as emu:
        config = oci.config.from_file(emu.oci_config_file)
        net = oci.core.VirtualNetworkClient(config, service_endpoint=emu.endpoint)

or as a process: `python -m ocisim serve --topology ... --state F --port N` (see ocisim/cli.py).

Layout (moto's per-service packages, LocalStack's request chain):

    ocisim/service.py   the plug-in contract (Service, Route, Call, Reply): READ THIS to add a service
    ocisim/chain.py     request id -> error serialisation -> authentication -> faults -> handler
    ocisim/backend.py   one state object + one lock + atomic persistence + audit + credentials
    ocisim/auth.py      OCI signature verification, API keys, session tokens (RPST-style JWTs)
    ocisim/clock.py     emulated time with a scale factor (backend.clock)
    ocisim/faults.py    injected faults and latency as data
    ocisim/audit.py     the audit log (+ long-poll)
    ocisim/admin.py     unsigned /_admin/ endpoint (loopback)
    ocisim/emulator.py  Emulator: the server in a background thread, the Python API
    ocisim/tls.py       the CA and server certificate of `serve --tls`
    ocisim/core/        Core Services 20160918: private/public IPs, VNICs, attachments, instances

Plug-in summary (details in ocisim/service.py):
- Add `ocisim/<pkg>/__init__.py` exposing `SERVICE = Service(name, routes, seed, load, dump,
  start, stop, depends_on)`; it is discovered automatically. `seed(topology, backend)` builds the state
  section from the topology dict (your own topology keys: e.g. "alarms", "topics"); `load`/
  `dump` convert it to/from JSON for the state file.
- Routes: `Route(method, "/<apiversion>/...", "OciOperationName", handler, auth="signature",
  sign_body=True)`. Sync handlers run under `backend.lock`; async handlers must lock themselves.
- Time: `backend.clock.now()` / `.iso_now()` / `.sleep()` / `await .asleep()` (emulated
  seconds, scaled by --clock-scale; never use time.time() for emulated time).
- Tokens: `backend.keyring.issue_session_token(principal_id, session_public_key, ptype=
  "instance"|"resource", tenancy_id=..., compartment_id=...)` returns a JWT the verifier
  accepts as keyId `ST$<jwt>`; `backend.resource_principal_env(principal_id, directory)` writes
  the RPST v2.2 files a function needs.
- Audit: `call.audit(resource_id, before, after)` inside a handler; `backend.record(...)` +
  `backend.save()` from background work.
- Lifecycle: `start(backend)` / `stop(backend)` (sync or async) run on the server loop, in
  `depends_on` order (stop in reverse); what a service keeps running lives in
  `backend.runtime[<its name>]`. The function directory is `backend.options["function_dir"]`,
  extra function config `backend.options["function_config"]`, the endpoint `backend.endpoint`
  (https with `tls`, its CA file `backend.ca_bundle`).
"""

from ocisim.emulator import Emulator

__all__ = ["Emulator"]
