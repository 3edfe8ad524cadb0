"""The upgrade path, checked after each step (molecule verify runs these three times): the box
matches tiers/tierN.yml for the tier of its step, and data written at earlier steps survived.

Step 1 is tier 1 (converge.yml), step 2 tier 3, step 3 tier 2 (side_effect.yml changes only
hybrid_tier). The box keeps its step in /root/upgrade-step. Expectations are read from the tier
catalogue, so the tests follow tiers/ rather than copies of it.
"""

from __future__ import annotations

import json
import shlex
import sys
import time
import uuid
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "_shared"))
from helpers import assert_service, secrets_dir
from tier_checks import OFFLINE_SKIPPED as SKIPPED  # hybrid_skip_services in molecule.yml
from tier_checks import UNITS, tier_data

HOST = "tiers-upgrade"
PATH_TIERS = {1: 1, 2: 3, 3: 2}  # step -> tier
STATE = "/root/upgrade-state.json"  # what step 1 wrote, kept on the box
N8N_STATE = "/root/upgrade-n8n-state.json"  # what step 2 (the first tier with n8n) wrote
ALERT_WORKFLOW = "HyAiAlertHook001"
REDIS = "REDISCLI_AUTH=$(cat /etc/hybrid-ai/redis_password) redis-cli -h 127.0.0.1"
TASK = (
    "runuser -u hybrid-ai -- env TASKRC=/var/lib/hybrid-ai/.taskrc TASKDATA=/var/lib/hybrid-ai/task "
    "task rc.json.array=on project:vps_ai.router +routing export"
)


def api_key() -> str:
    return (secrets_dir() / HOST / "api_key").read_text().strip()


def chat(host, prompt: str) -> dict:
    auth = shlex.quote("Authorization: Bearer " + api_key())
    body = shlex.quote(json.dumps({"prompt": prompt, "max_tokens": 16}))
    out = host.run(
        f"curl -sS -m 150 http://127.0.0.1:8080/api/v1/chat -H {auth} -H 'Content-Type: application/json' -d {body}"
    )
    assert out.rc == 0, out.stderr
    return json.loads(out.stdout)


def tasks(host) -> list[dict]:
    return json.loads(host.check_output(TASK))


def days(retention: str) -> int:
    n, unit = int(retention[:-1]), retention[-1]
    return n * {"d": 1, "w": 7, "y": 365}[unit]


def check_tier(host, n: int) -> None:
    t = tier_data(n)
    # services: the tier's (less the skipped) run; the rest do not
    for svc, units in UNITS.items():
        for unit in units:
            if svc in t["services"] and svc not in SKIPPED:
                assert_service(host, unit)
            else:
                assert not host.service(unit).is_running, f"{unit} runs at tier {n}"
    # models: one llama.cpp alias per tier model, added and pruned
    host.run("for i in $(seq 60); do curl -fsS -m 2 http://127.0.0.1:8081/v1/models >/dev/null && break; sleep 1; done")
    served = {m["id"] for m in json.loads(host.check_output("curl -fsS http://127.0.0.1:8081/v1/models"))["data"]}
    assert served == {m["name"] for m in t["models"]}, served
    # gateway config: ladder, thresholds and limits from the tier
    cfg = yaml.safe_load(host.file("/etc/hybrid-ai/gateway.yml").content_string)
    assert cfg["tier"] == n
    assert cfg["ladder"] == t["routing"]["ladder"], cfg["ladder"]
    assert set(cfg["models"]) == {m["name"] for m in t["models"]}
    for key in ("max_prompt_chars", "max_tokens_cap", "rate_limit_per_minute"):
        assert cfg["limits"][key] == t["limits"][key], key
    assert cfg["cloud"]["monthly_budget_usd"] == t["limits"]["monthly_cloud_budget_usd"]
    execstart = host.check_output("systemctl show hybrid-ai-gateway -p ExecStart")
    assert f"--workers {t['limits']['gateway_workers']}" in execstart, execstart
    # Redis and Prometheus limits
    maxmem = host.check_output(f"{REDIS} config get maxmemory").splitlines()[1]
    assert int(maxmem) == t["limits"]["redis_maxmemory_mb"] * 1024 * 1024
    flags = json.loads(host.check_output("curl -fsS http://127.0.0.1:9090/api/v1/status/flags"))["data"]
    assert days(flags["storage.tsdb.retention.time"]) == days(t["limits"]["prometheus_retention"]), flags
    # the gateway answers on this tier with its first local rung
    host.run("for i in $(seq 60); do curl -fsS -m 2 http://127.0.0.1:8080/health >/dev/null && break; sleep 1; done")
    r = chat(host, f"Say hello to tier {n}.")
    assert r["backend"] == "openai" and r["model"] == t["routing"]["ladder"][0]["model"], r


def write_data(host) -> None:
    """At tier 1: a Redis key, the API keys' digest and the Taskwarrior records so far."""
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


def check_data_kept(host) -> None:
    state = json.loads(host.check_output(f"cat {STATE}"))
    assert host.check_output(f"{REDIS} get hai:upgrade:marker") == state["redis_marker"]
    assert host.check_output("sha256sum /etc/hybrid-ai/api_keys | cut -c1-64") == state["api_keys_sha256"]
    assert api_key() in host.check_output("cat /etc/hybrid-ai/api_keys")
    ids = {t["uuid"] for t in tasks(host)}
    assert set(state["task_uuids"]) <= ids, "Taskwarrior records lost"


def psql(host, sql: str) -> list[list[str]]:
    out = host.check_output(f"runuser -u postgres -- psql -d n8n -At -F '|' -c {shlex.quote(sql)}")
    return [line.split("|") for line in out.splitlines() if line]


def executions(host) -> set[str]:
    rows = psql(host, f"""select id from execution_entity where "workflowId" = '{ALERT_WORKFLOW}'""")
    return {r[0] for r in rows}


def write_n8n_data(host) -> None:
    """Run the alert workflow once (an execution row in PostgreSQL) and note what must survive."""
    body = shlex.quote(json.dumps({"event": "upgrade-check", "tier": 3}))
    url = "http://127.0.0.1:5678/webhook/hybrid-alert"
    host.run(
        "for i in $(seq 30); do curl -fsS -m 10 -X POST -H 'content-type: application/json' "
        f"-d {body} {url} >/dev/null && break; sleep 2; done"
    )
    ids: set[str] = set()
    for _ in range(30):  # the execution row is written when the run ends
        ids = executions(host)
        if ids:
            break
        time.sleep(1)
    assert ids, "the alert workflow left no execution in PostgreSQL"
    workflows = psql(host, "select id, name, active from workflow_entity order by id")
    state = {"executions": sorted(ids), "workflows": workflows}
    host.check_output(f"echo {shlex.quote(json.dumps(state))} > {N8N_STATE}")


def check_n8n_data_kept(host) -> None:
    state = json.loads(host.check_output(f"cat {N8N_STATE}"))
    assert set(state["executions"]) <= executions(host), "n8n executions lost"
    assert psql(host, "select id, name, active from workflow_entity order by id") == state["workflows"]


def step(host) -> int:
    return int(host.check_output("cat /root/upgrade-step"))


def test_box_matches_the_tier_of_its_step(host):
    check_tier(host, PATH_TIERS[step(host)])


def test_data_from_tier_1_written_then_kept(host):
    if step(host) == 1:
        write_data(host)
    check_data_kept(host)


def test_n8n_workflows_and_executions_written_then_kept(host):
    n = step(host)
    if n == 1:  # tier 1 has no n8n
        assert not host.file("/etc/systemd/system/n8n.service").exists
        return
    if n == 2:  # the first tier with n8n
        write_n8n_data(host)
    check_n8n_data_kept(host)
