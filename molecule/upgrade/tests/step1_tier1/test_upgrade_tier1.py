"""Upgrade path, step 1: tier 1 as converged; write the data the later steps must find."""

from __future__ import annotations

import json
import shlex
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from upgrade_checks import REDIS, STATE, check_tier, tasks


def test_tier_1(host):
    check_tier(host, 1)


def test_write_data_to_keep(host):
    marker = uuid.uuid4().hex
    assert host.check_output(f"{REDIS} set hai:upgrade:marker {marker}") == "OK"
    recorded: list[dict] = []
    for _ in range(30):  # check_tier's request is written to Taskwarrior in a batch
        recorded = tasks(host)
        if recorded:
            break
        time.sleep(1)
    assert recorded, "no Taskwarrior record of the tier 1 request"
    state = {
        "redis_marker": marker,
        "api_keys_sha256": host.check_output("sha256sum /etc/hybrid-ai/api_keys | cut -c1-64"),
        "task_uuids": [t["uuid"] for t in recorded],
    }
    host.check_output(f"echo {shlex.quote(json.dumps(state))} > {STATE}")
