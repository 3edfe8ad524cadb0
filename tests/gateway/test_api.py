"""Every endpoint of the gateway in-process (Flask's client) against real Redis, a real
llama.cpp server and the Anthropic stand-in."""

from __future__ import annotations

import json

import pytest

from tests.gateway.conftest import KEYS, auth

pytestmark = pytest.mark.integration

SIMPLE = "Say hi"
HARD = (
    "Analyze and compare the trade-offs of this architecture, evaluate the implications step by step, "
    "design a comprehensive strategy and explain why.\n```\ndef f(x):\n    return x\n```"
)


def fresh_minute(margin_s: float = 15.0) -> None:
    """The rate limit counts per clock minute: start a rate-limit test early in one, so its few
    requests cannot straddle a window boundary (waits at most margin_s)."""
    import time

    left = 60 - time.time() % 60
    if left < margin_s:
        time.sleep(left + 0.05)


def post(client, path, body, headers=None, **kw):
    """buffered: the response is closed at once, as a server does after sending it, which runs
    the gateway's after-reply bookkeeping (stats, cache write, decision record)."""
    return client.post(
        path, data=json.dumps(body), headers=headers or auth(), content_type="application/json", buffered=True, **kw
    )


@pytest.fixture
def app(build_app):
    return build_app()


@pytest.fixture
def client(app):
    return app.test_client()


def test_health_needs_no_key_and_lists_dependencies(client):
    r = client.get("/health")
    assert r.status_code == 200
    body = r.get_json()
    assert body["status"] == "ok"
    assert set(body["dependencies"]) >= {"redis", "tinyllama", "phi-2", "cloud"}
    assert body["dependencies"]["redis"]["up"] is True
    assert r.headers["X-Request-ID"]


def test_simple_prompt_goes_to_the_first_local_rung(client):
    r = post(client, "/api/v1/chat", {"prompt": SIMPLE, "max_tokens": 8}, auth(**{"X-Request-ID": "req-simple-1"}))
    assert r.status_code == 200, r.get_data(as_text=True)
    body = r.get_json()
    assert body["model"] == "tinyllama" and body["backend"] == "openai" and body["chosen_model"] == "tinyllama"
    assert body["request_id"] == "req-simple-1" == r.headers["X-Request-ID"]
    assert body["usage"]["input_tokens"] > 0 and 0 < body["usage"]["output_tokens"] <= 8
    assert body["cost_usd"] == 0.0
    expected = (body["usage"]["input_tokens"] * 3.0 + body["usage"]["output_tokens"] * 15.0) / 1e6
    assert body["cloud_equivalent_usd"] == pytest.approx(expected)
    assert body["degraded"] is False and body["cached"] is False


def test_complex_prompt_goes_to_the_cloud_and_is_billed(client, cloud):
    before = cloud.calls
    r = post(client, "/api/v1/chat", {"prompt": HARD, "max_tokens": 20, "system": "Be brief."})
    assert r.status_code == 200, r.get_data(as_text=True)
    body = r.get_json()
    assert body["model"] == "cloud" and body["backend"] == "anthropic"
    assert body["upstream_model"] == "claude-sonnet-4-6"
    assert cloud.calls == before + 1
    assert cloud.last_request["system"] == "Be brief."
    assert cloud.last_request["model"] == "claude-sonnet-4-6"
    u = body["usage"]
    assert body["cost_usd"] == pytest.approx((u["input_tokens"] * 3.0 + u["output_tokens"] * 15.0) / 1e6)
    assert body["cost_usd"] > 0
    assert body["response"].startswith("This is the cloud answer")


def test_explicit_model_by_name_and_by_cloud_model_name(client):
    r = post(client, "/api/v1/chat", {"prompt": HARD, "model": "phi-2", "max_tokens": 4})
    assert r.status_code == 200 and r.get_json()["model"] == "phi-2"
    r = post(client, "/api/v1/chat", {"prompt": SIMPLE, "model": "claude-sonnet-4-6", "max_tokens": 4})
    assert r.status_code == 200 and r.get_json()["model"] == "cloud"


def test_complexity_is_a_dry_run(client, cloud):
    before = cloud.calls
    r = post(client, "/api/v1/complexity", {"prompt": HARD, "max_tokens": 50})
    assert r.status_code == 200
    body = r.get_json()
    assert body["model"] == "cloud" and 0.6 <= body["score"] <= 1.0
    assert set(body["factors"]) == {"length", "keywords", "code"}
    assert body["estimated_cost_usd"] > 0 and body["estimated_cost_usd"] == body["estimated_cloud_cost_usd"]
    assert cloud.calls == before
    r = post(client, "/api/v1/complexity", {"prompt": SIMPLE})
    assert r.get_json()["model"] == "tinyllama" and r.get_json()["estimated_cost_usd"] == 0.0


def test_models_endpoints(client):
    body = client.get("/api/v1/models", headers=auth()).get_json()
    ids = [m["id"] for m in body["models"]]
    assert ids == ["auto", "tinyllama", "phi-2", "cloud", "claude-sonnet-4-6"]
    oa = client.get("/v1/models", headers=auth()).get_json()
    assert oa["object"] == "list" and [m["id"] for m in oa["data"]] == ids


def test_cache_hit_costs_nothing_and_is_counted(client, cloud):
    body = {"prompt": HARD + " cache test", "max_tokens": 12}
    first = post(client, "/api/v1/chat", body).get_json()
    calls = cloud.calls
    second = post(client, "/api/v1/chat", {**body, "prompt": "  " + body["prompt"].replace(" ", "  ") + " "})
    hit = second.get_json()
    assert second.headers["X-Cache"] == "hit"
    assert hit["cached"] is True and hit["backend"] == "cache" and hit["cost_usd"] == 0.0
    assert hit["response"] == first["response"] and hit["model"] == "cloud"
    assert hit["cloud_equivalent_usd"] == pytest.approx(first["cost_usd"])
    assert cloud.calls == calls
    bypass = post(client, "/api/v1/chat", body, auth(**{"Cache-Control": "no-cache"})).get_json()
    assert bypass["cached"] is False and cloud.calls == calls + 1
    bypass2 = post(client, "/api/v1/chat", body, auth(**{"X-Cache-Bypass": "1"})).get_json()
    assert bypass2["cached"] is False and cloud.calls == calls + 2
    stats = client.get("/api/v1/stats", headers=auth()).get_json()
    assert stats["cache_hits"] == 1 and stats["cache_misses"] == 1 and stats["cache_bypass"] == 2
    assert stats["requests"] == 4 and stats["cache_hit_rate"] == 0.5
    assert stats["cost_usd"] == pytest.approx(first["cost_usd"] + bypass["cost_usd"] + bypass2["cost_usd"])
    metrics = client.get("/metrics").get_data(as_text=True)
    assert 'api_gateway_cache_total{result="hit"}' in metrics


def test_stats_add_up_by_model(client):
    post(client, "/api/v1/chat", {"prompt": SIMPLE + " stats", "max_tokens": 4})
    post(client, "/api/v1/chat", {"prompt": HARD + " stats", "max_tokens": 4})
    s = client.get("/api/v1/stats", headers=auth()).get_json()
    assert s["complete"] is True and s["requests"] == 2
    assert set(s["by_model"]) == {"tinyllama", "cloud"}
    assert s["cost_usd"] == pytest.approx(s["by_model"]["cloud"]["cost_usd"])
    assert s["savings_usd"] == pytest.approx(s["by_model"]["tinyllama"]["cloud_equivalent_usd"])
    assert s["month_cloud_cost_usd"] == pytest.approx(s["cost_usd"])
    assert s["monthly_budget_usd"] == 40


def test_decision_record_is_stored_under_the_request_id(app, client):
    r = post(client, "/api/v1/chat", {"prompt": SIMPLE + " decision", "max_tokens": 4})
    rid = r.headers["X-Request-ID"]
    from hybrid_ai.service import DECISION_TTL_S, decision_key

    store = app.extensions["hybrid_ai"].store
    app.extensions["hybrid_ai"].stats.flush()  # written in batches, at most ~20 ms after the reply
    raw = store.client.get(decision_key(rid))
    record = json.loads(raw)
    assert record["request_id"] == rid and record["model"] == "tinyllama" and record["chosen_model"] == "tinyllama"
    assert record["score"] == r.get_json()["complexity"] and len(record["prompt_sha256"]) == 64
    assert 0 < store.client.ttl(decision_key(rid)) <= DECISION_TTL_S


def test_feedback_on_real_traffic_trains_the_router(app, client, tmp_path):
    """A real answer, rated bad, becomes a label that `hybrid-ai router train --redis` learns from."""
    import subprocess
    import sys

    from hybrid_ai.feedback import LABELS_KEY
    from hybrid_ai.service import decision_key

    gw = app.extensions["hybrid_ai"]
    rids = []
    for i in range(3):
        r = post(client, "/api/v1/chat", {"prompt": f"Reformat invoice ledger {i}", "max_tokens": 4})
        assert r.status_code == 200, r.get_json()
        rids.append(r.headers["X-Request-ID"])
    gw.stats.flush()
    record = json.loads(gw.store.client.get(decision_key(rids[0])))
    assert record["prompt"] == "Reformat invoice ledger 0"  # kept so traffic can train the router
    for rid in rids:
        fb = post(client, "/api/v1/feedback", {"request_id": rid, "rating": "bad"})
        assert fb.status_code == 200, fb.get_json()
    assert gw.store.client.llen(LABELS_KEY) == 3
    url = gw.cfg["redis"]["url"]
    out = tmp_path / "model.json"
    done = subprocess.run(
        [sys.executable, "-m", "hybrid_ai.cli", "router", "train", "--redis", url, "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "+ 3 user labels (3 'needs stronger')" in done.stdout, done.stdout
    assert "carry no prompt text" not in done.stdout and out.is_file()


def test_learned_router_routes_through_the_gateway(build_app, cloud):
    """router: learned (the model fitted on public outcomes) in the real gateway: a chat request is
    answered by the local llama.cpp server, a multi-step word problem by the cloud, and the
    response names the router and its factors."""
    from hybrid_ai.router.learned_model import MODEL

    app = build_app(router="learned")
    client = app.test_client()
    chat = post(client, "/api/v1/chat", {"prompt": "Write a friendly two-line hello to my team.", "max_tokens": 8})
    assert chat.status_code == 200, chat.get_json()
    assert chat.get_json()["model"] == "tinyllama" and chat.get_json()["backend"] == "openai"
    calls = cloud.calls
    hard = (
        "A train leaves at 3 pm at 60 km/h and a second leaves the same station at 4 pm at 90 km/h. "
        "If the first stops for 20 minutes every 100 km, how many kilometres from the station, and at "
        "what time, does the second catch up? Calculate step by step and prove the answer is unique."
    )
    r = post(client, "/api/v1/chat", {"prompt": hard, "max_tokens": 8})
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["model"] == "cloud" and cloud.calls == calls + 1
    dry = post(client, "/api/v1/complexity", {"prompt": hard}).get_json()
    assert dry["router"] == "learned" and dry["score"] >= 0.6
    assert set(dry["factors"]) <= set(MODEL["weights"]) | {"words"} and dry["factors"]


def test_decision_record_can_leave_the_prompt_out(build_app):
    app = build_app(decisions={"keep_prompts": False})
    r = post(app.test_client(), "/api/v1/chat", {"prompt": SIMPLE + " private", "max_tokens": 4})
    gw = app.extensions["hybrid_ai"]
    gw.stats.flush()
    from hybrid_ai.service import decision_key

    record = json.loads(gw.store.client.get(decision_key(r.headers["X-Request-ID"])))
    assert "prompt" not in record and len(record["prompt_sha256"]) == 64


def test_openai_completion_non_streaming(client):
    r = post(
        client,
        "/v1/chat/completions",
        {
            "model": "auto",
            "max_tokens": 6,
            "messages": [
                {"role": "system", "content": "Be terse."},
                {"role": "user", "content": [{"type": "text", "text": "Hi"}]},
            ],
        },
    )
    assert r.status_code == 200, r.get_data(as_text=True)
    body = r.get_json()
    assert body["object"] == "chat.completion" and body["model"] == "tinyllama"
    assert body["choices"][0]["message"]["role"] == "assistant"
    assert body["usage"]["total_tokens"] == body["usage"]["prompt_tokens"] + body["usage"]["completion_tokens"]
    assert body["id"] == "chatcmpl-" + r.headers["X-Request-ID"]


def test_openai_streaming_sse(client):
    r = post(
        client,
        "/v1/chat/completions",
        {
            "model": "cloud",
            "max_tokens": 5,
            "stream": True,
            "stream_options": {"include_usage": True},
            "messages": [{"role": "user", "content": "Hello there"}],
        },
    )
    assert r.status_code == 200 and r.mimetype == "text/event-stream"
    lines = [ln[6:] for ln in r.get_data(as_text=True).splitlines() if ln.startswith("data: ")]
    assert lines[-1] == "[DONE]"
    chunks = [json.loads(x) for x in lines[:-1]]
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"])
    assert text == "This is the cloud answer:"
    usage = [c for c in chunks if c.get("usage")][-1]["usage"]
    assert usage["completion_tokens"] == 5 and usage["prompt_tokens"] > 0


# ---- bad input: a clear 4xx, never a 500 -----------------------------------------------------

BAD_CHAT = [
    ("not json", 400, "invalid_json"),
    ("", 400, "empty_body"),
    ("[1, 2]", 400, "invalid_json"),
    ("{}", 400, "missing_prompt"),
    ('{"prompt": ""}', 400, "empty_prompt"),
    ('{"prompt": "   "}', 400, "empty_prompt"),
    ('{"prompt": 42}', 400, "invalid_type"),
    ('{"prompt": "hi", "max_tokens": "10"}', 400, "invalid_type"),
    ('{"prompt": "hi", "max_tokens": true}', 400, "invalid_type"),
    ('{"prompt": "hi", "max_tokens": 0}', 400, "invalid_value"),
    ('{"prompt": "hi", "max_tokens": 65}', 400, "max_tokens_over_cap"),
    ('{"prompt": "hi", "temperature": "hot"}', 400, "invalid_type"),
    ('{"prompt": "hi", "temperature": 9}', 400, "invalid_value"),
    ('{"prompt": "hi", "system": 5}', 400, "invalid_type"),
    ('{"prompt": "hi", "model": "gpt-17"}', 400, "model_not_found"),
    ('{"prompt": "hi", "model": 3}', 400, "invalid_type"),
    (json.dumps({"prompt": "x" * 2001}), 413, "prompt_too_long"),
    (json.dumps({"prompt": "x" * 1500, "system": "y" * 600}), 413, "prompt_too_long"),
]


@pytest.mark.parametrize(("raw", "status", "code"), BAD_CHAT)
def test_bad_chat_input(client, raw, status, code):
    r = client.post("/api/v1/chat", data=raw, headers=auth(), content_type="application/json")
    assert r.status_code == status, r.get_data(as_text=True)
    err = r.get_json()["error"]
    assert err["code"] == code and len(err["message"]) > 10
    if code == "model_not_found":
        assert "tinyllama" in err["message"] and "auto" in err["message"]
    if code == "max_tokens_over_cap":
        assert "64" in err["message"]


BAD_MESSAGES = [
    {},
    {"messages": []},
    {"messages": "hi"},
    {"messages": ["hi"]},
    {"messages": [{"content": "hi"}]},
    {"messages": [{"role": "wizard", "content": "hi"}]},
    {"messages": [{"role": "user"}]},
    {"messages": [{"role": "user", "content": 7}]},
    {"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}]},
    {"messages": [{"role": "system", "content": "only a system prompt"}]},
    {"messages": [{"role": "user", "content": "hi"}], "stream": "yes"},
    {"messages": [{"role": "user", "content": "hi"}], "n": 3},
    {"messages": [{"role": "user", "content": "hi"}], "model": "nope"},
    {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 1000},
]


@pytest.mark.parametrize("body", BAD_MESSAGES)
def test_bad_openai_input(client, body):
    r = post(client, "/v1/chat/completions", body)
    assert r.status_code == 400, r.get_data(as_text=True)
    assert r.get_json()["error"]["message"]


ANSWER_CHANGING = [
    ("tools", [{"type": "function", "function": {"name": "get_time", "parameters": {"type": "object"}}}]),
    ("tool_choice", "required"),
    ("functions", [{"name": "f", "parameters": {}}]),
    ("response_format", {"type": "json_object"}),
    ("stop", ["\n"]),
    ("seed", 7),
    ("top_p", 0.2),
    ("presence_penalty", 1.5),
    ("logprobs", True),
]


@pytest.mark.parametrize(("field", "value"), ANSWER_CHANGING)
def test_answer_changing_fields_are_refused_by_name_not_dropped(client, field, value):
    msgs = [{"role": "user", "content": "What time is it in Paris? (field test)"}]
    ok = post(client, "/v1/chat/completions", {"messages": msgs, "max_tokens": 4})
    assert ok.status_code == 200  # the same messages without the field: answered (and now cached)
    r = post(client, "/v1/chat/completions", {"messages": msgs, "max_tokens": 4, field: value})
    assert r.status_code == 400, r.get_data(as_text=True)
    err = r.get_json()["error"]
    assert err["param"] == field and err["code"] == "unsupported_parameter" and f"'{field}'" in err["message"]
    assert "remove" in err["message"]  # says what to fix


def test_neutral_values_and_bookkeeping_fields_are_accepted(client):
    msgs = [{"role": "user", "content": "Say OK (neutral test)"}]
    body = {
        "messages": msgs,
        "max_tokens": 4,
        "tools": [],
        "response_format": {"type": "text"},
        "stop": None,
        "top_p": 1,
        "n": 1,
        "user": "u-1",
        "metadata": {"team": "a"},
    }
    r = post(client, "/v1/chat/completions", body)
    assert r.status_code == 200, r.get_json()


def test_unknown_fields_are_refused_by_name(client):
    r = post(client, "/v1/chat/completions", {"messages": [{"role": "user", "content": "x"}], "temprature": 0.2})
    assert r.status_code == 400 and r.get_json()["error"]["param"] == "temprature"
    assert "unknown field 'temprature'" in r.get_json()["error"]["message"]
    r = post(client, "/api/v1/chat", {"prompt": "x", "tools": [{"type": "function"}]})
    assert r.status_code == 400 and r.get_json()["error"]["param"] == "tools"


@pytest.mark.parametrize("path", ["/api/v1/chat", "/v1/chat/completions", "/api/v1/complexity", "/api/v1/feedback"])
def test_deeply_nested_json_is_a_400_not_a_500(client, path):
    r = client.post(path, data="[" * 5000 + "]" * 5000, headers=auth(), content_type="application/json")
    assert r.status_code == 400, r.get_data(as_text=True)[:300]
    assert "nested too deeply" in r.get_json()["error"]["message"]
    r = client.post(path, data='{"prompt": ' + "[" * 5000, headers=auth(), content_type="application/json")
    assert r.status_code == 400


def test_official_client_raises_its_typed_exceptions(build_app):
    """The openai package, pointed at the gateway (in process, over WSGI): each error status maps
    to the client's exception class, and a 429 carries Retry-After."""
    import httpx
    import openai

    app = build_app(limits__rate_limit_per_minute=3)
    fresh_minute()
    http = httpx.Client(transport=httpx.WSGITransport(app=app), base_url="http://gateway")
    client = openai.OpenAI(base_url="http://gateway/v1", api_key=KEYS[0], max_retries=0, http_client=http)
    with pytest.raises(openai.BadRequestError) as bad:
        client.chat.completions.create(model="auto", messages=[{"role": "user", "content": "x"}], seed=3)
    assert bad.value.body["param"] == "seed"
    with pytest.raises(openai.NotFoundError):
        client.get("/no-such-endpoint", cast_to=httpx.Response)
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url="http://gateway/v1", api_key="wrong", max_retries=0, http_client=http).models.list()
    with pytest.raises(openai.RateLimitError) as limited:
        for _ in range(5):  # bounded: the limit is 3 a minute
            client.models.list()
    assert 1 <= int(limited.value.response.headers["Retry-After"]) <= 60


def test_auth_errors(client):
    for headers, needle in [
        ({}, "missing API key"),
        ({"Authorization": "Bearer wrong"}, "invalid API key"),
        ({"Authorization": "Basic abc"}, "malformed"),
        ({"Authorization": "Bearer "}, "malformed"),
    ]:
        r = client.post("/api/v1/chat", json={"prompt": "hi"}, headers=headers)
        assert r.status_code == 401 and needle in r.get_json()["error"]["message"]
        assert r.headers["WWW-Authenticate"].startswith("Bearer")
    assert client.get("/v1/models").status_code == 401
    assert client.get("/api/v1/stats", headers=auth(KEYS[1])).status_code == 200


def test_no_keys_configured_refuses_all(build_app, tmp_path):
    empty = tmp_path / "empty_keys"
    empty.write_text("# nobody\n")
    client = build_app(auth__api_keys_file=str(empty)).test_client()
    r = client.get("/api/v1/models", headers=auth())
    assert r.status_code == 401 and "no API keys configured" in r.get_json()["error"]["message"]


def test_rate_limit_per_key(build_app):
    client = build_app(limits__rate_limit_per_minute=3).test_client()
    fresh_minute()
    codes = [client.get("/api/v1/models", headers=auth()).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    r = client.get("/api/v1/models", headers=auth())
    assert r.status_code == 429 and 1 <= int(r.headers["Retry-After"]) <= 60
    assert "rate limit of 3" in r.get_json()["error"]["message"]
    assert client.get("/api/v1/models", headers=auth(KEYS[1])).status_code == 200  # per key


def test_oversized_body_unknown_path_and_method(client):
    r = client.post("/api/v1/chat", data=b"x" * (2000 * 6 + 70000), headers=auth(), content_type="application/json")
    assert r.status_code == 413 and "at most 2000 characters" in r.get_json()["error"]["message"]
    assert client.get("/api/v1/nothing", headers=auth()).status_code == 404
    r = client.get("/api/v1/chat", headers=auth())
    assert r.status_code == 405 and r.get_json()["error"]["code"] == "method_not_allowed"


def test_bad_request_id_is_replaced(client):
    r = client.get("/health", headers={"X-Request-ID": "bad id with spaces"})
    assert r.headers["X-Request-ID"] != "bad id with spaces" and len(r.headers["X-Request-ID"]) == 32


def test_metrics_exposition(client):
    post(client, "/api/v1/chat", {"prompt": SIMPLE + " metrics", "max_tokens": 3})
    text = client.get("/metrics").get_data(as_text=True)
    for name in (
        "api_gateway_requests_total",
        "api_gateway_request_duration_seconds_bucket",
        "api_gateway_cost_total",
        "api_gateway_cloud_equivalent_cost_total",
        "api_gateway_cache_total",
        "api_gateway_tokens_total",
        "api_gateway_complexity_bucket",
        "api_gateway_backend_up",
        "api_gateway_monthly_budget_usd",
    ):
        assert name in text, name
    assert 'api_gateway_requests_total{backend="openai",model="tinyllama",status="200"}' in text


def test_rate_limit_on_chat_shares_the_cache_round_trip_and_counts_bad_requests(build_app):
    client = build_app(limits__rate_limit_per_minute=3).test_client()
    fresh_minute()
    body = {"prompt": SIMPLE + " limited", "max_tokens": 2}
    assert post(client, "/api/v1/chat", body).status_code == 200
    assert post(client, "/api/v1/chat", {"prompt": ""}).status_code == 400  # refused, still counted
    assert post(client, "/api/v1/chat", body).get_json()["cached"] is True
    r = post(client, "/api/v1/chat", body)
    assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1
    assert r.get_json()["error"]["code"] == "rate_limited"
    stream = {"messages": [{"role": "user", "content": "hi"}], "stream": True, "max_tokens": 2}
    r = post(client, "/v1/chat/completions", stream)
    assert r.status_code == 429 and r.headers["Retry-After"]
    assert post(client, "/api/v1/chat", body, auth(KEYS[1])).status_code == 200


def test_temperature_reaches_local_engines_and_is_not_sent_to_the_cloud(client, cloud):
    r = post(client, "/api/v1/chat", {"prompt": HARD + " temperature", "max_tokens": 4, "temperature": 0.2})
    assert r.status_code == 200 and r.get_json()["model"] == "cloud" and r.get_json()["degraded"] is False
    assert "temperature" not in cloud.last_request
