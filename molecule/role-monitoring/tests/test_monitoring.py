"""Prometheus, exporters, alert rules, Taskwarrior hook/report and the nvidia no-device path."""

import json

SERVICES = ["prometheus", "prometheus-node-exporter", "prometheus-redis-exporter"]


def _journal(host, unit):
    return host.run(f"journalctl -u {unit} --no-pager -n 40").stdout


def _get(host, path):
    out = host.run(f"curl -fsS http://127.0.0.1:9090{path}")
    assert out.rc == 0, out.stderr
    return json.loads(out.stdout)


def test_services_run_hardened_on_loopback(host):
    for unit in SERVICES:
        svc = host.service(unit)
        assert svc.is_running and svc.is_enabled, _journal(host, unit)
        props = host.run(f"systemctl show {unit} -p ProtectSystem -p NoNewPrivileges -p PrivateTmp").stdout
        assert "ProtectSystem=strict" in props and "NoNewPrivileges=yes" in props and "PrivateTmp=yes" in props, props
    listening = host.run("ss -Htlnp").stdout
    for port in (9090, 9100, 9121):
        assert f"127.0.0.1:{port}" in listening, listening
        assert f"0.0.0.0:{port}" not in listening and f"*:{port}" not in listening, listening


def test_prometheus_loaded_rules_targets_and_tier_retention(host):
    rules = _get(host, "/api/v1/rules")["data"]["groups"]
    alerts = {r["name"] for g in rules for r in g["rules"] if r["type"] == "alerting"}
    assert len(alerts) == 9 and {"HybridAICloudBudgetBurn", "HybridAIQualityBelowTarget"} <= alerts, alerts
    assert all(r["health"] == "ok" for g in rules for r in g["rules"]), rules
    flags = _get(host, "/api/v1/status/flags")["data"]
    assert flags["storage.tsdb.retention.time"] in ("7d", "1w")  # tier 1's limits.prometheus_retention
    # Wait (bounded) for the first scrapes of every exporter.
    host.run(
        r"""for i in $(seq 40); do curl -fsS -G --data-urlencode 'query=min(up{job=~"node|redis"})' """
        r"""http://127.0.0.1:9090/api/v1/query | grep -q '"1"\]' && break; sleep 1; done"""
    )
    targets = _get(host, "/api/v1/targets")["data"]["activeTargets"]
    health = {t["labels"]["job"]: t["health"] for t in targets}
    assert health["prometheus"] == "up" and health["node"] == "up", targets
    assert health["redis"] == "up", targets  # exporter authenticates with the redis role's password
    assert "hybrid-ai-gateway" in health
    up = _get(host, "/api/v1/query?query=redis_up")["data"]["result"]
    assert up and up[0]["value"][1] == "1", up
    assert host.run("promtool check config /etc/prometheus/prometheus.yml").rc == 0


TW = "runuser -u hybrid-ai -- env TASKRC=/var/lib/hybrid-ai/.taskrc TASKDATA=/var/lib/hybrid-ai/task task"


def test_taskwarrior_hook_and_routing_report(host):
    good = {
        "description": "route m-1 -> tinyllama",
        "project": "vps_ai.router",
        "tags": ["routing"],
        "status": "completed",
        "entry": "20261126T120000Z",
        "end": "20261126T120000Z",
        "uuid": "6c1e5f3a-1d2b-4c3d-9e8f-0a1b2c3d4e5f",
        "model": "tinyllama",
        "backend": "ollama",
        "complexity": 0.1,
        "cost": 0,
        "cloudcost": 0.001,
        "reqid": "m-1",
        "tokensin": 10,
        "tokensout": 20,
    }
    bad = {k: v for k, v in good.items() if k not in ("cost", "uuid")} | {"reqid": "m-2"}
    ok = host.run(f"echo '{json.dumps(good)}' | {TW} import -")
    assert ok.rc == 0, ok.stdout + ok.stderr
    rejected = host.run(f"echo '{json.dumps(bad)}' | {TW} import -")
    assert rejected.rc != 0 and "cost must be a number" in rejected.stdout + rejected.stderr
    report = host.run(f"{TW} rc.defaultwidth:200 routing")
    assert report.rc == 0 and "tinyllama" in report.stdout and "m-2" not in report.stdout, report.stdout
    data = host.file("/var/lib/hybrid-ai/task")
    assert data.user == "hybrid-ai" and data.mode == 0o750
    wrapper = host.file("/usr/local/bin/tw_cost_report")
    assert wrapper.is_file and wrapper.mode == 0o755


def test_nvidia_role_skips_without_a_device(host):
    for path in ("/etc/systemd/system/hybrid-ai-gpu-metrics.timer", "/etc/apt/sources.list.d/hybrid-ai-nvidia.list"):
        assert not host.file(path).exists, path
