"""The gateway as it runs on a box: `hybrid-ai serve` (gunicorn, several workers) against real
Redis, llama.cpp and the Anthropic stand-in; the official `openai` client; Taskwarrior records
read back by tw_cost_report."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.gateway.conftest import KEYS, make_config
from tests.servers import Proc, free_port, wait_until

pytestmark = pytest.mark.integration
BIN = Path(sys.executable).parent
WORKERS = 3


class Gateway(Proc):
    def __init__(self, cfg_path: Path, workdir: Path, workers: int = WORKERS) -> None:
        self.port = free_port()
        env = {k: v for k, v in os.environ.items() if k not in ("PROMETHEUS_MULTIPROC_DIR", "ANTHROPIC_API_KEY")}
        argv = [
            str(BIN / "hybrid-ai"),
            "serve",
            "--config",
            str(cfg_path),
            "--bind",
            f"127.0.0.1:{self.port}",
            "--workers",
            str(workers),
        ]
        super().__init__(argv, workdir / f"gateway-{self.port}.log", env)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Gateway:
        super().start()
        try:
            wait_until(lambda: httpx.get(self.url + "/health", timeout=2).status_code == 200, 60, "gateway")
        except TimeoutError:
            self.stop()
            raise AssertionError(self.output()) from None
        return self


@pytest.fixture(scope="module")
def served(tmp_path_factory, redis_server, llama, cloud):
    tmp = tmp_path_factory.mktemp("served")
    db = 0
    import redis

    redis.Redis(port=redis_server.port, db=db).flushdb()
    make_config(tmp, f"redis://127.0.0.1:{redis_server.port}/{db}", llama.url, cloud.url, taskwarrior__enabled=True)
    gw = Gateway(tmp / "gateway.yml", tmp).start()
    yield gw, tmp
    gw.stop()


def H(**extra):
    return {"Authorization": f"Bearer {KEYS[0]}", **extra}


def metric_sum(text: str, name: str, **labels: str) -> float:
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        if all(f'{k}="{v}"' in line for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_metrics_sum_over_workers_and_stats_agree(served):
    gw, tmp = served
    n = 24
    prompts = [f"Say hi number {i % 4}" for i in range(n)]  # 4 distinct: 4 misses then hits
    with httpx.Client(base_url=gw.url, headers=H(), timeout=60) as c:
        # one connection per request, in parallel, so several workers answer
        def one(p):
            with httpx.Client(base_url=gw.url, headers=H(), timeout=60) as own:
                return own.post("/api/v1/chat", json={"prompt": p, "max_tokens": 3})

        with ThreadPoolExecutor(6) as pool:
            replies = list(pool.map(one, prompts))
        assert all(r.status_code == 200 for r in replies), [r.text for r in replies if r.status_code != 200]
        files = [f for f in os.listdir(tmp / "metrics") if f.startswith("counter_")]
        assert len(files) >= 2, f"only one worker answered: {files}"
        # bookkeeping runs just after each reply is sent: give the last ones a moment
        wait_until(lambda: c.get("/api/v1/stats").json()["requests"] == n, 10, "stats")
        text = c.get("/metrics").text
        assert metric_sum(text, "api_gateway_requests_total", status="200") == n
        hits = sum(1 for r in replies if r.json()["cached"])
        assert metric_sum(text, "api_gateway_cache_total", result="hit") == hits
        assert hits >= 1  # parallel identical requests may all miss before the first answer is stored
        assert metric_sum(text, "api_gateway_cache_total", result="miss") == n - hits
        assert metric_sum(text, "api_gateway_request_duration_seconds_count") == n
        assert metric_sum(text, "api_gateway_backend_up", backend="tinyllama") >= 1
        assert metric_sum(text, "api_gateway_monthly_budget_usd") == 40
        # every worker reports the same stats (read from Redis)
        snaps = set()
        for _ in range(12):
            with httpx.Client(base_url=gw.url, headers=H(), timeout=10) as own:
                s = own.get("/api/v1/stats").json()
            s.pop("request_id")
            snaps.add(json.dumps(s, sort_keys=True))
        assert len(snaps) == 1
        s = json.loads(snaps.pop())
        assert s["requests"] == n and s["cache_hits"] == hits and s["cache_misses"] == n - hits
        assert s["complete"] is True


def test_openai_client_streams_with_only_a_base_url_change(served):
    from openai import OpenAI

    gw, _ = served
    client = OpenAI(base_url=gw.url + "/v1", api_key=KEYS[1], max_retries=0)
    ids = [m.id for m in client.models.list()]
    assert "auto" in ids and "cloud" in ids
    stream = client.chat.completions.create(
        model="auto",
        messages=[{"role": "user", "content": "Hello!"}],
        max_tokens=6,
        temperature=0,  # the small model sometimes ends at once when sampling; greedy answers
        stream=True,
        stream_options={"include_usage": True},
        extra_headers={"Cache-Control": "no-cache"},
    )
    text, usage, models = "", None, set()
    for chunk in stream:
        models.add(chunk.model)
        if chunk.choices and chunk.choices[0].delta.content:
            text += chunk.choices[0].delta.content
        if chunk.usage:
            usage = chunk.usage
    assert models == {"tinyllama"}
    assert usage is not None and usage.completion_tokens >= 1 and usage.prompt_tokens >= 1
    assert text
    # non-streaming, cloud
    reply = client.chat.completions.create(
        model="claude-sonnet-4-6", messages=[{"role": "user", "content": "Hello cloud"}], max_tokens=8
    )
    assert reply.choices[0].message.content.startswith("This is the cloud answer")
    assert reply.usage.completion_tokens == 8 and reply.model == "cloud"
    # errors come back as the client's typed exceptions
    import openai

    with pytest.raises(openai.BadRequestError, match="valid models"):
        client.chat.completions.create(model="gpt-99", messages=[{"role": "user", "content": "x"}])
    with pytest.raises(openai.AuthenticationError):
        OpenAI(base_url=gw.url + "/v1", api_key="nope", max_retries=0).models.list()
    with pytest.raises(openai.BadRequestError, match="'tools' is not supported") as refused:
        client.chat.completions.create(
            model="auto",
            messages=[{"role": "user", "content": "Hello!"}],
            tools=[{"type": "function", "function": {"name": "now", "parameters": {"type": "object"}}}],
        )
    assert refused.value.body["param"] == "tools"


def test_taskwarrior_records_match_stats_and_survive_restart(served, redis_server, llama, cloud):
    gw, tmp = served
    with httpx.Client(base_url=gw.url, headers=H(), timeout=60) as c:
        before = c.get("/api/v1/stats").json()["requests"]
        for i in range(3):
            assert (
                c.post(
                    "/api/v1/chat",
                    json={"prompt": f"Design and analyze a strategy {i}", "max_tokens": 5, "model": "cloud"},
                ).status_code
                == 200
            )
        wait_until(lambda: c.get("/api/v1/stats").json()["requests"] == before + 3, 10, "stats")
        stats = c.get("/api/v1/stats").json()
    env = {**os.environ, "TASKRC": str(tmp / "taskrc"), "TASKDATA": str(tmp / "task")}

    def count() -> int:
        out = subprocess.run(
            ["task", "rc.verbose=nothing", "project:vps_ai.router", "+routing", "status:completed", "count"],
            env=env,
            capture_output=True,
            text=True,
        )
        return int(out.stdout.strip() or 0)

    wait_until(lambda: count() == stats["requests"], 20, "taskwarrior records")
    exported = json.loads(
        subprocess.run(
            ["task", "rc.json.array=on", "project:vps_ai.router", "export"], env=env, capture_output=True, text=True
        ).stdout
    )
    t = next(x for x in exported if x["model"] == "cloud")
    assert re.fullmatch(r"route \S+ -> cloud", t["description"]) and t["backend"] == "anthropic"
    assert t["status"] == "completed" and t["tags"] == ["routing"] and t["cost"] > 0 and t["reqid"]
    assert {"complexity", "cloudcost", "tokensin", "tokensout"} <= set(t)

    report = subprocess.run(
        [str(BIN / "tw_cost_report"), "--json", "--taskrc", str(tmp / "taskrc"), "--data-dir", str(tmp / "task")],
        capture_output=True,
        text=True,
        check=True,
    )
    rep = json.loads(report.stdout)
    assert rep["total"]["requests"] == stats["requests"]
    assert rep["total"]["cost_usd"] == pytest.approx(stats["cost_usd"], abs=1e-9)
    assert rep["total"]["cloud_equivalent_usd"] == pytest.approx(stats["cloud_equivalent_usd"], abs=1e-9)
    assert rep["total"]["tokens_in"] == stats["tokens_in"] and rep["total"]["tokens_out"] == stats["tokens_out"]
    for model, m in stats["by_model"].items():
        assert rep["by_model"][model]["requests"] == m["requests"]
    text = subprocess.run(
        [str(BIN / "hybrid-ai"), "tw-cost-report", "--config", str(tmp / "gateway.yml")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "TOTAL" in text and "cloud" in text

    # stats survive a restart of the whole gateway (they live in Redis)
    gw.stop()
    gw2 = Gateway(tmp / "gateway.yml", tmp, workers=2).start()
    try:
        after = httpx.get(gw2.url + "/api/v1/stats", headers=H(), timeout=10).json()
        assert after["requests"] == stats["requests"] and after["cost_usd"] == pytest.approx(stats["cost_usd"])
    finally:
        gw2.stop()


def test_serve_refuses_a_bad_config(tmp_path):
    bad = tmp_path / "bad.yml"
    bad.write_text("ladder: [{model: cloud}]\nmodels: {}\ncloud: {model: gpt-x}\nbogus: 1\n")
    out = subprocess.run(
        [str(BIN / "hybrid-ai"), "serve", "--config", str(bad), "--bind", "127.0.0.1:1"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert out.returncode == 2 and "bogus" in out.stderr
    assert shutil.which("task"), "taskwarrior is a test prerequisite (scripts/host-prereqs.sh)"
