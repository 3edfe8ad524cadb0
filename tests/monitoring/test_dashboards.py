"""Every Grafana panel's PromQL, run against a real Prometheus scraping the gateway's metric contract."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import yaml

from .conftest import QUALITY_TARGET
from .fleet import FLEET_GAUGES, not_under_max
from .render import ROLES, render

DASHBOARDS = sorted((ROLES / "grafana" / "files" / "dashboards").glob("*.json"))
# Grafana's macros, with the values Grafana would give them on a short range over 1 s scrapes.
MACROS = {"$__rate_interval": "30s", "$__range": "5m", "$__interval": "2s"}


def panels():
    """Every panel with queries (row headers carry none)."""
    for path in DASHBOARDS:
        for p in json.loads(path.read_text())["panels"]:
            if p["type"] != "row":
                yield path.stem, p


def expand(expr: str) -> str:
    for k, v in MACROS.items():
        expr = expr.replace(k, v)
    return expr


def test_dashboards_are_provisionable():
    assert {p.stem for p in DASHBOARDS} == {"hybrid-ai-cost", "hybrid-ai-routing"}
    ds = yaml.safe_load(render("grafana", "datasource.yml.j2"))
    uid = ds["datasources"][0]["uid"]
    seen_uids = set()
    for path in DASHBOARDS:
        d = json.loads(path.read_text())
        assert d["uid"] not in seen_uids
        seen_uids.add(d["uid"])
        ids = [p["id"] for p in d["panels"]]
        assert len(ids) == len(set(ids)), f"{path.name}: duplicate panel ids"
        cells: dict[tuple[int, int], str] = {}
        for p in d["panels"]:
            g = p["gridPos"]
            assert g["x"] >= 0 and g["w"] > 0 and g["x"] + g["w"] <= 24 and g["h"] > 0, f"{path.name}: {p['title']}"
            for x in range(g["x"], g["x"] + g["w"]):
                for y in range(g["y"], g["y"] + g["h"]):
                    assert (x, y) not in cells, f"{path.name}: {p['title']} overlaps {cells[(x, y)]}"
                    cells[(x, y)] = p["title"]
            if p["type"] == "row":
                assert not p.get("targets") and not p.get("panels") and g["w"] == 24, f"{path.name}: row {p['title']}"
                continue
            assert p["targets"], f"{path.name}: panel {p['title']} has no query"
            for t in p["targets"]:
                assert t["datasource"]["uid"] == uid, f"{path.name}: {p['title']} uses another datasource"
                assert t["expr"].strip()


def test_dashboards_cover_the_brief():
    titles = " | ".join(p["title"].lower() for _, p in panels())
    for needle in (
        "cloud cost",
        "cost per model",
        "projected monthly",
        "savings vs cloud-only",
        "routing distribution",
        "latency p50 / p95 per backend",
        "cache hit rate",
        "requests per second",
        "tokens",
        "quality kept",
        "labels by source",
        "local share",
        "shadow spend today vs daily budget",
    ):
        assert needle in titles, needle
    exprs = " ".join(t["expr"] for _, p in panels() for t in p["targets"])
    assert "api_gateway_cloud_equivalent_cost_total" in exprs and "api_gateway_cost_total" in exprs
    for name in FLEET_GAUGES:
        if name != "api_gateway_router_model":  # shown by /api/v1/stats, no panel
            assert name in exprs, name


def test_fleet_wide_gauges_are_taken_with_max():
    """Every gateway reports the same Redis-backed gauges: sum() over a fleet would multiply them."""
    bad = [
        f"{dashboard}/{p['title']}: {names} in {t['expr']}"
        for dashboard, p in panels()
        for t in p["targets"]
        if (names := not_under_max(t["expr"]))
    ]
    assert not bad, "\n".join(bad)


def test_quality_panel_draws_the_interval_as_a_band():
    """The 95% interval is a band between its ends; the target a line of its own."""
    q = next(p for _, p in panels() if p["title"] == "Quality kept")
    legends = {t["legendFormat"]: t["expr"] for t in q["targets"]}
    assert legends == {
        "estimate": "max(api_gateway_quality_ratio)",
        "95% low": "max(api_gateway_quality_ratio_low)",
        "95% high": "max(api_gateway_quality_ratio_high)",
        "target": "max(api_gateway_quality_target)",
    }
    overrides = {
        o["matcher"]["options"]: {x["id"]: x["value"] for x in o["properties"]} for o in q["fieldConfig"]["overrides"]
    }
    assert overrides["95% high"]["custom.fillBelowTo"] == "95% low"
    assert set(overrides) <= set(legends)


PROMPTS = [
    ("tinyllama", "Say hello."),
    ("phi-2", "Name a colour."),
    ("cloud", "Compare two sorting algorithms and explain the trade-offs in detail."),
    ("auto", "hi"),
]


def _wait_scraped(prom, deadline_s: float = 30) -> None:
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if prom.query('up{job="hybrid-ai-gateway"} == 1')["data"]["result"]:
            return
        time.sleep(0.5)
    pytest.fail("Prometheus never scraped the gateway")


@pytest.mark.integration
def test_every_panel_runs_against_prometheus_scraping_the_gateway(prometheus, gateway):
    """Traffic through the real gateway, scraped by the real Prometheus; then every panel's PromQL.

    One test on purpose: the stack (gateway, Redis, llama.cpp, Prometheus) starts once per run.
    """
    _wait_scraped(prometheus)
    sources = _seed_quality(gateway)
    answers = []
    for round_no in range(2):  # counters must exist before the second round for increase() to see it
        for model, prompt in PROMPTS:
            answers.append(gateway.chat(f"{prompt} (round {round_no})", model))
        answers.append(gateway.chat(f"{PROMPTS[0][1]} (round {round_no})", PROMPTS[0][0]))  # a cache hit
        time.sleep(3)

    failures = []
    for dashboard, panel in panels():
        for t in panel["targets"]:
            expr = expand(t["expr"])
            if "$" in expr:
                failures.append(f"{dashboard}/{panel['title']}: unexpanded variable in {expr}")
                continue
            r = prometheus.query_range(expr) if panel["type"] == "timeseries" else prometheus.query(expr)
            if r["status"] != "success":
                failures.append(f"{dashboard}/{panel['title']}: {r.get('error')} in {expr}")
            elif not r["data"]["result"] and panel["title"] not in OPTIONAL_PANELS:
                failures.append(f"{dashboard}/{panel['title']}: no series for {expr}")
    assert not failures, "\n".join(failures)

    by_title = {p["title"]: p for _, p in panels()}

    def instant(title):
        r = prometheus.query(expand(by_title[title]["targets"][0]["expr"]))
        return {s["metric"].get("model", ""): float(s["value"][1]) for s in r["data"]["result"]}

    cloud_name = answers[2]["model"]  # the name the gateway reports for the cloud rung
    assert answers[2]["backend"] == "anthropic", answers[2]
    routing = instant("Routing distribution by model")
    assert {"tinyllama", "phi-2", cloud_name} <= set(routing), routing
    cost = instant("Cost per model in range")
    assert cost[cloud_name] > 0, cost
    assert cost.get("tinyllama", 0) == 0
    assert instant("Savings vs cloud-only")[""] > 0, "local answers must show savings against cloud-only"
    assert any(a["cached"] for a in answers), "the repeated prompt should have been a cache hit"

    # The fleet-wide figures the gateway reads from Redis at scrape time, as the panels show them.
    def values(title):
        out = {}
        for t in by_title[title]["targets"]:
            for s in prometheus.query(expand(t["expr"]))["data"]["result"]:
                out[t["legendFormat"].replace("{{source}}", s["metric"].get("source", ""))] = float(s["value"][1])
        return out

    assert values("Quality kept") == pytest.approx(
        {"estimate": 0.93, "95% low": 0.88, "95% high": 0.97, "target": QUALITY_TARGET}
    )
    assert values("Labels by source") == {**{k: float(v) for k, v in sources.items()}, "behind the estimate": 120.0}
    share = values("Local share")
    assert share["labelled estimate"] == pytest.approx(0.7)
    local_answers = sum(1 for a in answers if a["backend"] not in ("anthropic", "cache"))
    cloud_answers = sum(1 for a in answers if a["backend"] == "anthropic")
    assert local_answers and cloud_answers, answers
    assert 0 < share["traffic (1 h)"] < 1, share
    assert values("Shadow spend today vs daily budget") == {"spent today": 0.0, "daily budget": 0.0}  # shadowing off

    # Every rule the role ships is loaded by this Prometheus.
    rules = prometheus._call("/api/v1/rules", {})["data"]["groups"]
    loaded = {r["name"] for g in rules for r in g["rules"]}
    assert len(loaded) == 9, loaded

    # The same decisions in Taskwarrior (validated by the role's hook) and in tw_cost_report.
    _check_taskwarrior(gateway, answers, cloud_name)


# Panels that may legitimately be empty after this traffic (no fallback happens on a healthy stack;
# one model server per model has no replicas to show; shadowing is off in the test config).
OPTIONAL_PANELS = {"Fallbacks in range", "Model replicas in rotation", "Shadow judgements per hour by result"}


def _seed_quality(gateway) -> dict[str, int]:
    """What a refit leaves in Redis (through the refit's own publish) and label counts by source:
    the gateway reads both at scrape time, so its /metrics carries the quality gauges."""
    import redis

    from hybrid_ai.labels import SOURCES
    from hybrid_ai.router import publish, quality
    from hybrid_ai.store import LABEL_SOURCES

    client = redis.Redis.from_url(gateway.redis_url)
    try:
        estimate = quality.Estimate(ratio=0.93, low=0.88, high=0.97, n=120, local_share=0.7)
        publish.publish(client, publish.Outcome(labels=150, estimate=estimate), target=QUALITY_TARGET)
        counts = dict(zip(SOURCES, (90, 40, 20)))
        client.hset(LABEL_SOURCES, mapping=counts)
    finally:
        client.close()
    return counts


def _check_taskwarrior(gateway, answers, cloud_name) -> None:
    import json
    import subprocess
    import sys

    expected = sum(a["cost_usd"] for a in answers)
    end = time.monotonic() + 20
    tasks = []
    while time.monotonic() < end:
        out = subprocess.run(
            ["task", "project:vps_ai.router", "export"], env=gateway.task_env, capture_output=True, text=True
        )
        tasks = json.loads(out.stdout or "[]")
        if len(tasks) >= len(answers):
            break
        time.sleep(0.5)
    assert {a["request_id"] for a in answers} <= {t.get("reqid") for t in tasks}
    tw_cost_report = Path(sys.executable).parent / "tw_cost_report"
    month = time.strftime("%Y-%m", time.gmtime())
    rep = subprocess.run(
        [str(tw_cost_report), "--json", "--month", month], env=gateway.task_env, capture_output=True, text=True
    )
    assert rep.returncode == 0, rep.stdout + rep.stderr
    report = json.loads(rep.stdout)
    assert report["total"]["requests"] == len(answers)
    assert report["total"]["cost_usd"] == pytest.approx(expected, rel=1e-6, abs=1e-9)
    assert report["by_model"][cloud_name]["cost_usd"] > 0
