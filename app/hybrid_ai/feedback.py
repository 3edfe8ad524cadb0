"""`POST /api/v1/feedback {"request_id": "...", "rating": "good"|"bad"}`: the user's verdict on
an answer, stored as a routing label for `hybrid-ai router train`.

The gateway keeps each routing decision in Redis as JSON under `hai:decision:<request id>`
({request_id, score, router, model, escalations, ... and, for training, prompt and system}).
A rating is added to that record and appended to the list `hai:router:labels` (kept without
TTL, last LABELS_MAX entries), which `hybrid-ai router train --redis URL` reads together with
the decisions that a cascade escalated.

The blueprint finds the gateway in `current_app.extensions["hybrid_ai"]`: an object with
`store` (hybrid_ai.store.Store, or a redis client) and `keys` (hybrid_ai.auth.ApiKeys: the
same Bearer keys as the rest of the API), or a dict with "store" and "api_keys".
Error bodies have the gateway's shape: {"error": {"message", "type", "code", "param"}}.
"""

from __future__ import annotations

import json
from typing import Any

import redis
from flask import Blueprint, current_app, jsonify, request

from hybrid_ai.labels import LABELS_MAX, from_row
from hybrid_ai.store import LABEL_SOURCES, PREFIX
from hybrid_ai.store import LABELS as LABELS_KEY

DECISION_PREFIX = PREFIX + "decision:"
RATINGS = ("good", "bad")

bp = Blueprint("hybrid_ai_feedback", __name__)


_TYPES = {400: "invalid_request_error", 401: "authentication_error", 404: "not_found_error"}


def _error(status: int, message: str, code: str, param: str | None = None) -> Any:
    kind = _TYPES.get(status, "service_unavailable")
    return jsonify({"error": {"message": message, "type": kind, "code": code, "param": param}}), status


def _deps() -> tuple[Any, Any]:
    """(store, api keys) from the gateway object or a plain dict."""
    found = current_app.extensions.get("hybrid_ai")
    if isinstance(found, dict):
        return found.get("store"), found.get("api_keys")
    return getattr(found, "store", None), getattr(found, "keys", None)


@bp.post("/api/v1/feedback")
def feedback() -> Any:
    store, keys = _deps()
    if keys is not None:
        kid, message = keys.check(request.headers)
        if kid is None:
            return _error(401, message or "missing or wrong API key (Authorization: Bearer KEY)", "unauthorized")
    try:
        body = request.get_json(silent=True)
    except RecursionError:  # thousands of nested brackets
        return _error(400, "body is nested too deeply: send a flat JSON object", "invalid_json")
    if not isinstance(body, dict):
        return _error(400, 'send a JSON object: {"request_id": "...", "rating": "good" | "bad"}', "invalid_json")
    rid, rating = body.get("request_id"), body.get("rating")
    if not isinstance(rid, str) or not rid.strip() or len(rid) > 200:
        msg = '"request_id" must be the non-empty id the gateway returned (at most 200 characters)'
        return _error(400, msg, "invalid_value", "request_id")
    if rating not in RATINGS:
        return _error(400, f'"rating" must be one of {list(RATINGS)}', "invalid_value", "rating")
    client = store if isinstance(store, redis.Redis) or store is None else getattr(store, "client", None)
    if client is None:
        return _error(503, "feedback needs Redis, which this gateway has not configured", "no_store")
    key = DECISION_PREFIX + rid
    try:
        raw = client.get(key)
        if raw is None:
            msg = f"no routing decision recorded for request {rid!r} (unknown or expired)"
            return _error(404, msg, "unknown_request", "request_id")
        record = json.loads(raw)
        if not isinstance(record, dict):
            return _error(404, f"the decision record for request {rid!r} is unreadable", "unknown_request")
        record["rating"] = rating
        label = {
            "request_id": rid,
            "rating": rating,
            "prompt": record.get("prompt"),
            "system": record.get("system"),
            "model": record.get("model"),
            "router": record.get("router"),
            "score": record.get("score"),
            "escalated": bool(record.get("escalated")),
            "escalations": record.get("escalations") or [],
        }
        pipe = client.pipeline()
        pipe.set(key, json.dumps(record), keepttl=True)
        pipe.rpush(LABELS_KEY, json.dumps(label))
        pipe.ltrim(LABELS_KEY, -LABELS_MAX, -1)
        parsed = from_row(label)
        if parsed is not None:  # a rating of a local answer: a routing label
            pipe.hincrby(LABEL_SOURCES, parsed.source, 1)
        pipe.execute()
    except (redis.RedisError, OSError, ValueError) as exc:  # Redis down or bad record: say so, never a 500
        return _error(503, f"feedback store unavailable ({type(exc).__name__}); try again later", "store_down")
    return jsonify({"request_id": rid, "rating": rating, "stored": True})
