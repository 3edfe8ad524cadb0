"""Fixtures: a real Prometheus (Debian's binary) scraping the real gateway (`hybrid-ai serve`)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
import yaml

from .render import render

HERE = Path(__file__).resolve().parent
PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"
PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"
QUALITY_TARGET = 0.9


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url: str, timeout: float = 5.0) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.read()


def wait_http(url: str, proc: subprocess.Popen, deadline_s: float = 30.0) -> None:
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args[0]} exited with {proc.returncode}")
        try:
            http_get(url, timeout=1)
            return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(url)


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(5)


class PromAPI:
    def __init__(self, base: str):
        self.base = base

    def query(self, expr: str) -> dict:
        return self._call("/api/v1/query", {"query": expr})

    def query_range(self, expr: str, seconds: int = 60, step: str = "2s") -> dict:
        now = time.time()
        return self._call("/api/v1/query_range", {"query": expr, "start": now - seconds, "end": now, "step": step})

    def _call(self, path: str, params: dict) -> dict:
        import json

        url = self.base + path + "?" + urllib.parse.urlencode(params)
        try:
            return json.loads(http_get(url))
        except urllib.error.HTTPError as e:  # 400 with a JSON error body for bad PromQL
            return json.loads(e.read())


class Gateway:
    """`hybrid-ai serve` (gunicorn, 2 workers, multiprocess metrics) on a free port, with its backends."""

    def __init__(self, url: str, key: str, task_env: dict[str, str], cloud_model: str, redis_url: str):
        self.url, self.key, self.task_env, self.cloud_model = url, key, task_env, cloud_model
        self.redis_url = redis_url  # the fleet-wide figures (quality, labels, shadow spend) live here

    def chat(self, prompt: str, model: str = "auto") -> dict:
        import json

        req = urllib.request.Request(
            self.url + "/api/v1/chat",
            data=json.dumps({"prompt": prompt, "model": model, "max_tokens": 16}).encode(),
            headers={"Authorization": f"Bearer {self.key}", "Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(req, timeout=120) as r:
            return json.loads(r.read())


@pytest.fixture(scope="module")
def gateway(tmp_path_factory):
    """The real gateway with Redis, llama.cpp's server (small Gemma GGUF) and the Anthropic stand-in.

    Taskwarrior is on, with the taskwarrior role's rendered taskrc and on-add hook, so routing
    records go through the same validation as on a server. A quality target is configured, so
    /metrics carries api_gateway_quality_target (the quality panel's target line).
    """
    from tests.gateway.conftest import KEYS, make_config
    from tests.gateway.fake_anthropic import FakeAnthropic
    from tests.servers import LlamaServer, RedisServer

    work = tmp_path_factory.mktemp("gw")
    data = work / "task"
    (data / "hooks").mkdir(parents=True)
    tw = {"taskwarrior_data_dir": str(data), "taskwarrior_taskrc": str(work / ".taskrc")}
    (work / ".taskrc").write_text(render("taskwarrior", "taskrc.j2", **tw))
    hook = data / "hooks" / "on-add-hybrid-ai-routing.py"
    hook.write_text(render("taskwarrior", "on-add-hybrid-ai-routing.py.j2", **tw))
    hook.chmod(0o755)
    redis = RedisServer(work / "redis").start()
    llama = LlamaServer(work / "llama").start()
    cloud = FakeAnthropic().start()
    procs = [redis, llama]
    try:
        cfg = make_config(
            work,
            redis.url,
            llama.url,
            cloud.url,
            taskwarrior__enabled=True,
            taskwarrior__taskrc=str(work / ".taskrc"),
            taskwarrior__data_dir=str(data),
        )
        cfg["learning"] = {"quality_target": QUALITY_TARGET}
        (work / "gateway.yml").write_text(yaml.safe_dump(cfg, sort_keys=False))
        port = free_port()
        env = {k: v for k, v in os.environ.items() if k not in ("PROMETHEUS_MULTIPROC_DIR", "ANTHROPIC_API_KEY")}
        log = (work / "gateway.log").open("w")
        proc = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "hybrid-ai"),
                "serve",
                "--config",
                str(work / "gateway.yml"),
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                "2",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
        try:
            wait_http(f"http://127.0.0.1:{port}/health", proc, 60)
            task_env = {**os.environ, "TASKRC": str(work / ".taskrc"), "TASKDATA": str(data), "HOME": str(work)}
            yield Gateway(f"http://127.0.0.1:{port}", KEYS[0], task_env, cfg["cloud"]["model"], redis.url)
        finally:
            stop(proc)
            log.close()
    finally:
        for p in procs:
            p.stop()
        cloud.stop()


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory, gateway):
    """Debian's Prometheus with the role's rendered config and rules, scraping the gateway every second."""
    work = tmp_path_factory.mktemp("prometheus")
    rules_dir = work / "rules.d"
    rules_dir.mkdir()
    (rules_dir / "hybrid-ai.rules.yml").write_text(render("prometheus", "hybrid-ai.rules.yml.j2"))
    port = free_port()
    config = render(
        "prometheus",
        "prometheus.yml.j2",
        prometheus_listen_address=f"127.0.0.1:{port}",
        prometheus_scrape_interval="1s",
        prometheus_evaluation_interval="1s",
        prometheus_gateway_targets=[gateway.url.removeprefix("http://")],
        prometheus_node_exporter_enabled=False,
        prometheus_redis_exporter_enabled=False,
        __prometheus_rules_dir=str(rules_dir),
    )
    (work / "prometheus.yml").write_text(config)
    subprocess.run([PROMTOOL, "check", "config", str(work / "prometheus.yml")], check=True, capture_output=True)
    log = (work / "prometheus.log").open("w")
    proc = subprocess.Popen(
        [
            PROMETHEUS,
            f"--config.file={work / 'prometheus.yml'}",
            f"--storage.tsdb.path={work / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--storage.tsdb.retention.time=1h",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_http(f"http://127.0.0.1:{port}/-/ready", proc)
        yield PromAPI(f"http://127.0.0.1:{port}")
    finally:
        stop(proc)
        log.close()
