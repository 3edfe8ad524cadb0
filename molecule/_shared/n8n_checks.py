"""n8n on PostgreSQL: healthy, hardened, workflows imported and active, the alert webhook working.

Shared by molecule/role-n8n and the tier scenarios whose tier runs n8n (`from n8n_checks import *`)."""

import json
import time

WORKFLOWS = {
    "HyAiCostReport01": "Hybrid AI: daily cost report",
    "HyAiAlertHook001": "Hybrid AI: gateway alerts (budget, backend down)",
    "HyAiBatchPrompt1": "Hybrid AI: batch prompts through the gateway",
}


def _journal(host, unit):
    return host.run(f"journalctl -u {unit} --no-pager -n 60").stdout


def test_postgresql_and_n8n_run_on_loopback(host):
    for unit in ("postgresql", "n8n"):
        svc = host.service(unit)
        assert svc.is_running and svc.is_enabled, _journal(host, unit)
    health = host.run("curl -fsS http://127.0.0.1:5678/healthz/readiness")
    assert health.rc == 0 and json.loads(health.stdout)["status"] == "ok", _journal(host, "n8n")
    listening = host.run("ss -Htlnp").stdout
    assert "127.0.0.1:5678" in listening and "127.0.0.1:5432" in listening, listening
    for port in (5678, 5432):
        assert f"0.0.0.0:{port}" not in listening and f"*:{port}" not in listening, listening
    props = host.run("systemctl show n8n -p User -p ProtectSystem -p NoNewPrivileges -p ProtectHome").stdout
    assert "User=n8n" in props and "ProtectSystem=strict" in props and "NoNewPrivileges=yes" in props, props
    env = host.file("/etc/n8n/n8n.env")
    assert env.mode == 0o640 and env.contains("DB_TYPE=postgresdb")


def test_workflows_live_in_postgresql_and_are_active(host):
    sql = "select id, name, active from workflow_entity order by id"
    out = host.run(f"runuser -u postgres -- psql -d n8n -At -F '|' -c \"{sql}\"")
    assert out.rc == 0, out.stderr
    rows = {line.split("|")[0]: line.split("|")[1:] for line in out.stdout.splitlines()}
    for wid, name in WORKFLOWS.items():
        assert rows.get(wid) == [name, "t"], rows
    settings = json.loads(host.run("curl -fsS http://127.0.0.1:5678/rest/settings").stdout)
    assert settings["data"]["userManagement"]["showSetupOnFirstLoad"] is False, "owner account not set up"


def test_alert_webhook_records_gateway_events(host):
    body = json.dumps({"event": "budget", "threshold_pct": 80, "spent_usd": 32.0, "budget_usd": 40})
    url = "http://127.0.0.1:5678/webhook/hybrid-alert"
    for _ in range(30):  # webhooks register a few seconds after /healthz answers
        r = host.run(f"curl -fsS -X POST -H 'content-type: application/json' -d '{body}' {url}")
        if r.rc == 0:
            break
        time.sleep(2)
    assert r.rc == 0, r.stdout + r.stderr + _journal(host, "n8n")
    log_file = "/var/lib/n8n/files/alerts/alerts.log"
    log = host.run(f"for i in $(seq 30); do grep -q threshold_pct {log_file} && break; sleep 1; done; cat {log_file}")
    assert '"event":"budget"' in log.stdout, log.stdout + log.stderr
