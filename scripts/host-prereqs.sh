#!/usr/bin/env bash
# Install what the tests and local deploys need on a fresh Debian 12 machine (run as root).
# Idempotent: a second run installs nothing.
set -euo pipefail

packages=(
  podman runc debootstrap uidmap slirp4netns fuse-overlayfs iproute2 openssh-client  # containers, reached over SSH
  redis-server postgresql prometheus prometheus-node-exporter          # integration tests
  prometheus-redis-exporter taskwarrior nftables wrk                  # wrk: gateway benchmark load
  libgomp1 python3-venv build-essential cmake git make                 # llama.cpp wheel
  curl                                                                 # n8n offline bundle (make n8n-bundle)
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "==> apt-get install ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# Debian starts these on install; the tests start their own instances on free ports.
for svc in redis-server postgresql prometheus prometheus-node-exporter prometheus-redis-exporter; do
  systemctl disable --now "$svc" >/dev/null 2>&1 || true
done

# The host's limits are low and crun does not work here: containers ask for less and use runc.
conf=/etc/containers/containers.conf
if ! grep -q 'hybrid-ai-stack' "$conf" 2>/dev/null; then
  echo "==> writing $conf"
  mkdir -p /etc/containers
  cat >"$conf" <<'CONF'
# hybrid-ai-stack: low host limits, runc runtime
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
[engine]
runtime = "runc"
CONF
fi
echo "==> host prerequisites present"
