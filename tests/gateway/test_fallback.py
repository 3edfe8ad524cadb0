"""The gateway never falls over because a dependency did: each one is stopped mid-run."""

from __future__ import annotations

import json

import pytest

from tests.gateway.conftest import auth
from tests.gateway.test_api import HARD, SIMPLE, post
from tests.servers import LlamaServer, RedisServer

pytestmark = pytest.mark.integration


def chat(client, prompt, **kw):
    r = post(client, "/api/v1/chat", {"prompt": prompt, "max_tokens": 4, **kw})
    return r, r.get_json()


def test_redis_killed_mid_run_still_serves_uncached(build_app, workdir):
    srv = RedisServer(workdir / "redis-kill").start()
    try:
        app = build_app(redis_url=srv.url)
        client = app.test_client()
        r, first = chat(client, SIMPLE + " redis")
        assert r.status_code == 200 and first["cached"] is False
        r, again = chat(client, SIMPLE + " redis")
        assert again["cached"] is True
        assert client.get("/api/v1/stats", headers=auth()).get_json()["requests"] == 2  # written to Redis
        srv.kill()  # SIGKILL by PID, mid-run: what Redis held is gone
        r, body = chat(client, SIMPLE + " redis")
        assert r.status_code == 200, r.get_data(as_text=True)
        assert body["cached"] is False and body["model"] == "tinyllama"
        assert r.headers["X-Cache"] == "error"
        health = client.get("/health").get_json()
        assert health["dependencies"]["redis"]["up"] is False and health["status"] == "degraded"
        stats = client.get("/api/v1/stats", headers=auth()).get_json()
        assert stats["complete"] is False and stats["requests"] >= 1  # this worker's unsynced figures
        metrics = client.get("/metrics").get_data(as_text=True)
        assert 'api_gateway_cache_total{result="error"}' in metrics
        # Redis comes back on the same port: the unsynced counts are added to it
        srv2 = RedisServer(workdir / "redis-kill", port=srv.port).start()
        try:
            import time

            time.sleep(1.1)  # the breaker retries Redis after a second
            stats = client.get("/api/v1/stats", headers=auth()).get_json()
            assert stats["complete"] is True and stats["requests"] == 1
        finally:
            srv2.stop()
    finally:
        srv.stop()


def test_local_model_killed_goes_to_next_rung_then_cloud(build_app, workdir, llama, cloud):
    own = LlamaServer(workdir / "llama-kill").start()
    try:
        app = build_app(models__tinyllama__url=own.url)
        client = app.test_client()
        r, body = chat(client, SIMPLE + " local-kill")
        assert body["model"] == "tinyllama" and body["escalations"] == []
        own.kill()
        r, body = chat(client, SIMPLE + " local-kill-2")
        assert r.status_code == 200, r.get_data(as_text=True)
        assert body["model"] == "phi-2" and body["chosen_model"] == "tinyllama" and body["degraded"] is False
        assert body["escalations"] == [{"from": "tinyllama", "to": "phi-2", "reason": "unreachable"}]
        metrics = client.get("/metrics").get_data(as_text=True)
        assert 'api_gateway_fallbacks_total{from_model="tinyllama",reason="unreachable",to_model="phi-2"}' in metrics
        assert client.get("/health").get_json()["dependencies"]["tinyllama"]["up"] is False
    finally:
        own.stop()


def test_all_local_down_goes_to_cloud_and_all_down_is_503(build_app, cloud):
    dead = "http://127.0.0.1:9/v1"
    client = build_app(models__tinyllama__url=dead, **{"models__phi-2__url": dead}).test_client()
    r, body = chat(client, SIMPLE + " all-local-down")
    assert r.status_code == 200 and body["model"] == "cloud" and body["cost_usd"] > 0
    assert [e["to"] for e in body["escalations"]] == ["phi-2", "cloud"]
    cloud.mode = "500"
    r, body = chat(client, SIMPLE + " everything-down")
    assert r.status_code == 503
    err = body["error"]
    assert err["code"] == "backends_unavailable" and "tinyllama" in err["message"] and "cloud" in err["message"]
    assert r.headers["Retry-After"]


@pytest.mark.parametrize("mode", ["429", "500", "overloaded"])
def test_cloud_errors_degrade_to_best_local(build_app, cloud, mode):
    client = build_app().test_client()
    cloud.mode = mode
    calls = cloud.calls
    r, body = chat(client, HARD + f" cloud-{mode}")
    assert r.status_code == 200, r.get_data(as_text=True)
    assert body["chosen_model"] == "cloud" and body["model"] == "phi-2"
    assert body["degraded"] is True and r.headers["X-Degraded"] == body["degraded_reason"]
    assert body["degraded_reason"] == ("rate_limited" if mode == "429" else "error")
    assert body["cost_usd"] == 0.0
    # 429: no retry (fall back now); 5xx/overloaded: one retry, nothing was answered
    assert cloud.calls - calls == (1 if mode == "429" else 2)
    # a degraded answer is not cached: the next identical request tries the cloud again
    cloud.mode = "ok"
    r, body = chat(client, HARD + f" cloud-{mode}")
    assert body["model"] == "cloud" and body["degraded"] is False


def test_no_cloud_key_degrades_without_calling(build_app, cloud):
    client = build_app(api_key=None).test_client()
    calls = cloud.calls
    r, body = chat(client, HARD + " nokey")
    assert r.status_code == 200 and body["model"] == "phi-2"
    assert body["degraded"] is True and body["degraded_reason"] == "no_key"
    assert cloud.calls == calls
    assert client.get("/health").get_json()["dependencies"]["cloud"]["up"] is False


def test_budget_spent_degrades(build_app, cloud):
    client = build_app(cloud__monthly_budget_usd=0.0001).test_client()
    _, body = chat(client, HARD + " budget-1", max_tokens=20)
    assert body["model"] == "cloud" and body["cost_usd"] > 0
    spent = body["cost_usd"]
    n = 1
    while spent < 0.0001 and n < 20:
        _r, body = chat(client, HARD + f" budget-{n + 1}", max_tokens=20)
        spent += body["cost_usd"]
        n += 1
    calls = cloud.calls
    _, body = chat(client, HARD + " budget-over")
    assert body["degraded"] is True and body["degraded_reason"] == "budget" and body["model"] == "phi-2"
    assert cloud.calls == calls
    stats = client.get("/api/v1/stats", headers=auth()).get_json()
    assert stats["budget_left_usd"] == 0.0 and stats["degraded"] == 1
    metrics = client.get("/metrics").get_data(as_text=True)
    assert "api_gateway_budget_spent_usd" in metrics


STORY = "Write a long story about a dragon"


def test_cascade_escalates_on_cheap_checks(build_app, cloud):
    client = build_app(cascade__enabled=True).test_client()
    calls = cloud.calls
    # 2 tokens: every local answer is truncated, so the cascade climbs to the cloud
    r, body = chat(client, STORY + " cascade", max_tokens=2, temperature=0)
    assert r.status_code == 200
    assert [e["reason"] for e in body["escalations"]] == ["truncated", "truncated"]
    assert [e["to"] for e in body["escalations"]] == ["phi-2", "cloud"]
    assert body["model"] == "cloud" and cloud.calls == calls + 1
    # the cloud refuses to help: the best local answer is served, degraded
    cloud.mode = "429"
    r, body = chat(client, STORY + " cascade-2", max_tokens=2, temperature=0)
    assert r.status_code == 200 and body["model"] == "phi-2" and body["degraded"] is True
    decision = app_decision(client, r.headers["X-Request-ID"])
    assert decision["escalations"][-1] == {"from": "cloud", "to": "phi-2", "reason": "rate_limited"}
    assert decision["degraded"] is True and decision["model"] == "phi-2"


def app_decision(client, rid):
    from hybrid_ai.service import decision_key

    gateway = client.application.extensions["hybrid_ai"]
    gateway.stats.flush()  # records are written in batches, at most ~20 ms after the reply
    return json.loads(gateway.store.client.get(decision_key(rid)))


def test_streaming_falls_back_before_the_first_token(build_app, cloud):
    client = build_app(models__tinyllama__url="http://127.0.0.1:9/v1").test_client()
    r = post(
        client,
        "/v1/chat/completions",
        {
            "model": "tinyllama",
            "max_tokens": 4,
            "stream": True,
            "messages": [{"role": "user", "content": "Hi"}],
        },
    )
    assert r.status_code == 200 and r.headers["X-Model"] == "phi-2"
    data = [ln[6:] for ln in r.get_data(as_text=True).splitlines() if ln.startswith("data: ")]
    assert data[-1] == "[DONE]" and json.loads(data[-2])["hybrid_ai"]["escalations"][0]["reason"] == "unreachable"
    cloud.mode = "429"
    r = post(
        client,
        "/v1/chat/completions",
        {
            "model": "cloud",
            "max_tokens": 4,
            "stream": True,
            "messages": [{"role": "user", "content": "Hi"}],
        },
    )
    assert r.status_code == 200 and r.headers["X-Degraded"] == "rate_limited" and r.headers["X-Model"] == "phi-2"
