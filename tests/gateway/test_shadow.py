"""Shadow judgements against real servers: Redis, the llama.cpp server with the small GGUF model,
and the Anthropic stand-in answering both as the cloud and as the judge. Each test reads what
the stand-in received (calls counted) and what landed in Redis."""

from __future__ import annotations

import json
import time

import pytest
import redis as redis_lib

from hybrid_ai.store import LABELS, SHADOW_INFLIGHT, SHADOW_STATS, shadow_day_key
from tests.gateway.conftest import KEYS, auth

pytestmark = pytest.mark.integration

SIMPLE = {"prompt": "Say hi in French", "max_tokens": 8, "temperature": 0}


def _on(**extra):
    return {"shadow": {"enabled": True, "rate": 1.0, "daily_budget_usd": 1.0, "max_concurrent": 2, **extra}}


def _app(build_app, **shadow):
    app = build_app(**_on(**shadow))
    gw = app.extensions["hybrid_ai"]
    return app, gw, redis_lib.Redis.from_url(gw.store.url, decode_responses=True)


def _ask(app, body=SIMPLE, **headers):
    with app.test_client() as c:
        r = c.post("/api/v1/chat", json=body, headers=auth(**headers))
        body = r.get_json()
        r.close()  # runs the bookkeeping that follows the reply (where the shadow starts)
    return r, body


def _labels(db):
    return [json.loads(x) for x in db.lrange(LABELS, 0, -1)]


def test_a_local_answer_is_judged_against_the_cloud_in_both_orders(build_app, cloud):
    app, gw, db = _app(build_app)
    before_calls, before_judge = cloud.calls, cloud.judge_calls
    r, body = _ask(app)
    assert r.status_code == 200 and body["model"] == "tinyllama", body
    gw.shadow.join(60)
    labels = _labels(db)
    assert len(labels) == 1, labels
    lab = labels[0]
    # the stand-in judge prefers its own (cloud) answer in both positions: local worse twice
    assert lab["source"] == "shadow" and lab["local"] == 0.0 and lab["cloud"] == 1.0, lab
    assert lab["judge"] == "claude-sonnet-4-6" and lab["judge_version"], lab
    assert lab["prompt"] == SIMPLE["prompt"] and lab["request_id"] == body["request_id"]
    assert lab["model"] == "tinyllama" and lab["cost_usd"] > 0
    # one cloud answer + two judge calls (one per order)
    assert cloud.calls - before_calls == 3 and cloud.judge_calls - before_judge == 2
    stats = {k: float(v) for k, v in db.hgetall(SHADOW_STATS).items()}
    assert stats["labels"] == 1 and stats["calls"] == 1 and abs(stats["cost_usd"] - lab["cost_usd"]) < 1e-9
    # the day's reservation is corrected to the real cost; users' spend is untouched
    assert abs(float(db.get(shadow_day_key(time.strftime("%Y-%m-%d", time.gmtime())))) - lab["cost_usd"]) < 1e-9
    assert gw.stats.month_cloud_cost() == 0.0
    assert db.zcard(SHADOW_INFLIGHT) == 0
    quality = app.test_client().get("/api/v1/stats", headers=auth()).get_json()["quality"]
    assert quality["labels_by_source"]["shadow"] == 1 and quality["shadow"]["labels"] == 1


def test_a_tie_in_one_order_and_a_loss_in_the_other_is_half(build_app, cloud):
    app, gw, db = _app(build_app)
    cloud.verdict = "A"  # always the first answer: local first, then cloud first
    try:
        _ask(app)
        gw.shadow.join(60)
    finally:
        cloud.verdict = None
    (lab,) = _labels(db)
    assert lab["local"] == 0.5, lab  # position bias cancels out: one win, one loss


def test_a_cloud_answer_is_judged_against_the_cheapest_local_rung(build_app, cloud):
    app, gw, db = _app(build_app)
    cloud.verdict = "TIE"
    try:
        _r, body = _ask(app, {"prompt": "Explain", "model": "cloud", "max_tokens": 16})
        gw.shadow.join(60)
    finally:
        cloud.verdict = None
    assert body["model"] == "cloud"
    (lab,) = _labels(db)
    assert lab["model"] == "tinyllama" and lab["local"] == 1.0, lab  # a tie: as good as the cloud


def test_opt_out_by_header_and_by_key_and_cache_hits_are_never_shadowed(build_app, cloud):
    from hybrid_ai.auth import key_id

    app, gw, db = _app(build_app, exclude_keys=[key_id(KEYS[1])])
    before = cloud.calls
    r, _ = _ask(app, **{"X-Hybrid-No-Shadow": "1"})
    assert r.status_code == 200
    with app.test_client() as c:
        c.post("/api/v1/chat", json=SIMPLE, headers=auth(KEYS[1])).close()
    gw.shadow.join(30)
    assert cloud.calls == before and _labels(db) == []
    # the first shadowed request labels; its cache hit does not
    _ask(app, {**SIMPLE, "prompt": "Say bye in French"})
    gw.shadow.join(60)
    _ask(app, {**SIMPLE, "prompt": "Say bye in French"})
    gw.shadow.join(30)
    assert len(_labels(db)) == 1


def test_the_daily_budget_is_never_exceeded(build_app, cloud):
    """A budget for a few judgements: requests beyond it are skipped before any call, and the
    day's spend (counted from the stand-in's token usage) stays under the budget."""
    app, gw, db = _app(build_app, daily_budget_usd=0.008, max_concurrent=4)
    before = cloud.calls
    for i in range(8):
        _ask(app, {**SIMPLE, "prompt": f"Say hi in French, number {i}"})
        gw.shadow.join(60)
    stats = {k: float(v) for k, v in db.hgetall(SHADOW_STATS).items()}
    spent = float(db.get(shadow_day_key(time.strftime("%Y-%m-%d", time.gmtime()))) or 0)
    labels = _labels(db)
    assert stats.get("skipped_budget", 0) >= 1, stats
    assert 1 <= len(labels) < 8
    assert spent <= 0.008 + 1e-12
    assert abs(spent - sum(lab["cost_usd"] for lab in labels)) < 1e-9
    # three cloud calls per judgement and none for a skipped one
    assert cloud.calls - before == 3 * len(labels)


def test_a_failing_cloud_never_changes_the_users_reply(build_app, cloud):
    app, gw, db = _app(build_app)
    cloud.mode = "500"
    r, body = _ask(app)
    gw.shadow.join(60)
    assert r.status_code == 200 and body["model"] == "tinyllama" and body["response"] is not None
    assert _labels(db) == []
    assert int(db.hget(SHADOW_STATS, "failures")) == 1


def test_concurrent_shadow_jobs_are_capped_fleet_wide(build_app, cloud):
    app, gw, db = _app(build_app, max_concurrent=1)
    db.zadd(SHADOW_INFLIGHT, {"another-gateways-job": time.time()})  # a job running elsewhere
    before = cloud.calls
    _ask(app)
    gw.shadow.join(30)
    assert cloud.calls == before and int(db.hget(SHADOW_STATS, "skipped_busy")) == 1
    db.zadd(SHADOW_INFLIGHT, {"another-gateways-job": time.time() - 3600})  # a stale lease is dropped
    _ask(app, {**SIMPLE, "prompt": "Say thanks in French"})
    gw.shadow.join(60)
    assert len(_labels(db)) == 1


def test_shadowing_is_off_by_default(build_app, cloud):
    app = build_app()
    gw = app.extensions["hybrid_ai"]
    before = cloud.calls
    _ask(app)
    gw.shadow.join(10)
    assert cloud.calls == before
    assert gw.shadow.settings.enabled is False
