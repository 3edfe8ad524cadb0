"""Fixtures for router tests: the repo's CLI, and a real Redis server on a free port."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.servers import RedisServer

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


@pytest.fixture
def redis_url(tmp_path: Path):
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed (scripts/host-prereqs.sh installs it)")
    server = RedisServer(tmp_path).start()
    try:
        yield server.url
    finally:
        server.stop()
