"""Fixtures for router tests: the repo's CLI, and a real Redis server on a free port."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
EVAL_DATA = REPO.parent / "shared" / "data" / "routing-eval"


def hybrid_ai_cmd() -> list[str]:
    exe = REPO / ".venv" / "bin" / "hybrid-ai"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "hybrid_ai.cli"]


def run_cli(*args: str, stdin: str = "", env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "HYBRID_AI_TIERS_DIR": str(REPO / "tiers"), **(env or {})}
    return subprocess.run(
        [*hybrid_ai_cmd(), *args], input=stdin, capture_output=True, text=True, timeout=120, env=full_env
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def redis_url(tmp_path: Path):
    server = shutil.which("redis-server")
    if server is None:
        pytest.skip("redis-server is not installed (scripts/host-prereqs.sh installs it)")
    port = _free_port()
    argv = [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    proc = subprocess.Popen(
        [*argv, "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                time.sleep(0.05)
        else:
            raise RuntimeError("redis-server did not start")
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
