"""``python -m health_probe install --config FILE``: make this node a node of the controller.

One way to install the node agent, for both kinds of node: the full stack's cloud-init runs it
after fetching the node's node-agent.yaml (terraform/modules/node_config/bootstrap.sh.tftpl),
and on a node you already have you run it yourself with the node-agent.yaml that
examples/existing-nodes renders (docs/deploy.md). It checks the configuration first (a bad one
exits 2 and changes nothing), then installs it as /etc/oci-vip-failover/node-agent.yaml, makes
``health_probe`` importable from any directory (keepalived runs notify from /), installs the
systemd unit that ships beside this module and (re)starts it.

keepalived is the operator's on an existing node: instead of replacing keepalived.conf it prints
(or writes, ``--snippet FILE``) the lines to add, the same lines terraform's template renders.

The checkout must be at /opt/oci-vip-failover with its venv in .venv: the unit runs from there.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import sysconfig
import tempfile
from dataclasses import dataclass
from pathlib import Path

from health_probe.config import AgentConfig, ConfigError, load_config

APP_DIR = Path("/opt/oci-vip-failover")
CONFIG_PATH = Path("/etc/oci-vip-failover/node-agent.yaml")
UNIT_NAME = "vip-failover-probe.service"
UNIT_SOURCE = Path(__file__).with_name(UNIT_NAME)
SYSTEMD_DIR = Path("/etc/systemd/system")
PTH_NAME = "oci-vip-failover.pth"
SYSTEMCTL_TIMEOUT_SECONDS = 60.0


class InstallError(RuntimeError):
    """The node cannot be installed as it is; the message says what to change."""


@dataclass(frozen=True)
class Notify:
    """The two commands keepalived runs, exactly as terraform's node_config renders them."""

    master: str
    release: str


def notify_commands(
    app_dir: Path = APP_DIR,
    config_path: Path = CONFIG_PATH,
    relay: str = f"{AgentConfig.relay_address}:{AgentConfig.relay_port}",
) -> Notify:
    """Through /usr/bin/env: with script security keepalived runs the first word's real path,
    and the venv's python is a symlink that outside the venv finds neither health_probe nor its
    packages (see node_config's main.tf). ``relay``: the config's relay_address:relay_port, so
    that notify's relay path reads no YAML."""
    base = f"/usr/bin/env {app_dir}/.venv/bin/python -m health_probe.notify --config {config_path} --relay {relay}"
    return Notify(master=f"{base} --state MASTER", release=base)


def keepalived_snippet(notify: Notify) -> str:
    """What an existing keepalived.conf needs: script security that keeps the notify scripts,
    and the notify lines of the vrrp_instance that carries the floating IP."""
    return "\n".join(
        [
            "# Add to global_defs (without script_user, enable_script_security drops the scripts):",
            "    enable_script_security",
            "    script_user root",
            "",
            "# Add to the vrrp_instance that holds the floating IP (replace its notify* lines):",
            f'    notify_master "{notify.master}"',
            f'    notify_master_rx_lower_pri "{notify.master}"',
            f'    notify_backup "{notify.release} --state BACKUP"',
            f'    notify_fault "{notify.release} --state FAULT"',
            f'    notify_stop "{notify.release} --state STOP"',
            "",
            "# Then: keepalived -t -f /etc/keepalived/keepalived.conf && systemctl reload keepalived",
            "",
        ]
    )


def _write(path: Path, content: bytes, mode: int) -> None:
    """Atomically: a reader (systemd, the agent) never sees half a file."""
    path.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}.", delete=False) as handle:
        handle.write(content)
    os.chmod(handle.name, mode)
    os.replace(handle.name, path)


def _systemctl(*args: str) -> None:
    run = subprocess.run(["systemctl", *args], capture_output=True, text=True, timeout=SYSTEMCTL_TIMEOUT_SECONDS)
    if run.returncode != 0:
        raise InstallError(f"systemctl {' '.join(args)} failed: {run.stderr.strip()}")


def install(config_file: Path) -> list[str]:
    """Install and (re)start the agent; returns what was done, one line each."""
    here = Path(__file__).resolve().parent.parent
    if here != APP_DIR.resolve():
        raise InstallError(f"health_probe runs from {here}; clone the project to {APP_DIR} (its unit runs from there)")
    if Path(sys.prefix).resolve() != (APP_DIR / ".venv").resolve():
        raise InstallError(f"run it with {APP_DIR}/.venv/bin/python (the unit's interpreter), not {sys.executable}")
    done = []
    if config_file.resolve() != CONFIG_PATH.resolve():
        _write(CONFIG_PATH, config_file.read_bytes(), 0o644)
        done.append(f"wrote {CONFIG_PATH} from {config_file}")
    else:
        os.chmod(CONFIG_PATH, 0o644)  # the unit's DynamicUser reads it
    pth = Path(sysconfig.get_paths()["purelib"]) / PTH_NAME
    _write(pth, f"{APP_DIR}\n".encode(), 0o644)
    done.append(f"wrote {pth}")
    _write(SYSTEMD_DIR / UNIT_NAME, UNIT_SOURCE.read_bytes(), 0o644)
    done.append(f"wrote {SYSTEMD_DIR / UNIT_NAME}")
    _systemctl("daemon-reload")
    _systemctl("enable", UNIT_NAME)
    _systemctl("restart", UNIT_NAME)
    done.append(f"enabled and started {UNIT_NAME}")
    return done


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="health_probe install", description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True, type=Path, help="this node's node-agent.yaml")
    target = parser.add_mutually_exclusive_group()
    target.add_argument("--snippet", type=Path, help="write the keepalived.conf lines to this file instead of stdout")
    target.add_argument("--no-snippet", action="store_true", help="keepalived is configured already (cloud-init)")
    args = parser.parse_args(argv)
    try:
        config = load_config(args.config)
        done = install(args.config)
    except (ConfigError, InstallError, OSError) as exc:
        print(f"health_probe install: {exc}", file=sys.stderr)
        return 2
    for line in done:
        print(f"health_probe install: {line}", file=sys.stderr)
    snippet = keepalived_snippet(notify_commands(relay=f"{config.relay_address}:{config.relay_port}"))
    if args.snippet is not None:
        _write(args.snippet, snippet.encode(), 0o644)
        print(f"health_probe install: keepalived lines written to {args.snippet}", file=sys.stderr)
    elif not args.no_snippet:
        sys.stdout.write(snippet)
    return 0
