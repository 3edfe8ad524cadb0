"""The fleet after site.yml: two gateways, two model servers, one cache host (molecule.yml).

The controller (10.88.0.1) plays the clients and the load balancer: it sends requests to both
gateways straight over podman's network. Every check here reads the fleet from outside, as an
operator would: the rendered gateway config, /metrics, /api/v1/stats, the firewall seen from a
host on the private network and from one outside it. The tests run once each (none takes
testinfra's `host` fixture); each box is reached by name through the scenario's inventory.
"""

from __future__ import annotations

import json
import os
import shlex
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

import pytest
import testinfra
import yaml
from prometheus_client.parser import text_string_to_metric_families

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "_shared"))
from helpers import assert_service, secrets_dir

ADDR = {
    "fleet-gw1": "10.88.201.11",
    "fleet-gw2": "10.88.201.12",
    "fleet-llm1": "10.88.201.21",
    "fleet-llm2": "10.88.201.22",
    "fleet-cache": "10.88.201.31",
}
GATEWAYS = ["fleet-gw1", "fleet-gw2"]
MODEL_SERVERS = ["fleet-llm1", "fleet-llm2"]
MODEL = "tinyllama"  # tier 1's local rung (tiers/tier1.yml)
LLM_PORT = 8081
REPLICAS = [f"http://{ADDR[m]}:{LLM_PORT}/v1" for m in MODEL_SERVERS]


def box(name: str):
    return testinfra.get_host(f"ansible://{name}", ansible_inventory=os.environ["MOLECULE_INVENTORY_FILE"])


@pytest.fixture(scope="module")
def key() -> str:
    # one key for the whole fleet, kept under the first gateway (the gateway role)
    return (secrets_dir() / GATEWAYS[0] / "api_key").read_text().strip()


def http(gw: str, path: str, key: str | None = None, payload: dict | None = None, timeout: float = 60):
    """(status, headers, body as dict or text) of one request from the controller to a gateway."""
    headers = {"Cache-Control": "no-cache"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    data = None
    if payload is not None:
        data = json.dumps(payload).encode()
        headers["Content-Type"] = "application/json"
    req = urllib.request.Request(f"http://{ADDR[gw]}:8080{path}", data=data, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            status, hdrs, raw = r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        status, hdrs, raw = e.code, dict(e.headers), e.read()
    text = raw.decode()
    try:
        return status, hdrs, json.loads(text)
    except ValueError:
        return status, hdrs, text


def ask(gw: str, key: str, tag: str) -> dict:
    """One local request that cannot be a cache hit; the answer's JSON (raises on a non-200)."""
    payload = {"prompt": f"Say one word about the number {tag}.", "model": MODEL, "max_tokens": 8}
    status, _, body = http(gw, "/api/v1/chat", key, payload)
    if status != 200:
        raise RuntimeError(f"{gw}: HTTP {status}: {body}")
    return body


def replica_calls(gw: str) -> dict[tuple[str, str], float]:
    """api_gateway_replica_requests_total of one gateway by (replica, result)."""
    _, _, text = http(gw, "/metrics")
    out: dict[tuple[str, str], float] = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            if s.name == "api_gateway_replica_requests_total" and s.labels.get("model") == MODEL:
                out[(s.labels["replica"], s.labels["result"])] = s.value
    return out


def replica_up(gw: str) -> dict[str, float]:
    _, _, text = http(gw, "/metrics")
    return {
        s.labels["replica"]: s.value
        for fam in text_string_to_metric_families(text)
        for s in fam.samples
        if s.name == "api_gateway_replica_up" and s.labels.get("model") == MODEL
    }


def wait_for(what: str, cond, timeout_s: float, every_s: float = 0.5):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = cond()
        if value:
            return value
        time.sleep(every_s)
    raise AssertionError(f"{what}: not within {timeout_s} s")


def test_each_box_runs_only_its_part():
    for gw in GATEWAYS:
        h = box(gw)
        assert_service(h, "hybrid-ai-gateway")
        assert not h.service("llamacpp").is_running and not h.service("redis-server").is_running
    assert_service(box("fleet-gw1"), "prometheus")
    for m in MODEL_SERVERS:
        h = box(m)
        assert_service(h, "llamacpp")
        assert not h.service("hybrid-ai-gateway").is_running
        # the model server listens on its private address, not on every interface
        assert h.socket(f"tcp://{ADDR[m]}:{LLM_PORT}").is_listening
        assert not h.socket(f"tcp://0.0.0.0:{LLM_PORT}").is_listening
    cache = box("fleet-cache")
    assert_service(cache, "redis-server")
    assert not cache.service("hybrid-ai-gateway").is_running


def test_each_gateway_spreads_the_model_over_both_servers_and_shares_the_cache_host():
    for gw in GATEWAYS:
        cfg = yaml.safe_load(box(gw).file("/etc/hybrid-ai/gateway.yml").content_string)
        assert cfg["models"][MODEL]["url"] == REPLICAS, cfg["models"]
        assert cfg["redis"]["url"] == f"redis://{ADDR['fleet-cache']}:6379/0"


def test_requests_through_each_gateway_reach_both_model_servers(key):
    before = {gw: replica_calls(gw) for gw in GATEWAYS}
    n = 12
    for gw in GATEWAYS:
        for i in range(n):
            r = ask(gw, key, f"{gw}-{i}-{uuid.uuid4().hex[:6]}")
            assert r["model"] == MODEL and r["backend"] == "openai", r
    for gw in GATEWAYS:
        after = replica_calls(gw)
        ok = {rep: after.get((rep, "ok"), 0) - before[gw].get((rep, "ok"), 0) for rep in REPLICAS}
        print(f"{gw}: {n} sequential requests answered per replica: {ok}")
        assert sum(ok.values()) >= n, ok
        # least outstanding with round-robin among equals: both servers get a fair share
        assert all(v >= n // 4 for v in ok.values()), ok


def test_stats_are_the_same_through_both_gateways(key):
    def stats(gw: str) -> dict:
        body = http(gw, "/api/v1/stats", key)[2]
        body.pop("request_id")  # the one field that is the response's own
        return body

    before = stats(GATEWAYS[0])
    for i, gw in enumerate(GATEWAYS * 3):
        ask(gw, key, f"stats-{i}-{uuid.uuid4().hex[:6]}")

    def same():
        a, b = stats(GATEWAYS[0]), stats(GATEWAYS[1])
        return a if a == b and a["requests"] == before["requests"] + 6 else None

    # the bookkeeping is group-committed: give it a moment to land
    after = wait_for("equal stats through both gateways, counting all six requests", same, timeout_s=10)
    print(f"stats through both gateways: requests {before['requests']} -> {after['requests']}")


def test_internal_ports_admit_the_private_network_only():
    probe = "timeout 3 bash -c {}"
    for target, port in (
        ("fleet-llm1", LLM_PORT),
        ("fleet-llm2", LLM_PORT),
        ("fleet-cache", 6379),
        ("fleet-llm2", 9100),
    ):
        cmd = probe.format(shlex.quote(f"exec 3<>/dev/tcp/{ADDR[target]}/{port}"))
        # from a host of the private network: open
        inside = box("fleet-gw2").run(cmd)
        assert inside.rc == 0, f"{target}:{port} from fleet-gw2: {inside.stderr}"
        # from the controller (10.88.0.1, outside 10.88.201.0/24): dropped
        outside = os.system(f"{cmd} 2>/dev/null")
        assert outside != 0, f"{target}:{port} is reachable from outside the private network"
    # the gateway port: from the clients' network (the controller) and from the private network
    assert http("fleet-gw2", "/health")[0] == 200
    assert box("fleet-gw1").run(f"curl -fsS -m 5 http://{ADDR['fleet-gw2']}:8080/health").rc == 0
    # Redis on the cache host still wants its password from inside the network
    ping = f"exec 3<>/dev/tcp/{ADDR['fleet-cache']}/6379; printf 'PING\\r\\n' >&3; head -n 1 <&3"
    answer = box("fleet-gw1").run(probe.format(shlex.quote(ping)))
    assert answer.stdout.startswith("-NOAUTH"), answer.stdout + answer.stderr


def test_prometheus_scrapes_both_gateways():
    prom = box("fleet-gw1")

    def up_targets():
        out = prom.run(
            "curl -fsS -m 5 'http://127.0.0.1:9090/api/v1/query?query=up%7Bjob%3D%22hybrid-ai-gateway%22%7D'"
        )
        if out.rc != 0:
            return None
        res = json.loads(out.stdout)["data"]["result"]
        ups = {s["metric"]["instance"]: s["value"][1] for s in res}
        return ups if len(ups) == 2 and all(v == "1" for v in ups.values()) else None

    ups = wait_for("both gateways up in Prometheus", up_targets, timeout_s=30, every_s=2)
    assert set(ups) == {"127.0.0.1:8080", f"{ADDR['fleet-gw2']}:8080"}, ups


def test_every_box_has_its_host_metrics_in_prometheus():
    """The node exporter on every box: loopback on the monitoring host, the private address on the
    others (not every interface); Prometheus on fleet-gw1 scrapes all five and reads their disks."""
    for name, addr in ADDR.items():
        h = box(name)
        assert_service(h, "prometheus-node-exporter")
        listen = "127.0.0.1" if name == "fleet-gw1" else addr
        assert h.socket(f"tcp://{listen}:9100").is_listening, name
        assert not h.socket("tcp://0.0.0.0:9100").is_listening, name
    assert not box("fleet-llm1").package("prometheus").is_installed  # the exporter only, no Prometheus
    expected = {"127.0.0.1:9100"} | {f"{a}:9100" for n, a in ADDR.items() if n != "fleet-gw1"}
    prom = box("fleet-gw1")
    seen: dict = {}

    def all_up() -> bool:
        q = urllib.parse.urlencode(
            {
                "query": 'min by (instance) (up{job="node"}) * on (instance) '
                "group_left count by (instance) (node_filesystem_size_bytes)"
            }
        )
        out = prom.run(f"curl -fsS -m 5 'http://127.0.0.1:9090/api/v1/query?{q}'")
        if out.rc != 0:
            return False
        seen.clear()
        seen.update({r["metric"]["instance"]: float(r["value"][1]) for r in json.loads(out.stdout)["data"]["result"]})
        return set(seen) == expected and all(v > 0 for v in seen.values())

    try:
        wait_for("every node exporter up with its filesystems in Prometheus", all_up, timeout_s=45, every_s=3)
    except AssertionError as e:
        raise AssertionError(f"{e}; seen {seen}, expected {sorted(expected)}") from None


def test_a_model_server_stopped_under_load_loses_no_request_once_the_check_has_reacted(key):
    """Four clients through both gateways; fleet-llm1's engine is stopped at 5 s. Every request is
    recorded with its start time; those started after both gateways took the replica out must
    all be answered by the local model on the other server."""
    victim, victim_url = box("fleet-llm1"), REPLICAS[0]
    results: list[tuple[float, float, bool, str]] = []  # (start, end, ok, detail)
    lock = threading.Lock()
    stop = threading.Event()
    t0 = time.monotonic()

    def client(i: int) -> None:
        gw = GATEWAYS[i % 2]
        for j in range(400):  # bounded; the clock below ends it first
            if stop.is_set():
                return
            start = time.monotonic() - t0
            try:
                r = ask(gw, key, f"load-{i}-{j}-{uuid.uuid4().hex[:6]}")
                ok, detail = r["model"] == MODEL and r["backend"] == "openai", f"{r['model']}/{r['backend']}"
            except Exception as e:  # every failure is counted and shown
                ok, detail = False, str(e)[:200]
            with lock:
                results.append((start, time.monotonic() - t0, ok, detail))

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(4)]
    for t in threads:
        t.start()
    reacted_at = None
    try:
        time.sleep(5)
        stopped_at = time.monotonic() - t0
        victim.run("systemctl stop llamacpp")

        def out_everywhere():
            return all(replica_up(gw).get(victim_url) == 0 for gw in GATEWAYS)

        wait_for("both gateways took the stopped server out", out_everywhere, timeout_s=20, every_s=0.2)
        reacted_at = time.monotonic() - t0
        time.sleep(15)  # load on the remaining server alone
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=90)
        victim.run("systemctl start llamacpp")

    before = [r for r in results if r[0] < reacted_at]
    after = [r for r in results if r[0] >= reacted_at]
    lost_before = [r for r in before if not r[2]]
    lost_after = [r for r in after if not r[2]]
    print(
        f"stopped at {stopped_at:.1f} s, both gateways reacted at {reacted_at:.1f} s; "
        f"{len(before)} requests started before (lost {len(lost_before)}), "
        f"{len(after)} after (lost {len(lost_after)})"
    )
    for r in lost_before + lost_after:
        print("  lost:", r)
    assert len(after) >= 8, "too few requests after the reaction to say anything"
    assert not lost_after, lost_after

    # the active check alone puts the server back once its engine answers again
    def back_everywhere():
        return all(replica_up(gw).get(victim_url) == 1 for gw in GATEWAYS)

    wait_for("both gateways put the restarted server back", back_everywhere, timeout_s=120, every_s=1)
    calls = replica_calls(GATEWAYS[0])
    r = [ask(GATEWAYS[0], key, f"back-{i}-{uuid.uuid4().hex[:6]}") for i in range(6)]
    assert all(x["backend"] == "openai" for x in r)
    again = replica_calls(GATEWAYS[0])
    assert again.get((victim_url, "ok"), 0) > calls.get((victim_url, "ok"), 0), (calls, again)


def test_dashboards_aggregate_across_both_gateways():
    """Every Grafana panel's PromQL on the fleet's Prometheus (scraping both gateways): one series
    per panel line, never one per gateway, except the table of scrape targets."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[3]))
    from tests.monitoring.test_dashboards import expand, panels

    prom = box("fleet-gw1")

    def query(expr: str) -> list[dict]:
        url = "http://127.0.0.1:9090/api/v1/query?" + urllib.parse.urlencode({"query": expr})
        return json.loads(prom.check_output(f"curl -fsS -m 10 {shlex.quote(url)}"))["data"]["result"]

    assert len(query("count by (instance) (api_gateway_requests_total)")) == 2
    per_gateway = []
    for dashboard, panel in panels():
        if panel["title"] == "Scrape targets up":
            continue
        for t in panel["targets"]:
            for series in query(expand(t["expr"])):
                if "instance" in series["metric"]:
                    per_gateway.append(f"{dashboard}/{panel['title']}: {series['metric']}")
    assert not per_gateway, "\n".join(per_gateway)
    # Both servers are in rotation again (the kill test restarted fleet-llm1): Prometheus sees it at
    # its next scrape of each gateway (every 15 s), so the panel's query is read until it does.
    seen: dict = {}

    def rotation_back() -> bool:
        rotation = query("min by (model, replica) (api_gateway_replica_up)")
        seen.clear()
        seen.update({s["metric"]["replica"]: s["value"][1] for s in rotation})
        return seen == dict.fromkeys(REPLICAS, "1")

    try:
        wait_for("Prometheus shows both servers in rotation", rotation_back, timeout_s=60, every_s=2)
    except AssertionError as e:
        raise AssertionError(f"{e}; last seen {seen}") from None
