#!/usr/bin/env bash
# Install what the tests and local deploys need on a fresh Debian 12 machine (run as root).
# Idempotent: a second run installs nothing. `make setup` runs it first; as a non-root user it
# only checks, and says what is missing and how to install it.
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
  if [ "$(id -u)" -ne 0 ]; then
    echo "host-prereqs: missing packages: ${missing[*]}" >&2
    echo "host-prereqs: run as root (sudo make setup, or sudo scripts/host-prereqs.sh) to install them" >&2
    exit 2
  fi
  if ! command -v apt-get >/dev/null; then
    echo "host-prereqs: no apt-get: this kit's host set-up supports Debian 12 and Ubuntu 22.04/24.04" >&2
    echo "host-prereqs: install these yourself, then rerun: ${missing[*]}" >&2
    exit 2
  fi
  t0=$(date +%s)
  echo "==> apt-get install ${missing[*]} (a few minutes on a fresh machine)"
  if ! apt-get update -qq; then
    echo "host-prereqs: apt-get update failed: check the machine's APT sources and network" >&2
    exit 3
  fi
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; then
    echo "host-prereqs: could not install: ${missing[*]} (see apt-get's message above)" >&2
    exit 3
  fi
  echo "==> installed in $(( $(date +%s) - t0 )) s"
fi
[ "$(id -u)" -eq 0 ] || { echo "==> host prerequisites present (not root: service and container settings left as they are)"; exit 0; }
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
