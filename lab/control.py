"""`up`, `fault`, `heal` and `down`: the lab's life cycle (docs/lab.md)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests

from lab import cloud, machines, network, processes, rootfs, sources, topology, userdata
from lab.methods import NOTIFY_PROCESSES, node_env, notify_master_command
from lab.plan import (
    HEALTH_PORT,
    PYTHON,
    REPO,
    TRANSIT_PORT,
    Cloud,
    Node,
    Plan,
    haproxy_vars,
    keepalived_vars,
    load_plan,
    node_agent_vars,
    plan_file,
    plan_for,
)
from lab.shell import LabError, in_netns, run
from lab.state import LabState

RUN_DIR = REPO / "run" / "lab"
FAULTS = (
    "haproxy-stop",
    "keepalived-stop",
    "keepalived-kill",
    "link-down",
    "crash",
    "partition",
    "health-blocked",
    "outside-blocked",
)
READY_TIMEOUT_SECONDS = 30.0


def default_plan() -> Plan:
    """The running lab's layout (saved by `up`), or the default two-node one."""
    return load_plan(RUN_DIR)


# client ------------------------------------------------------------------------------------


def client_get(plan: Plan, timeout: float = 1.0, host: str | None = None, netns: str | None = None) -> str:
    """One request from the client namespace (or `netns`) to the floating IP (or `host`, an
    IPv6 one in brackets): the body, or "" on failure."""
    url = f"http://{host or plan.vip}/"
    done = run(
        in_netns(netns or plan.client_netns, "curl", "--silent", "--max-time", str(timeout), url),
        check=False,
        timeout=timeout + 5,
    )
    return done.stdout.strip()


def wait_for(predicate: Any, timeout: float, what: str, interval: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise LabError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


NODE_PID_FILES = (
    "haproxy.pid",
    "keepalived.pid",
    "keepalived-vrrp.pid",
    "keepalived-checkers.pid",
    "agent.pid",
    "monitor.pid",
)


def notify_running(plan: Plan) -> bool:
    """Whether a notify script (or keepalived's check) is still running on any node."""
    if LabState.load(plan).booted:
        return any(machines.processes_matching(plan, node, NOTIFY_PROCESSES) for node in plan.nodes)
    return any(
        processes.foreign_pids(node.netns, [plan.path(node, name) for name in NODE_PID_FILES]) for node in plan.nodes
    )


# up ----------------------------------------------------------------------------------------


def _agent_pid_file(plan: Plan, node: Node) -> Path:
    return plan.path(node, "agent.pid")


def _start_agent(state: LabState, node: Node) -> None:
    """The node agent: always, since it serves the health endpoint the function probes; it posts
    metrics only when the lab runs with agents (the alarm path)."""
    plan = state.plan
    if processes.pid_from(_agent_pid_file(plan, node), "health_probe"):
        return
    command = in_netns(
        node.netns,
        "/usr/bin/env",
        *node_env(state, node),
        str(PYTHON),
        "-m",
        "health_probe",
        "--config",
        str(plan.path(node, "node-agent.yaml")),
        *([] if state.agents else ["--no-metrics"]),
    )
    processes.spawn(command, plan.path(node, "agent.log"), _agent_pid_file(plan, node))


def endpoint_answers(node: Node) -> bool:
    """Whether the node's health endpoint answers the control plane at all (200 or 503)."""
    with requests.Session() as session:
        session.trust_env = False  # straight to the node, never through a proxy from the environment
        try:
            session.get(node.health_url, timeout=0.5).close()
        except requests.RequestException:
            return False
    return True


def notify_release_command(state: LabState, node: Node) -> str:
    """What keepalived runs, with " --state BACKUP|FAULT|STOP" appended, when the node leaves
    MASTER: the fast path's notify without its state; the other methods have no such step."""
    if state.method != "fast_path":
        return "/bin/true"
    master = notify_master_command(state, node)
    assert master.endswith(" --state MASTER"), master
    return master.removesuffix(" --state MASTER")


def start_node(state: LabState, node: Node) -> None:
    """Bring every process of a node up (idempotent: what runs is left alone). The agent first:
    keepalived's first notify makes the function probe this node's endpoint."""
    plan = state.plan
    processes.start_haproxy(plan, node)
    _start_agent(state, node)
    wait_for(lambda: endpoint_answers(node), READY_TIMEOUT_SECONDS, f"{node.name}'s health endpoint", interval=0.1)
    processes.start_keepalived(plan, node)


def render_node_files(state: LabState, cloud_facts: Cloud) -> None:
    """Each process-mode node's haproxy.cfg, keepalived.conf and node-agent.yaml, rendered once
    by terraform's templatefile() with the lab's paths and this method's notify commands."""
    plan = state.plan
    files: dict[str, tuple[str, dict[str, Any]]] = {}
    for node in plan.nodes:
        notify = keepalived_vars(plan, node, notify_master_command(state, node), notify_release_command(state, node))
        files[str(plan.path(node, "haproxy.cfg"))] = ("haproxy.cfg.tftpl", haproxy_vars(plan, node))
        files[str(plan.path(node, "keepalived.conf"))] = ("keepalived.conf.tftpl", notify)
        agent = node_agent_vars(plan, node, cloud_facts)
        files[str(plan.path(node, "node-agent.yaml"))] = ("node-agent.yaml.tftpl", agent)
    for path, text in userdata.templatefile(plan.path(None, "terraform"), files).items():
        Path(path).write_text(text)


def _start_watchers(plan: Plan) -> None:
    """`ip monitor` per node: timestamped alias changes, the demo's "VRRP transition" times."""
    for node in plan.nodes:
        processes.spawn(
            ["ip", "-n", node.netns, "-timestamp", "monitor", "address"],
            plan.path(node, "addresses.log"),
            plan.path(node, "monitor.pid"),
        )


def up(
    method: str = "fast_path",
    *,
    agents: bool = True,
    clock_scale: float = 1.0,
    latency: dict[str, float] | None = None,
    plan: Plan | None = None,
    failback_policy: str = "never",
    booted: bool = True,
    source_overrides: dict[str, str] | None = None,
    topology_name: str = "two-node",
    nodes: int | None = None,
    emulator: cloud.EmulatorSetup = cloud.DEFAULT_SETUP,
    fast_path_mode: str | None = None,
) -> dict[str, Any]:
    """Build the lab and start everything; on any failure (or Ctrl-C) tear it down again.

    `topology_name` is one of ocisim/topologies/ (lab.topology), `nodes` the number of nodes
    (None: the topology's own; more derives the missing ones).

    `booted` (the default): every node a machine booted from terraform's cloud-init, as OCI
    boots an instance; otherwise haproxy, keepalived and the agent run as host processes in the
    nodes' namespaces (faster, and the only mode for the methods other than the fast path).
    `source_overrides` (path -> content) changes files of the snapshot the nodes clone;
    `emulator` what the emulator starts with beyond the topology (the bench's profile and grants).
    `fast_path_mode` is terraform's: "direct" deploys the lab as terraform does with it (the
    nodes' IAM grants, their agents' fast_path_direct and host firewall), so each node's agent
    moves the IP itself with its instance principal; "function": the agent invokes the function;
    None: `deployed_fast_path_mode`'s."""
    mode = deployed_fast_path_mode(method, fast_path_mode)
    run_dir = (plan or default_plan()).run_dir
    try:
        raw = topology.with_nodes(json.loads(topology.topology_file(topology_name).read_text()), nodes)
    except ValueError as exc:
        raise LabError(str(exc)) from None
    plan = plan_for(run_dir, raw, topology_name)
    _refuse_to_start(plan, load_plan(run_dir), method, booted, mode)
    _unmount_under(plan.run_dir)
    shutil.rmtree(plan.run_dir, ignore_errors=True)
    for node in (None, *plan.nodes):
        plan.path(node, "x").parent.mkdir(parents=True, exist_ok=True)
    plan.save()  # first: `down` removes what this layout makes, also after a failed up
    try:
        return _up(
            plan,
            raw,
            method,
            agents,
            clock_scale,
            latency or {},
            failback_policy,
            booted,
            source_overrides,
            emulator,
            mode,
        )
    except BaseException:
        down(plan)
        raise


def deployed_fast_path_mode(method: str, requested: str | None) -> str:
    """The fast_path_mode a lab of `method` is deployed with (pure): the one requested; else
    terraform's default for the fast path (what a deployment gets is what the lab tests), and
    "function" for the other methods, whose notify replaces the fast path's, so that their nodes
    hold no move grant of direct mode's."""
    if requested is not None:
        return requested
    return cloud.DEFAULT_FAST_PATH_MODE if method == "fast_path" else "function"


def _refuse_to_start(plan: Plan, running_plan: Plan, method: str, booted: bool, fast_path_mode: str) -> None:
    """Raise LabError, saying why and what to do, if this lab cannot start here and now."""
    if fast_path_mode not in cloud.FAST_PATH_MODE_VALUES:
        raise LabError(f"fast_path_mode {fast_path_mode!r}: one of {', '.join(cloud.FAST_PATH_MODE_VALUES)}")
    if fast_path_mode != "function" and method != "fast_path":
        raise LabError(f"fast_path_mode {fast_path_mode} is a way of the fast path: method {method} has no use for it")
    if plan.dual_stack and method != "fast_path":
        raise LabError(
            f"method {method} has no notify for the {plan.topology} topology's two VRRP instances "
            "(keepalived's generic notify runs the fast path's): use the fast path"
        )
    if booted and method != "fast_path":
        raise LabError(
            f"method {method} changes keepalived's notify, which booted nodes take from "
            "terraform's cloud-init: use --processes"
        )
    if os.geteuid() != 0:
        raise LabError("the lab needs root (network namespaces, haproxy on :80)")
    running = sorted({*network.existing_netns(running_plan), *network.existing_netns(plan)})
    if running or LabState.file(plan).exists():
        raise LabError(
            f"a lab is already running (namespaces: {', '.join(running) or 'none'}; "
            f"state {LabState.file(plan)}); stop it first: python -m lab down"
        )
    missing = [tool for tool in (BOOTED_TOOLS if booted else PROCESS_TOOLS) if not shutil.which(tool)]
    if missing:
        raise LabError(f"missing {', '.join(missing)}: run `make lab-deps` (apt-get install)")


PROCESS_TOOLS = ("haproxy", "keepalived", "curl", "nft", "terraform")
BOOTED_TOOLS = ("curl", "nft", "mmdebstrap", "systemd-nspawn", "nsenter", "git", "terraform")


def _up(
    plan: Plan,
    raw: dict[str, Any],
    method: str,
    agents: bool,
    clock_scale: float,
    latency: dict[str, float],
    failback_policy: str,
    booted: bool,
    source_overrides: dict[str, str] | None,
    emulator: cloud.EmulatorSetup,
    fast_path_mode: str,
) -> dict[str, Any]:
    timings: dict[str, float] = {}
    if booted:  # the one-time parts first: the root filesystem and the wheelhouse
        started = time.monotonic()
        image = rootfs.ensure_image(rootfs.image_path().with_name(rootfs.image_path().name + ".log"))
        timings["rootfs_s"] = round(time.monotonic() - started, 1)
    network.setup(plan)
    iam_dir = plan.path(None, "iam")
    cloud.iam_module(raw, emulator, iam_dir)
    topology = cloud.with_setup(cloud.lab_topology(plan, raw, failback_policy, fast_path_mode), emulator, iam_dir)
    topology_file = plan.path(None, "topology.json")
    topology_file.write_text(json.dumps(topology, indent=2))
    ready = cloud.start_emulator(plan, topology_file, clock_scale, emulator.profile)
    cloud.set_latency(ready["endpoint"], latency)
    facts = cloud.facts(topology)
    state = LabState(
        plan=plan,
        method=method,
        agents=agents,
        emulator=ready,
        facts=facts,
        booted=booted,
        fast_path_mode=fast_path_mode,
    )
    state.save()

    processes.spawn(
        [str(PYTHON), "-m", "lab.fabric", str(plan.run_dir)],
        plan.path(None, "fabric.log"),
        plan.path(None, "fabric.pid"),
    )
    wait_for(
        lambda: all(network.vip_route_holder(plan, vip) for vip in plan.vips),
        READY_TIMEOUT_SECONDS,
        "the fabric's first routes",
    )
    _start_watchers(plan)
    if plan.transit:
        _start_transit_server(plan)
        wait_for(lambda: network.transit_holder(plan) is not None, READY_TIMEOUT_SECONDS, "the route-target path")

    cloud_facts = nodes_cloud(state)
    first, *others = plan.nodes
    if booted:
        _boot_nodes(state, image, cloud_facts, source_overrides, timings)
    else:
        render_node_files(state, cloud_facts)
        network.enable_forwarding(plan)  # what cloud-init's sysctl does on a booted appliance node
        # node-a first, so that it becomes MASTER where the emulator has the IP, as in the topology.
        start_node(state, first)
        wait_master(plan, first)
        for node in others:
            start_node(state, node)
    for vip in plan.vips:
        wait_for(
            lambda v=vip: first.name in client_get(plan, 0.5, v.url_host),
            READY_TIMEOUT_SECONDS,
            f"the client to reach {vip.address}",
        )
    # node-a's first notify_master (a no-op move) must not land inside someone's measurement.
    wait_for(lambda: not notify_running(plan), READY_TIMEOUT_SECONDS, "the first notify_master to finish")
    nodes: dict[str, dict[str, str]] = {}
    for n in plan.nodes:
        nodes[n.name] = {"netns": n.netns, "ip": n.ip, **({"root": str(machines.root(plan, n))} if booted else {})}
    return {
        "vip": plan.vip,
        "client_netns": plan.client_netns,
        "nodes": nodes,
        "topology": plan.topology,
        "vips": {vip.name: vip.address for vip in plan.vips},
        **({"transit": transit_info(plan)} if plan.transit else {}),
        "emulator": ready,
        "method": method,
        "fast_path_mode": fast_path_mode,
        "booted": booted,
        "timings": timings,
    }


def nodes_cloud(state: LabState) -> Cloud:
    """What the lab's terraform part tells every node about the cloud: instance principals, and
    in direct mode the events function's configuration (the controller's output that
    compute.tf hands the node agents)."""
    direct = (
        cloud.direct_fast_path_config(cloud.running_topology(state.plan), state.emulator["endpoint"])
        if state.fast_path_mode == "direct"
        else {}
    )
    return cloud.cloud_for_nodes(state.emulator, state.facts, auth="instance_principal", fast_path_direct=direct)


def wait_master(plan: Plan, node: Node) -> None:
    """Until `node` alone holds every floating IP as an alias (each VRRP instance's MASTER)."""
    for vip in plan.vips:
        wait_for(
            lambda v=vip: network.alias_holders(plan, v) == [node.name],
            READY_TIMEOUT_SECONDS,
            f"{node.name} to become MASTER of {vip.address}",
        )


def transit_info(plan: Plan) -> dict[str, str]:
    """The route-target path as `up` reports it."""
    transit = plan.transit
    assert transit is not None
    return {
        "client_netns": transit.client_netns,
        "client_ip": transit.client_ip,
        "destination": transit.destination,
        "server": transit_url(plan),
        "via": transit.target,
    }


def transit_url(plan: Plan) -> str:
    assert plan.transit is not None
    return f"http://{plan.transit.server_ip}:{TRANSIT_PORT}/"


TRANSIT_ANSWER = "Hello from behind the pair\n"


def _start_transit_server(plan: Plan) -> None:
    """The destination behind the pair: a plain HTTP server in its own namespace."""
    assert plan.transit is not None
    here = plan.path(None, "behind")
    here.mkdir(parents=True, exist_ok=True)
    (here / "index.html").write_text(TRANSIT_ANSWER)
    processes.spawn(
        in_netns(
            plan.transit.server_netns,
            str(PYTHON),
            "-m",
            "http.server",
            "--bind",
            plan.transit.server_ip,
            "--directory",
            str(here),
            str(TRANSIT_PORT),
        ),
        plan.path(None, "behind.log"),
        plan.path(None, "behind.pid"),
    )


def _boot_nodes(
    state: LabState, image: Path, cloud_facts: Any, source_overrides: dict[str, str] | None, timings: dict[str, float]
) -> None:
    """Serve what the nodes fetch, play terraform's part (render every node's cloud-init and
    node-agent.yaml with the real terraform, store the yaml in Object Storage), then boot the
    nodes: node-a first, so that it becomes MASTER where the emulator has the IP, as in the
    topology, then every other node at once (each boot's time counts from the batch's start)."""
    plan = state.plan
    started = time.monotonic()
    served = sources.start(plan, source_overrides)
    timings["sources_s"] = round(time.monotonic() - started, 1)
    started = time.monotonic()
    config = cloud.node_config_location(state.emulator, cloud.running_topology(plan))
    rendered = userdata.render(plan.path(None, "terraform"), plan, cloud_facts, served, config)
    for node in plan.nodes:
        cloud.put_object(state.emulator, config, config.name(node), rendered[node.name].node_agent_yaml)
    timings["terraform_s"] = round(time.monotonic() - started, 1)
    first, *others = plan.nodes
    for node in plan.nodes:
        machines.prepare(plan, node, image, rendered[node.name].cloud_init)
    for batch in ([first], others):  # the others together: each waits on its own downloads and units
        started = time.monotonic()
        for node in batch:
            machines.boot(plan, node)
        for node in batch:
            machines.wait_cloud_init(plan, node, max(1.0, started + machines.BOOT_TIMEOUT_SECONDS - time.monotonic()))
            timings[f"boot_{node.name}_s"] = round(time.monotonic() - started, 1)
            wait_for(lambda n=node: endpoint_answers(n), READY_TIMEOUT_SECONDS, f"{node.name}'s health endpoint")
        if batch == [first]:
            wait_master(plan, first)


def _unmount_under(directory: Path) -> None:
    """Unmount whatever a previous lab left mounted below `directory` (the nodes' overlays)."""
    prefix = str(directory.resolve()) + "/"
    for line in reversed(Path("/proc/mounts").read_text().splitlines()):
        target = line.split()[1]
        if target.startswith(prefix):
            run(["umount", "-l", target], check=False)


# faults ------------------------------------------------------------------------------------


def fault(node_name: str, kind: str, plan: Plan | None = None) -> dict[str, Any]:
    """Break one node in one of the ways the chaos matrix and the bench use."""
    plan = plan or default_plan()
    state = LabState.load(plan)
    node = plan.node(node_name)
    if kind not in FAULTS:
        raise LabError(f"unknown fault {kind!r}; one of: {', '.join(FAULTS)}")
    started = time.time()
    if kind in ("link-down", "crash"):
        network.link(plan, node, up=False)
    if kind == "partition":
        network.block_vrrp(plan)
    elif kind == "outside-blocked":  # the fabric, not the node: clients cannot reach the VIP
        network.block_outside(plan)
    elif kind == "health-blocked":  # only the function's probes of this node's health port
        network.block_health(plan, node, urlsplit(node.health_url).port or HEALTH_PORT)
    elif state.booted:
        _fault_machine(plan, node, kind)
    elif kind == "haproxy-stop":
        processes.stop_haproxy(plan, node)
    elif kind == "keepalived-stop":
        processes.stop_keepalived(plan, node, signal.SIGTERM)
    elif kind == "keepalived-kill":
        processes.stop_keepalived(plan, node, signal.SIGKILL)
    elif kind == "crash":
        processes.kill_netns_processes(node.netns)
    return {"fault": kind, "node": node.name, "time": started}


def _fault_machine(plan: Plan, node: Node, kind: str) -> None:
    """The faults inside a booted node, as an operator (or the kernel) would cause them."""
    if kind == "haproxy-stop":
        machines.systemctl(plan, node, "stop", "haproxy")
    elif kind == "keepalived-stop":  # SIGTERM: keepalived drops the alias and tells its peer
        machines.systemctl(plan, node, "stop", "keepalived")
    elif kind == "keepalived-kill":  # every keepalived process, children first; the alias stays
        machines.kill_unit(plan, node, "keepalived", "keepalived")
    elif kind == "crash":  # the whole machine at once (its link is already down)
        machines.crash(plan, node)


def _heal_machine(plan: Plan, node: Node) -> None:
    """A crashed machine boots again (cloud-init does not re-run the bootstrap for the same
    instance-id; the enabled units start); a running one gets its stopped units started."""
    if not machines.running(plan, node):
        machines.boot(plan, node)
        wait_for(lambda: machines.running(plan, node), READY_TIMEOUT_SECONDS, f"{node.name} to boot again")
        wait_for(
            lambda: all(machines.active(plan, node, unit) for unit in machines.SERVICES),
            machines.BOOT_TIMEOUT_SECONDS,
            f"{node.name}'s services after its reboot",
            interval=0.5,
        )
    else:
        machines.systemctl(plan, node, "start", *machines.SERVICES)
    wait_for(lambda: endpoint_answers(node), READY_TIMEOUT_SECONDS, f"{node.name}'s health endpoint", interval=0.1)


def heal(plan: Plan | None = None) -> dict[str, Any]:
    """Undo every fault: VRRP unblocked, links up, every process running again."""
    plan = plan or default_plan()
    state = LabState.load(plan)
    network.clear_fault_rules(plan)
    for node in plan.nodes:
        network.link(plan, node, up=True)
        if state.booted:
            _heal_machine(plan, node)
        else:
            start_node(state, node)
    route = network.vip_route_holder(plan)
    return {
        "healed": True,
        "time": time.time(),
        "alias": network.alias_holders(plan),
        "route": route.name if route else None,
    }


# down --------------------------------------------------------------------------------------

ROOT_PROCESSES = (
    ("fabric.pid", "lab.fabric"),
    ("emulator.pid", "ocisim"),
    ("floor-route.pid", "lab.floor_route"),
    *sources.PROCESSES,
)


def down(plan: Plan | None = None) -> dict[str, Any]:
    """Remove every namespace, link and process the lab made; works on half-built labs too."""
    plan = plan or default_plan()
    killed: list[int] = []
    for node in plan.nodes:  # machines first: their PID 1 takes every process inside along
        machines.remove(plan, node)
    _unmount_under(plan.run_dir)
    for node in plan.nodes:  # a booted node's writable layer (its installs: ~1 GB); its logs stay
        shutil.rmtree(plan.path(node, "overlay"), ignore_errors=True)
    for netns in network.existing_netns(plan):
        killed += processes.kill_netns_processes(netns)
    for node in plan.nodes:
        pid = processes.signal_pidfile(plan.path(node, "monitor.pid"), "monitor", signal.SIGKILL)
        killed += [pid] if pid else []
    for pid_file, program in ROOT_PROCESSES:
        pid = processes.signal_pidfile(plan.path(None, pid_file), program, signal.SIGTERM)
        if pid and not processes.wait_gone([pid], 6.0):
            os.kill(pid, signal.SIGKILL)
        killed += [pid] if pid else []
    network.teardown(plan)
    LabState.file(plan).unlink(missing_ok=True)
    left = network.existing_netns(plan)
    if left:
        raise LabError(f"could not remove namespaces {', '.join(left)}")
    plan_file(plan.run_dir).unlink(missing_ok=True)
    return {"down": True, "killed": len(killed)}
