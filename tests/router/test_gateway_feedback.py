"""The feedback blueprint inside the real gateway app (hybrid_ai.web.create_app), with a real
Redis: registration, the gateway's API keys, and its decision records. No model is called."""

from __future__ import annotations

import json

import pytest
import redis

KEY = "router-test-key-0123456789"


@pytest.fixture
def gateway_app(tmp_path, redis_url, monkeypatch):
    from hybrid_ai import config
    from hybrid_ai.web import create_app

    for name in ("ANTHROPIC_API_KEY", "COMPLEXITY_THRESHOLD_TINY", "COMPLEXITY_THRESHOLD_PHI", "HYBRID_AI_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "keys").write_text(KEY + "\n")
    raw = {
        "tier": 2,
        "router": "learned",
        "ladder": [
            {"model": "tinyllama", "max_complexity": 0.3},
            {"model": "phi-2", "max_complexity": 0.6},
            {"model": "cloud"},
        ],
        "models": {
            "tinyllama": {"engine": "openai", "url": "http://127.0.0.1:9/v1", "upstream_model": "t", "timeout_s": 1},
            "phi-2": {"engine": "openai", "url": "http://127.0.0.1:9/v1", "upstream_model": "p", "timeout_s": 1},
        },
        "cloud": {
            "provider": "anthropic",
            "model": "claude-sonnet-4-6",
            "input_usd_per_mtok": 3.0,
            "output_usd_per_mtok": 15.0,
            "base_url": "http://127.0.0.1:9",
            "api_key_file": None,
            "timeout_s": 1,
            "monthly_budget_usd": 40,
        },
        "redis": {"url": redis_url, "cache_ttl_s": 60},
        "auth": {"api_keys_file": str(tmp_path / "keys")},
        "taskwarrior": {"enabled": False, "taskrc": str(tmp_path / "rc"), "data_dir": str(tmp_path / "task")},
        "metrics": {"multiproc_dir": str(tmp_path / "metrics")},
    }
    app = create_app(config.validate(raw, env={}, source="test"))
    app.config["TESTING"] = True
    yield app
    app.extensions["hybrid_ai"].close()


def test_feedback_through_the_gateway(gateway_app, redis_url):
    from hybrid_ai.feedback import LABELS_KEY
    from hybrid_ai.service import decision_key

    client = gateway_app.test_client()
    headers = {"Authorization": f"Bearer {KEY}"}
    # the learned router is what the gateway uses for this config
    dry = client.post("/api/v1/complexity", json={"prompt": "Implement a trie in Rust with tests."}, headers=headers)
    assert dry.status_code == 200, dry.get_json()
    assert dry.get_json()["router"] == "learned"
    r = redis.Redis.from_url(redis_url, decode_responses=True)
    record = {"request_id": "abc-1", "prompt": "Pivot this sheet", "model": "tinyllama", "router": "learned"}
    r.set(decision_key("abc-1"), json.dumps(record), ex=600)
    body = {"request_id": "abc-1", "rating": "bad"}
    assert client.post("/api/v1/feedback", json=body).status_code == 401
    resp = client.post("/api/v1/feedback", json=body, headers=headers)
    assert resp.status_code == 200, resp.get_json()
    assert json.loads(r.lindex(LABELS_KEY, -1))["prompt"] == "Pivot this sheet"
    missing = client.post("/api/v1/feedback", json={"request_id": "nope", "rating": "bad"}, headers=headers)
    assert missing.status_code == 404
    r.close()
