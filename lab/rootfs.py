"""The lab nodes' root filesystem: a Debian minbase shaped like the platform image OCI boots.

Built once with `mmdebstrap` from Debian's archive and cached outside the repository under a
name that is the hash of its recipe (this module's RECIPE and IMAGE_FILES), so that editing the
recipe builds a new one and nothing else does. Like Oracle's Ubuntu images it has systemd,
cloud-init, the `ubuntu` default user with sudo, and iptables-persistent loading host firewall
rules that accept only established traffic, ICMP, lo and SSH and REJECT the rest: what the
deployed cloud-init must open, it has to open here too. Each node boots an overlay of it.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import shutil
import subprocess
import time
from pathlib import Path

from lab.shell import LabError

CACHE = Path("/var/cache/oci-vip-failover")
BUILD_TIMEOUT_SECONDS = 900

RECIPE = {
    "suite": "bookworm",
    "mirror": "http://deb.debian.org/debian",
    "variant": "minbase",
    "packages": [
        "systemd",
        "systemd-sysv",
        "dbus",
        "cloud-init",
        "iptables",
        "iptables-persistent",
        "netfilter-persistent",
        "ca-certificates",
        "python3",
        "sudo",
        "locales",
        "procps",
        "iproute2",
    ],
}

# Oracle's Ubuntu images (/etc/iptables/rules.v4 as the platform image ships it, minus the
# InstanceServices chain for 169.254.0.0/16, which the lab never reaches anyway).
RULES_V4 = """\
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -m state --state RELATED,ESTABLISHED -j ACCEPT
-A INPUT -p icmp -j ACCEPT
-A INPUT -i lo -j ACCEPT
-A INPUT -p udp -m udp --sport 123 -j ACCEPT
-A INPUT -p tcp -m state --state NEW -m tcp --dport 22 -j ACCEPT
-A INPUT -j REJECT --reject-with icmp-host-prohibited
-A FORWARD -j REJECT --reject-with icmp-host-prohibited
COMMIT
"""

RULES_V6 = """\
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -m state --state RELATED,ESTABLISHED -j ACCEPT
-A INPUT -p ipv6-icmp -j ACCEPT
-A INPUT -i lo -j ACCEPT
-A INPUT -p tcp -m state --state NEW -m tcp --dport 22 -j ACCEPT
-A INPUT -j REJECT --reject-with icmp6-adm-prohibited
-A FORWARD -j REJECT --reject-with icmp6-adm-prohibited
COMMIT
"""

# What the platform image's cloud-init is told about the platform: NoCloud (a seed directory the
# lab writes) instead of OCI's datasource; the node's namespace is already configured by the
# lab, as OCI's DHCP configures the primary VNIC; and Ubuntu's default user.
CLOUD_CFG = """\
datasource_list: [NoCloud, None]
network: {config: disabled}
system_info:
  default_user:
    name: ubuntu
    lock_passwd: true
    gecos: Ubuntu
    groups: [adm, sudo]
    sudo: ["ALL=(ALL) NOPASSWD:ALL"]
    shell: /bin/bash
"""

IMAGE_FILES = {
    "etc/iptables/rules.v4": RULES_V4,
    "etc/iptables/rules.v6": RULES_V6,
    "etc/cloud/cloud.cfg.d/90-oci-like-image.cfg": CLOUD_CFG,
    # cloud-init's locale module generates the image's default locale at first boot.
    "etc/locale.gen": "en_US.UTF-8 UTF-8\n",
}


def recipe_hash() -> str:
    text = json.dumps({"recipe": RECIPE, "files": IMAGE_FILES}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def image_path() -> Path:
    return CACHE / f"rootfs-{recipe_hash()}"


def build_command(target: Path) -> list[str]:
    return [
        "mmdebstrap",
        f"--variant={RECIPE['variant']}",
        f"--include={','.join(RECIPE['packages'])}",
        RECIPE["suite"],
        str(target),
        RECIPE["mirror"],
    ]


def ensure_image(log: Path) -> Path:
    """The cached root filesystem, built first if this recipe has none (one build at a time)."""
    image = image_path()
    if image.is_dir():
        return image
    if shutil.which("mmdebstrap") is None:
        raise LabError("mmdebstrap is not installed: run `make lab-deps`")
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / "rootfs.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if image.is_dir():
            return image
        partial = image.with_name(image.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        started = time.monotonic()
        with open(log, "ab") as out:
            try:
                done = subprocess.run(
                    build_command(partial), stdout=out, stderr=out, timeout=BUILD_TIMEOUT_SECONDS, check=False
                )
            except subprocess.TimeoutExpired:
                raise LabError(f"mmdebstrap did not finish within {BUILD_TIMEOUT_SECONDS} s; see {log}") from None
        if done.returncode != 0:
            shutil.rmtree(partial, ignore_errors=True)
            raise LabError(f"mmdebstrap failed ({done.returncode}); see {log}")
        for name, content in IMAGE_FILES.items():
            path = partial / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content)
        subprocess.run(
            ["chroot", str(partial), "locale-gen"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=120,
            check=False,
        )
        (partial / "etc" / "machine-id").write_text("")  # each node gets its own at boot
        partial.rename(image)
        with open(log, "a") as out:
            out.write(f"built {image} in {time.monotonic() - started:.0f} s\n")
    return image
