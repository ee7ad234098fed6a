#!/usr/bin/env bash
# Installs what the outside checks run unmodified, from Debian's packages and only when missing:
# the ClusterLabs ocivip agent with its OCF shell library (resource-agents) and jq, which the
# agent needs. Without root it says what is missing and the ocivip test skips.
set -euo pipefail

missing=()
[ -e /usr/lib/ocf/resource.d/heartbeat/ocivip ] || missing+=(resource-agents)
command -v jq >/dev/null 2>&1 || missing+=(jq)

if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "outside-deps: missing ${missing[*]}; run as root (or install them) for the ocivip check" >&2
    exit 0
fi
echo "outside-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
