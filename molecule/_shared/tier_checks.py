"""Behaviour checks for a whole tier, shared by the tier scenarios (molecule/tierN).

A scenario's tests/test_tierN.py does `from tier_checks import *` and its conftest.py gives the
`tier_no` fixture. What each check expects (services, ports, models, limits, ladder rungs) is read
from tiers/tierN.yml, the same catalogue the roles deploy from, so a tier change is tested as
written. The cloud rung goes to the test-only Messages API stand-in (prepare.yml); the local rungs
get real answers from the llama.cpp server with the small PyPI model under each model's alias.
"""

from __future__ import annotations

import json
import shlex
import time
from pathlib import Path

import pytest
import yaml
from helpers import assert_service, journal, listeners, secrets_dir

ROOT = Path(__file__).resolve().parents[2]
CLOUD = "cloud"

# systemd units of each catalogue service in a container (llm: the llama.cpp engine)
UNITS = {
    "gateway": ["hybrid-ai-gateway"],
    "llm": ["llamacpp"],
    "redis": ["redis-server"],
    "prometheus": ["prometheus", "prometheus-node-exporter"],
    "grafana": ["grafana-server"],
    "postgresql": ["postgresql"],
    "n8n": ["n8n"],
}
# loopback ports of each service
PORTS = {"llm": [8081], "redis": [6379], "prometheus": [9090, 9100], "postgresql": [5432], "n8n": [5678]}
# Not installable offline: Grafana's package comes from its own APT repository (scenarios skip it).
OFFLINE_SKIPPED = {"grafana"}


def tier_data(n: int) -> dict:
    return yaml.safe_load((ROOT / "tiers" / f"tier{n}.yml").read_text())


def candidate_prompts() -> list[str]:
    """Prompts spanning the routers' score ranges (heuristic, and the adaptive router's shipped
    model): length x complex words x code."""
    words = ["compare", "analyse", "step by step"]
    filler = "Keep the answer plain and short for a reader new to the topic. "
    out = []
    for length in (0, 3, 5, 10):  # < 100, 100..500, > 500 characters of filler
        for n_words in range(len(words) + 1):
            for code in (False, True):
                text = "Tell me about sorting lists"
                if n_words:
                    text += " and " + ", ".join(words[:n_words])
                text += ". " + filler * length
                if code:
                    text += "\n```python\ndef f(xs):\n    return sorted(xs)\n```"
                out.append(text)
    return out


@pytest.fixture(scope="module")
def tier(tier_no: int) -> dict:
    return tier_data(tier_no)


@pytest.fixture(scope="module")
def services(tier: dict) -> set[str]:
    return set(tier["services"]) - OFFLINE_SKIPPED


@pytest.fixture(scope="module")
def api_key(host) -> str:
    return (secrets_dir() / host.backend.get_hostname() / "api_key").read_text().strip()


def call(host, key: str, path: str, payload: dict | None = None) -> dict:
    auth = shlex.quote("Authorization: Bearer " + key)
    data = f"-H 'Content-Type: application/json' -d {shlex.quote(json.dumps(payload))}" if payload else ""
    out = host.run(f"curl -sS -m 150 http://127.0.0.1:8080{path} -H {auth} {data}")
    assert out.rc == 0, out.stderr
    return json.loads(out.stdout)


def wait_healthy(host) -> None:
    host.run("for i in $(seq 60); do curl -fsS -m 2 http://127.0.0.1:8080/health >/dev/null && break; sleep 1; done")


def local_rungs(tier: dict) -> list[str]:
    return [r["model"] for r in tier["routing"]["ladder"] if r["model"] != CLOUD]


def test_tier_services_active_enabled_and_others_absent(host, tier, services):
    for svc in sorted(services):
        for unit in UNITS.get(svc, []):
            assert_service(host, unit)
    assert_service(host, "nftables")
    for svc in sorted(set(UNITS) - set(tier["services"])):
        for unit in UNITS[svc]:
            assert not host.service(unit).is_running, f"{unit} runs though tier {tier['tier']} does not list {svc}"
    assert host.check_output("systemctl is-system-running || true") in ("running", "degraded")


def test_only_the_gateway_listens_beyond_loopback(host, services):
    socks = listeners(host)
    for svc in sorted(services):
        for port in PORTS.get(svc, []):
            assert ("127.0.0.1", port) in socks, (svc, port, socks)
    # beyond loopback only the gateway, and sshd (the firewall admits it from the admin networks)
    exposed = {(a, p) for a, p in socks if a not in ("127.0.0.1", "::1") and p != 22}
    assert exposed == {("0.0.0.0", 8080)}, exposed
    rules = host.check_output("nft list chain inet hybrid_ai input")
    assert "policy drop" in rules and "tcp dport 8080 ip saddr @gateway_v4 accept" in rules


def test_config_rendered_from_the_tier(host, tier):
    cfg = yaml.safe_load(host.file("/etc/hybrid-ai/gateway.yml").content_string)
    limits = tier["limits"]
    assert cfg["tier"] == tier["tier"] and cfg["ladder"] == tier["routing"]["ladder"], cfg
    assert set(cfg["models"]) == set(local_rungs(tier)), cfg["models"]
    assert cfg["limits"]["max_tokens_cap"] == limits["max_tokens_cap"]
    assert cfg["limits"]["rate_limit_per_minute"] == limits["rate_limit_per_minute"]
    assert cfg["cloud"]["monthly_budget_usd"] == limits["monthly_cloud_budget_usd"]
    assert cfg["cloud"]["base_url"] == "http://127.0.0.1:8199"  # the test-only stand-in
    pw = "REDISCLI_AUTH=$(cat /etc/hybrid-ai/redis_password) redis-cli -h 127.0.0.1"
    maxmemory = host.check_output(f"{pw} config get maxmemory").splitlines()[1]
    assert maxmemory == str(limits["redis_maxmemory_mb"] * 1024 * 1024)


def test_every_ladder_rung_answers_end_to_end(host, tier, api_key):
    """One request per rung: local rungs get a real local answer at $0, the cloud rung reaches the
    Messages API stand-in at a cost, and its repeat is served from Redis at $0."""
    wanted = [r["model"] for r in tier["routing"]["ladder"]]
    picked: dict[str, str] = {}
    for prompt in candidate_prompts():
        model = call(host, api_key, "/api/v1/complexity", {"prompt": prompt})["model"]
        picked.setdefault(model, prompt)
    assert set(wanted) <= set(picked), f"no candidate prompt reached {set(wanted) - set(picked)}: {picked.keys()}"
    for model in wanted:
        r = call(host, api_key, "/api/v1/chat", {"prompt": picked[model], "max_tokens": 24})
        assert r["model"] == model and not r.get("degraded"), r
        if model == CLOUD:
            assert r["backend"] == "anthropic" and r["response"].startswith("This is the cloud answer"), r
            assert r["cost_usd"] > 0, r
            again = call(host, api_key, "/api/v1/chat", {"prompt": picked[model], "max_tokens": 24})
            assert again["backend"] == "cache" and again["cached"] and again["cost_usd"] == 0, again
            assert again["response"] == r["response"]
        else:
            assert r["backend"] == "openai" and r["cost_usd"] == 0, r
            assert r["response"].strip() and r["usage"]["output_tokens"] > 0, r
    # real inference: the llama.cpp server itself served the local rungs
    assert "POST /v1/chat/completions" in journal(host, "llamacpp", 300)


def test_the_router_refit_runs_on_the_box_and_stats_report_quality(host, tier, api_key):
    """The adaptive router's refit timer is enabled; one run of its (hardened) service succeeds
    against the box's Redis (too few labels yet: the shipped model stays), and /api/v1/stats
    reports the quality block with the tier's target and shadowing off."""
    assert_service(host, "hybrid-ai-router-train.timer")
    out = host.run("systemctl start hybrid-ai-router-train.service")
    log = journal(host, "hybrid-ai-router-train", 20)
    assert out.rc == 0, f"{out.stderr}\n{log}"
    assert "refit on" in log and "the live model stays" in log, log
    quality = call(host, api_key, "/api/v1/stats")["quality"]
    assert quality["router"] == "adaptive" and quality["model_version"] == "shipped", quality
    assert quality["target"] == tier["routing"]["quality_target"] and quality["shadow"]["enabled"] is False
    assert quality["refit"]["published"] is False, quality


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


def test_without_a_key_the_cloud_rung_degrades_to_the_best_local_model(host, tier, api_key):
    routed = ((p, call(host, api_key, "/api/v1/complexity", {"prompt": p})["model"]) for p in candidate_prompts())
    cloud_prompt = next(p for p, model in routed if model == CLOUD)
    keyfile = "/etc/hybrid-ai/anthropic_api_key"
    host.check_output(f"mv {keyfile} /root/anthropic_api_key.saved && systemctl restart hybrid-ai-gateway")
    try:
        wait_healthy(host)
        r = call(host, api_key, "/api/v1/chat", {"prompt": cloud_prompt + " List three risks.", "max_tokens": 24})
        assert r["backend"] == "openai" and r["model"] == local_rungs(tier)[-1], r
        assert r["degraded"] and r["cost_usd"] == 0 and r["response"].strip(), r
    finally:
        host.check_output(f"mv /root/anthropic_api_key.saved {keyfile} && systemctl restart hybrid-ai-gateway")
        wait_healthy(host)


def test_n8n_workflows_active_and_batch_answers_through_the_gateway(host, services, api_key):
    if "n8n" not in services:
        assert not host.file("/etc/systemd/system/n8n.service").exists
        return
    sql = "select id, active from workflow_entity where active order by id"
    active = host.check_output(f'runuser -u postgres -- psql -d n8n -At -F "|" -c "{sql}"').splitlines()
    assert len(active) >= 3, active
    before = call(host, api_key, "/api/v1/stats")["requests"]
    prompts = ["Name a primary colour.", "What is two plus two?"]
    batch = "/var/lib/n8n/files/batch/tier-check.txt"
    host.check_output(f"printf '%s\\n' {' '.join(shlex.quote(p) for p in prompts)} > {batch} && chown n8n {batch}")
    body = shlex.quote(json.dumps({"file": "tier-check.txt", "max_tokens": 24}))
    url = "http://127.0.0.1:5678/webhook/hybrid-batch"
    json_post = f"-X POST -H 'content-type: application/json' -d {body} {url}"
    post = f"curl -sS -m 240 -o /tmp/batch.out -w '%{{http_code}}' {json_post}"
    code = ""
    for _ in range(30):  # 404 until n8n has registered the webhook, a few seconds after it is ready
        code = host.run(post).stdout.strip()
        if code != "404":
            break
        time.sleep(2)
    assert code == "200", code + host.run("cat /tmp/batch.out").stdout + journal(host, "n8n")
    newest = host.check_output("ls -t /var/lib/n8n/files/batch/answers-*.jsonl | head -n 1")
    rows = [json.loads(line) for line in host.file(newest).content_string.splitlines() if line.strip()]
    assert [row["prompt"] for row in rows] == prompts, rows
    for row in rows:
        assert row["answer"].strip() and row["backend"] in ("openai", "cache") and row["request_id"], row
    assert call(host, api_key, "/api/v1/stats")["requests"] >= before + len(prompts)


def test_decisions_in_taskwarrior_match_the_stats(host, api_key):
    stats, report = {}, {}
    for _ in range(30):  # records are written in batches off the request path
        stats = call(host, api_key, "/api/v1/stats")
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
