"""Every Grafana panel's PromQL, run against a real Prometheus scraping the gateway's metric contract."""

from __future__ import annotations

import json
import time
import urllib.request

import pytest
import yaml

from .render import ROLES, render

DASHBOARDS = sorted((ROLES / "grafana" / "files" / "dashboards").glob("*.json"))
# Grafana's macros, with the values Grafana would give them on a short range over 1 s scrapes.
MACROS = {"$__rate_interval": "30s", "$__range": "5m", "$__interval": "2s"}


def panels():
    for path in DASHBOARDS:
        for p in json.loads(path.read_text())["panels"]:
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
        for p in d["panels"]:
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
    ):
        assert needle in titles, needle
    exprs = " ".join(t["expr"] for _, p in panels() for t in p["targets"])
    assert "api_gateway_cloud_equivalent_cost_total" in exprs and "api_gateway_cost_total" in exprs


@pytest.fixture(scope="module")
def after_traffic(prometheus, metrics_endpoint):
    """Wait for the first scrape, then two bursts of traffic with scrapes in between."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        r = prometheus.query('up{job="hybrid-ai-gateway"} == 1')
        if r["data"]["result"]:
            break
        time.sleep(0.5)
    else:
        pytest.fail("Prometheus never scraped the metrics endpoint")
    for _ in range(2):
        req = urllib.request.Request(f"http://{metrics_endpoint}/traffic", method="POST")
        urllib.request.urlopen(req, timeout=30).read()
        time.sleep(3)
    return prometheus


@pytest.mark.integration
@pytest.mark.parametrize(("dashboard", "panel"), list(panels()), ids=lambda v: v if isinstance(v, str) else v["title"])
def test_panel_queries_run_and_return_series(after_traffic, dashboard, panel):
    for t in panel["targets"]:
        expr = expand(t["expr"])
        assert "$" not in expr, f"unexpanded Grafana variable in {expr}"
        r = after_traffic.query_range(expr) if panel["type"] == "timeseries" else after_traffic.query(expr)
        assert r["status"] == "success", f"{panel['title']}: {r.get('error')} in {expr}"
        assert r["data"]["result"], f"{panel['title']}: no series for {expr}"


@pytest.mark.integration
def test_cost_and_routing_panels_show_the_traffic(after_traffic):
    by_title = {p["title"]: p for _, p in panels()}

    def instant(title):
        r = after_traffic.query(expand(by_title[title]["targets"][0]["expr"]))
        return {s["metric"].get("model", ""): float(s["value"][1]) for s in r["data"]["result"]}

    routing = instant("Routing distribution by model")
    assert {"tinyllama", "phi-2", "claude-sonnet-4-5"} <= set(routing)
    assert all(v > 0 for v in routing.values())
    cost = instant("Cost per model in range")
    assert cost["claude-sonnet-4-5"] > 0
    assert cost.get("tinyllama", 0) == 0
    savings = instant("Savings vs cloud-only")[""]
    assert savings > 0, "local models must show savings against cloud-only"
