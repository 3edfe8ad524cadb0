"""First-boot setup: only what Ansible needs to take over (python3). Ansible does the rest."""

from __future__ import annotations

CLOUD_CONFIG = """#cloud-config
# Hybrid AI Stack: just enough for Ansible; the site playbook configures the rest.
package_update: true
packages:
  - python3
  - python3-apt
"""

# GCP's Debian images run the guest agent rather than cloud-init; a startup script works on
# both its Debian and Ubuntu images. Idempotent: it runs at every boot.
STARTUP_SCRIPT = """#!/bin/sh
# Hybrid AI Stack: just enough for Ansible; the site playbook configures the rest.
set -eu
if ! command -v python3 >/dev/null 2>&1 || ! python3 -c 'import apt' 2>/dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends python3 python3-apt
fi
"""
