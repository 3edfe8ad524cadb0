"""Real servers for the gateway's integration tests, started here on free ports and stopped by
PID: redis-server, llama.cpp's server (llama-cpp-python) with the small Gemma GGUF, and the
Anthropic stand-in (fake_anthropic.py, the one component tests may stand in for)."""

from __future__ import annotations

import itertools
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis as redis_lib
import yaml

from tests.gateway.fake_anthropic import FakeAnthropic
from tests.servers import MODEL, LlamaServer, RedisServer

VENV_BIN = Path(sys.executable).parent
KEYS = ("test-key-alpha", "test-key-beta")

pytestmark = pytest.mark.integration


@pytest.fixture(scope="session")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("gateway")


@pytest.fixture(scope="session")
def redis_server(workdir: Path) -> Iterator[RedisServer]:
    srv = RedisServer(workdir / "redis-main").start()
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def llama(workdir: Path) -> Iterator[LlamaServer]:
    assert MODEL.is_file(), f"test model missing: {MODEL} (make setup builds it)"
    srv = LlamaServer(workdir / "llama-main").start()
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def cloud() -> Iterator[FakeAnthropic]:
    srv = FakeAnthropic().start()
    yield srv
    srv.stop()


@pytest.fixture(autouse=True)
def _cloud_ok(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "cloud" in request.fixturenames:
        request.getfixturevalue("cloud").mode = "ok"


_db_counter = itertools.cycle(range(1, 16))  # each app gets a flushed database


def make_config(
    tmp: Path,
    redis_url: str,
    llama_url: str,
    cloud_url: str,
    *,
    phi_url: str | None = None,
    api_key: str | None = "sk-ant-test",
    **overrides: Any,
) -> dict[str, Any]:
    """A config in the contracts.md format, written to tmp/gateway.yml; returns the raw dict."""
    keys = tmp / "api_keys"
    keys.write_text("# test keys\n" + "\n".join(KEYS) + "\n")
    cfg: dict[str, Any] = {
        "tier": 2,
        "router": "heuristic",
        "thresholds": {},
        "ladder": [
            {"model": "tinyllama", "max_complexity": 0.3},
            {"model": "phi-2", "max_complexity": 0.6},
            {"model": "cloud"},
        ],
        "models": {
            "tinyllama": {"engine": "openai", "url": llama_url, "upstream_model": "gemma", "timeout_s": 30},
            "phi-2": {"engine": "openai", "url": phi_url or llama_url, "upstream_model": "gemma", "timeout_s": 30},
        },
        "cloud": {
            "provider": "anthropic",
            "model": "claude-sonnet-4-6",
            "input_usd_per_mtok": 3.0,
            "output_usd_per_mtok": 15.0,
            "base_url": cloud_url,
            "api_key_file": None,
            "timeout_s": 10,
            "monthly_budget_usd": 40,
        },
        "redis": {"url": redis_url, "cache_ttl_s": 3600},
        "auth": {"api_keys_file": str(keys)},
        "limits": {
            "max_prompt_chars": 2000,
            "max_tokens_cap": 64,
            "rate_limit_per_minute": 1000,
            "request_timeout_s": 60,
        },
        "cascade": {"enabled": False},
        "taskwarrior": {
            "enabled": False,
            "taskrc": str(tmp / "taskrc"),
            "data_dir": str(tmp / "task"),
            "batch_size": 5,
            "flush_interval_s": 0.5,
        },
        "n8n": {"webhooks": {}},
        "metrics": {"multiproc_dir": str(tmp / "metrics")},
    }
    if api_key:
        (tmp / "anthropic_key").write_text(api_key + "\n")
        cfg["cloud"]["api_key_file"] = str(tmp / "anthropic_key")
    for dotted, value in overrides.items():
        node = cfg
        parts = dotted.split("__")
        for p in parts[:-1]:
            node = node[p]
        node[parts[-1]] = value
    (tmp / "gateway.yml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    return cfg


@pytest.fixture
def env_clean(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "ANTHROPIC_API_KEY",
        "COMPLEXITY_THRESHOLD_TINY",
        "COMPLEXITY_THRESHOLD_PHI",
        "HYBRID_AI_CONFIG",
        "PROMETHEUS_MULTIPROC_DIR",
    ):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def build_app(
    tmp_path: Path, redis_server: RedisServer, llama: LlamaServer, cloud: FakeAnthropic, env_clean: None
) -> Iterator[Callable[..., Any]]:
    """build_app(**overrides) -> Flask app on a fresh Redis database (clean stats)."""
    from hybrid_ai import config
    from hybrid_ai.web import create_app

    apps = []

    def build(redis_url: str | None = None, **overrides: Any) -> Any:
        db = next(_db_counter)
        url = redis_url or f"redis://127.0.0.1:{redis_server.port}/{db}"
        if redis_url is None:
            redis_lib.Redis.from_url(url).flushdb()
        sub = tmp_path / f"app{len(apps)}"
        sub.mkdir()
        raw = make_config(sub, url, llama.url, cloud.url, **overrides)
        app = create_app(config.validate(raw, env={}, source="test"))
        app.config["TESTING"] = True
        apps.append(app)
        return app

    yield build
    for app in apps:
        app.extensions["hybrid_ai"].close()


def auth(key: str = KEYS[0], **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}", **extra}
