#!/usr/bin/env bash
# Installs what the lab runs for real from Debian's packages, and only what is missing, so
# `make test` and `make demo` work on a fresh machine and cost nothing on the second run:
# haproxy, keepalived, ip, nft, curl (the host-process mode and the fabric); mmdebstrap (the
# nodes' root filesystem), systemd-nspawn (booting it), git (serving the repository to the
# nodes), nsenter (entering them).
set -euo pipefail

declare -A wanted=(
    [haproxy]=haproxy
    [keepalived]=keepalived
    [ip]=iproute2
    [nft]=nftables
    [curl]=curl
    [mmdebstrap]=mmdebstrap
    [systemd-nspawn]=systemd-container
    [git]=git
    [nsenter]=util-linux
)

missing=()
for command in "${!wanted[@]}"; do
    if ! PATH="$PATH:/usr/sbin:/sbin" command -v "$command" >/dev/null 2>&1; then
        missing+=("${wanted[$command]}")
    fi
done

if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "lab-deps: missing ${missing[*]}; run as root (or install them) to use the lab" >&2
    exit 0
fi
echo "lab-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
