"""The adaptive router's learning loop on a real Redis: labels in the store, `hybrid-ai router
train --publish` (the refit timer's command) with its guard, two gateways picking the model up
without a restart, calibrated thresholds, rollback, and the quality figures in /api/v1/stats and
/metrics."""

from __future__ import annotations

import json
import random

import pytest
import redis as redis_lib

from hybrid_ai.labels import Label, LabelStore
from hybrid_ai.store import ROUTER_QUALITY, ROUTER_VERSION
from tests.gateway.conftest import auth
from tests.router.conftest import run_cli

pytestmark = pytest.mark.integration

# Traffic where one kind of request ("invoice" questions) needs the cloud and another ("greeting")
# does not; the shipped model cannot tell them apart (same length and shape).
TOPICS = {
    "invoice": (0.0, 1.0),
    "greeting": (1.0, 1.0),
}


def _traffic(n: int, seed: int) -> list[Label]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        topic = rng.choice(sorted(TOPICS))
        local, cloud = TOPICS[topic]
        noun = rng.choice(["customer", "client", "team", "friend", "colleague"])
        prompt = f"Please write the {topic} note for my {noun}, number {i}."
        out.append(Label(prompt, local, cloud, "shadow", f"req-{seed}-{i}", judge="claude-sonnet-4-6"))
    return out


def _gateways(build_app, redis_server):
    db = 15
    url = f"redis://127.0.0.1:{redis_server.port}/{db}"
    redis_lib.Redis.from_url(url).flushdb()
    settings = {"router": "adaptive", "learning": {"quality_target": 0.95, "poll_s": 0.2, "min_labels": 50}}
    a = build_app(redis_url=url, **settings)
    b = build_app(redis_url=url, **settings)
    return a, b, redis_lib.Redis.from_url(url, decode_responses=True)


def _train(app, *extra):
    cfg = app.extensions["hybrid_ai"].cfg["_source"]
    return run_cli("router", "train", "--config", cfg, "--publish", *extra)


def _score(app, prompt):
    r = app.test_client().post("/api/v1/complexity", json={"prompt": prompt}, headers=auth())
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def test_refit_publishes_to_every_gateway_and_rolls_back(build_app, redis_server, tmp_path):
    a, b, db = _gateways(build_app, redis_server)
    for i, app in enumerate((a, b)):  # the CLI reads the config file each test app was built from
        app.extensions["hybrid_ai"].cfg["_source"] = str(tmp_path / f"app{i}" / "gateway.yml")
    store = LabelStore(db)

    # too few labels: nothing published, the shipped model routes
    for lab in _traffic(20, seed=1):
        store.add(lab)
    out = _train(a)
    assert out.returncode == 0, out.stderr
    assert "fewer than the 50" in out.stdout and db.get(ROUTER_VERSION) is None
    before = _score(a, "Please write the invoice note for my team, number 7.")
    assert before["router"] == "adaptive"

    for lab in _traffic(380, seed=2):
        store.add(lab)
    out = _train(a, "--json")
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout.strip().splitlines()[-1])
    assert summary["published"] is True, summary
    assert summary["holdout"]["candidate_apgr"] > summary["holdout"]["live_apgr"]
    version = db.get(ROUTER_VERSION)
    assert version

    # both gateways pick it up without a restart; invoices now score above greetings
    for app in (a, b):
        gw = app.extensions["hybrid_ai"]
        gw.watcher.check()  # the poll each gateway runs every poll_s, run now
        assert gw.live.version == version
        inv = _score(app, "Please write the invoice note for my neighbour, number 901.")
        greet = _score(app, "Please write the greeting note for my neighbour, number 902.")
        assert inv["score"] > greet["score"], (inv, greet)
        # thresholds from the quality target: the greeting stays local, the invoice goes up
        assert greet["model"] == "tinyllama" and inv["model"] == "cloud", (greet, inv)
        assert inv["ladder"] != app.extensions["hybrid_ai"].cfg["ladder"]

    # quality in stats and metrics, the same through either gateway
    qa = a.test_client().get("/api/v1/stats", headers=auth()).get_json()["quality"]
    qb = b.test_client().get("/api/v1/stats", headers=auth()).get_json()["quality"]
    assert qa["estimate"] == qb["estimate"] and qa["estimate"]["labels"] == 400
    est = qa["estimate"]
    assert est["low"] <= est["ratio"] <= est["high"] and est["low"] >= 0.95
    assert qa["labels_by_source"]["shadow"] == 400 and qa["model_version"] == version
    metrics = a.test_client().get("/metrics").get_data(as_text=True)
    assert f"api_gateway_quality_ratio {est['ratio']}" in metrics
    assert 'api_gateway_labels{source="shadow"} 400.0' in metrics
    assert "api_gateway_quality_target 0.95" in metrics

    # a refit that cannot beat the live model (no new signal) keeps it
    out = _train(a, "--json")
    assert out.returncode == 0, out.stderr
    again = json.loads(out.stdout.strip().splitlines()[-1])
    assert again["published"] is False and "live model stays" in again["reason"], again
    assert db.get(ROUTER_VERSION) == version
    assert json.loads(db.get(ROUTER_QUALITY))["model_version"] == version

    # rollback: the previous state had no model, so there is nothing to roll back to yet
    out = run_cli("router", "rollback", "--config", a.extensions["hybrid_ai"].cfg["_source"])
    assert out.returncode == 2 and "no previous router model" in out.stderr


def test_rollback_puts_the_previous_model_back_on_every_gateway(build_app, redis_server, tmp_path):
    from hybrid_ai.router import adaptive, publish

    a, b, db = _gateways(build_app, redis_server)
    labels = _traffic(200, seed=3)
    first, _ = adaptive.fit(publish.examples(labels), version="first")
    second, _ = adaptive.fit(publish.examples(labels[:120]), version="second")
    for m in (first, second):
        publish.publish(db, publish.Outcome(labels=len(labels), model=m, reason="test"), target=0.95)
    assert db.get(ROUTER_VERSION) == "second"
    for app in (a, b):
        app.extensions["hybrid_ai"].watcher.check()
        assert app.extensions["hybrid_ai"].live.version == "second"
    assert publish.rollback(db) == "first"
    for app in (a, b):
        app.extensions["hybrid_ai"].watcher.check()
        assert app.extensions["hybrid_ai"].live.version == "first"
    # a model blob that cannot be read is not applied: the gateways keep routing with "first"
    db.set("hai:router:model", "not a model")
    db.set(ROUTER_VERSION, "broken")
    for app in (a, b):
        gw = app.extensions["hybrid_ai"]
        assert gw.watcher.check() is False and gw.live.version == "first"
        assert _score(app, "Hello there")["router"] == "adaptive"
