"""Fixtures: a real Prometheus (Debian's binary) scraping a real multiprocess metrics endpoint."""

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

from .render import render

HERE = Path(__file__).resolve().parent
PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"
PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"


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


@pytest.fixture(scope="module")
def metrics_endpoint(tmp_path_factory):
    """A multiprocess metrics endpoint speaking the gateway's metric contract."""
    mpdir = tmp_path_factory.mktemp("multiproc")
    port = free_port()
    proc = subprocess.Popen([sys.executable, str(HERE / "contract_exporter.py"), str(port), str(mpdir)])
    try:
        wait_http(f"http://127.0.0.1:{port}/metrics", proc)
        yield f"127.0.0.1:{port}"
    finally:
        stop(proc)


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory, metrics_endpoint):
    """Debian's Prometheus with the role's rendered config and rules, scraping every second."""
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
        prometheus_gateway_targets=[metrics_endpoint],
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
