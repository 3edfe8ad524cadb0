"""Tier 1 as a whole, after site.yml: services, exposure, every ladder rung end to end, cache,
Prometheus series, Taskwarrior records equal to the gateway's stats."""

from __future__ import annotations

import json
import shlex
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "_shared"))
from helpers import assert_service, journal, listeners, secrets_dir

HOST = "tiers-t1"
SERVICES = ["hybrid-ai-gateway", "llamacpp", "redis-server", "nftables", "prometheus", "prometheus-node-exporter"]
ABSENT = ["grafana-server", "n8n", "postgresql", "ollama"]
SIMPLE = "What is the capital of France?"
COMPLEX = (
    "Design a sharded database architecture for a global payments system. Compare the consistency "
    "trade-offs of each option, analyse failure modes step by step, and write a migration plan with "
    "code examples in Python and SQL."
)


def api_key() -> str:
    return (secrets_dir() / HOST / "api_key").read_text().strip()


def call(host, path: str, payload: dict | None = None) -> dict:
    auth = shlex.quote("Authorization: Bearer " + api_key())
    data = f"-H 'Content-Type: application/json' -d {shlex.quote(json.dumps(payload))}" if payload else ""
    out = host.run(f"curl -sS -m 150 http://127.0.0.1:8080{path} -H {auth} {data}")
    assert out.rc == 0, out.stderr
    return json.loads(out.stdout)


def chat(host, prompt: str, max_tokens: int = 24) -> dict:
    return call(host, "/api/v1/chat", {"prompt": prompt, "max_tokens": max_tokens})


def wait_healthy(host) -> None:
    host.run("for i in $(seq 60); do curl -fsS -m 2 http://127.0.0.1:8080/health >/dev/null && break; sleep 1; done")


def test_tier_services_active_enabled_and_others_absent(host):
    for unit in SERVICES:
        assert_service(host, unit)
    for unit in ABSENT:
        assert not host.service(unit).is_running, unit
    assert host.check_output("systemctl is-system-running || true") in ("running", "degraded")


def test_only_the_gateway_listens_beyond_loopback(host):
    socks = listeners(host)
    for port in (8081, 6379, 9090, 9100):
        assert ("127.0.0.1", port) in socks, (port, socks)
    exposed = {(a, p) for a, p in socks if a not in ("127.0.0.1", "::1")}
    assert exposed == {("0.0.0.0", 8080)}, exposed
    rules = host.check_output("nft list chain inet hybrid_ai input")
    assert "policy drop" in rules and "tcp dport 8080 ip saddr @gateway_v4 accept" in rules


def test_config_rendered_for_tier_1(host):
    cfg = host.file("/etc/hybrid-ai/gateway.yml").content_string
    assert "tier: 1" in cfg and "max_tokens_cap: 1024" in cfg and "rate_limit_per_minute: 60" in cfg
    assert "base_url: http://127.0.0.1:8199" in cfg  # the test-only stand-in
    assert "phi-2" not in cfg and "mistral" not in cfg
    pw = "REDISCLI_AUTH=$(cat /etc/hybrid-ai/redis_password) redis-cli -h 127.0.0.1"
    assert host.check_output(f"{pw} config get maxmemory").splitlines()[1] == str(64 * 1024 * 1024)


def test_simple_prompt_answered_by_the_local_model(host):
    r = chat(host, SIMPLE)
    assert (r["model"], r["backend"]) == ("tinyllama", "openai"), r
    assert r["response"].strip() and r["usage"]["output_tokens"] > 0 and r["cost_usd"] == 0, r
    # real inference: the llama.cpp server itself counted the completion tokens
    assert "POST /v1/chat/completions" in journal(host, "llamacpp", 200)


def test_complex_prompt_goes_to_the_cloud_then_the_cache(host):
    dry = call(host, "/api/v1/complexity", {"prompt": COMPLEX})
    assert dry["model"] == "cloud" and dry["complexity"] > 0.3, dry
    r = chat(host, COMPLEX, 32)
    assert r["backend"] == "anthropic" and not r.get("degraded"), r
    assert r["response"].startswith("This is the cloud answer") and r["cost_usd"] > 0, r
    again = chat(host, COMPLEX, 32)
    assert again["backend"] == "cache" and again["cached"] and again["cost_usd"] == 0, again
    assert again["response"] == r["response"]


def test_prometheus_holds_the_gateway_series(host):
    q = "query=sum by (backend) (api_gateway_requests_total)"
    found: set[str] = set()
    for _ in range(30):
        out = host.run(f"curl -fsS -G --data-urlencode {shlex.quote(q)} http://127.0.0.1:9090/api/v1/query")
        if out.rc == 0:
            found = {s["metric"].get("backend", "") for s in json.loads(out.stdout)["data"]["result"]}
            if {"openai", "anthropic", "cache"} <= found:
                break
        time.sleep(2)
    assert {"openai", "anthropic", "cache"} <= found, found


def test_without_a_key_the_complex_prompt_degrades_to_the_best_local_model(host):
    keyfile = "/etc/hybrid-ai/anthropic_api_key"
    host.check_output(f"mv {keyfile} /root/anthropic_api_key.saved && systemctl restart hybrid-ai-gateway")
    try:
        wait_healthy(host)
        r = chat(host, COMPLEX + " Also list three risks.", 24)
        assert r["backend"] == "openai" and r["model"] == "tinyllama", r
        assert r["degraded"] and r["cost_usd"] == 0 and r["response"].strip(), r
    finally:
        host.check_output(f"mv /root/anthropic_api_key.saved {keyfile} && systemctl restart hybrid-ai-gateway")
        wait_healthy(host)


def test_decisions_in_taskwarrior_match_the_stats(host):
    stats, report = {}, {}
    for _ in range(30):  # records are written in batches off the request path
        stats = call(host, "/api/v1/stats")
        report = json.loads(host.check_output("tw_cost_report --json"))
        if report["total"]["requests"] == stats["requests"]:
            break
        time.sleep(2)
    assert stats["requests"] >= 4, stats
    total = report["total"]
    assert total["requests"] == stats["requests"], (report, stats)
    assert total["tokens_in"] == stats["tokens_in"] and total["tokens_out"] == stats["tokens_out"]
    assert abs(total["cost_usd"] - stats["cost_usd"]) < 1e-6 and stats["cost_usd"] > 0
    assert abs(total["cloud_equivalent_usd"] - stats["cloud_equivalent_usd"]) < 1e-6
    tasks = json.loads(
        host.check_output(
            "runuser -u hybrid-ai -- env TASKRC=/var/lib/hybrid-ai/.taskrc TASKDATA=/var/lib/hybrid-ai/task "
            "task rc.json.array=on project:vps_ai.router +routing export"
        )
    )
    backends = {t["backend"] for t in tasks}
    assert {"openai", "anthropic", "cache"} <= backends, backends
    assert all(t["description"].startswith("route ") and t["status"] == "completed" for t in tasks)
