"""POST /api/v1/feedback on a minimal Flask app with a real Redis, then `router train --redis`."""

from __future__ import annotations

import json

import pytest
import redis
from flask import Flask

from hybrid_ai.feedback import DECISION_PREFIX, LABELS_KEY, bp

from .conftest import run_cli


class _Keys:
    """Stands in for hybrid_ai.auth.ApiKeys' check(): (key id or None, message)."""

    def check(self, headers):
        return ("k1", "") if headers.get("Authorization") == "Bearer good" else (None, "wrong API key")


@pytest.fixture
def client_and_redis(redis_url):
    r = redis.Redis.from_url(redis_url, decode_responses=True)
    app = Flask(__name__)
    app.extensions["hybrid_ai"] = {"store": r, "api_keys": _Keys()}
    app.register_blueprint(bp)
    yield app.test_client(), r
    r.close()


def _decision(r, rid, **fields):
    record = {"request_id": rid, "prompt": "p", "system": None, "score": 0.1, "model": "tinyllama"}
    record.update(fields)
    r.set(DECISION_PREFIX + rid, json.dumps(record), ex=3600)


AUTH = {"Authorization": "Bearer good"}


def test_feedback_stores_the_rating(client_and_redis):
    client, r = client_and_redis
    _decision(r, "req-1", prompt="Convert this CSV to a pivot table")
    resp = client.post("/api/v1/feedback", json={"request_id": "req-1", "rating": "bad"}, headers=AUTH)
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json() == {"request_id": "req-1", "rating": "bad", "stored": True}
    assert json.loads(r.get(DECISION_PREFIX + "req-1"))["rating"] == "bad"
    assert 3500 < r.ttl(DECISION_PREFIX + "req-1") <= 3600  # the record keeps its expiry
    labels = [json.loads(x) for x in r.lrange(LABELS_KEY, 0, -1)]
    assert labels == [
        {"request_id": "req-1", "rating": "bad", "prompt": "Convert this CSV to a pivot table", "system": None,
         "model": "tinyllama", "router": None, "score": 0.1, "escalated": False, "escalations": []}
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("body", "headers", "status", "needle"),
    [
        ({"request_id": "req-1", "rating": "good"}, {}, 401, "wrong API key"),
        ("not json", AUTH, 400, "JSON object"),
        ({"rating": "good"}, AUTH, 400, "request_id"),
        ({"request_id": "req-1", "rating": "meh"}, AUTH, 400, "rating"),
        ({"request_id": "nope", "rating": "good"}, AUTH, 404, "no routing decision"),
    ],
)
def test_feedback_bad_requests(client_and_redis, body, headers, status, needle):
    client, r = client_and_redis
    _decision(r, "req-1")
    if isinstance(body, str):
        resp = client.post("/api/v1/feedback", data=body, headers={**headers, "Content-Type": "application/json"})
    else:
        resp = client.post("/api/v1/feedback", json=body, headers=headers)
    assert resp.status_code == status
    error = resp.get_json()["error"]
    assert needle in error["message"] and error["type"] and error["code"]
    assert r.llen(LABELS_KEY) == 0


def test_feedback_when_redis_is_down():
    app = Flask(__name__)
    app.extensions["hybrid_ai"] = {"store": redis.Redis(port=1, socket_connect_timeout=0.2)}
    app.register_blueprint(bp)
    resp = app.test_client().post("/api/v1/feedback", json={"request_id": "x", "rating": "good"})
    assert resp.status_code == 503 and "unavailable" in resp.get_json()["error"]["message"]


class _Store:
    def __init__(self, client):
        self.client = client


class _Gateway:
    """The shape of hybrid_ai.service.Gateway the blueprint relies on: .store.client and .keys."""

    def __init__(self, client):
        self.store = _Store(client)
        self.keys = _Keys()


def test_feedback_with_a_gateway_object(redis_url):
    r = redis.Redis.from_url(redis_url, decode_responses=True)
    app = Flask(__name__)
    app.extensions["hybrid_ai"] = _Gateway(r)
    app.register_blueprint(bp)
    _decision(r, "gw-1", escalations=[{"from": "tinyllama", "to": "cloud", "reason": "too_short"}], model="cloud")
    client = app.test_client()
    assert client.post("/api/v1/feedback", json={"request_id": "gw-1", "rating": "good"}).status_code == 401
    resp = client.post("/api/v1/feedback", json={"request_id": "gw-1", "rating": "good"}, headers=AUTH)
    assert resp.status_code == 200
    label = json.loads(r.lindex(LABELS_KEY, 0))
    assert label["escalations"][0]["reason"] == "too_short"
    r.close()


def test_train_from_redis_labels(client_and_redis, redis_url, tmp_path):
    client, r = client_and_redis
    for i in range(25):
        _decision(r, f"b{i}", prompt=f"Pivot table from the spreadsheet, sheet {i}")
        assert (
            client.post("/api/v1/feedback", json={"request_id": f"b{i}", "rating": "bad"}, headers=AUTH).status_code
            == 200
        )
        _decision(r, f"g{i}", prompt=f"Say thanks to customer number {i}")
        assert (
            client.post("/api/v1/feedback", json={"request_id": f"g{i}", "rating": "good"}, headers=AUTH).status_code
            == 200
        )
        _decision(r, f"e{i}", prompt=f"Spreadsheet pivot of quarter {i}", model="cloud",
                  escalations=[{"from": "tinyllama", "to": "cloud", "reason": "refusal"}])  # fmt: skip
        _decision(r, f"n{i}", prompt=f"Plain record {i}")  # no label: ignored
        _decision(r, f"t{i}", prompt=f"Timed out {i}", model="cloud",
                  escalations=[{"from": "tinyllama", "to": "cloud", "reason": "timeout"}])  # fmt: skip
    # a second rating of the same request replaces the first
    assert client.post("/api/v1/feedback", json={"request_id": "g0", "rating": "bad"}, headers=AUTH).status_code == 200
    out = tmp_path / "model.json"
    proc = run_cli("router", "train", "--redis", redis_url, "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    meta = json.loads(out.read_text())["meta"]
    assert meta["user_labels"] == 75 and meta["user_needs_stronger"] == 51  # outages are not labels
    words = json.loads(out.read_text())["words"]
    assert words["pivot"] > 0 and words["spreadsheet"] > 0
