"""The published API contract (GET /openapi.json), and the gateway fuzzed against it with
schemathesis: a bounded number of generated requests per operation (valid and invalid), sent
to the real gateway app with real Redis, the real llama.cpp server and the Anthropic stand-in.
Checks: no 5xx, only documented status codes, bodies and content types as documented, invalid
requests refused, every error body says what to fix. Plus hand-made nasty inputs."""

from __future__ import annotations

import json

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from openapi_spec_validator import validate
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import ignored_auth

from hybrid_ai import openapi
from tests.gateway.conftest import KEYS, auth

pytestmark = pytest.mark.integration

EXAMPLES = 25  # per operation and generation mode; the note and docs/gateway.md quote this


@pytest.fixture
def app(build_app):
    return build_app(limits__rate_limit_per_minute=100_000)


# Every documented operation, valid requests; the ones with a body also with schema-breaking
# ones (a GET without parameters has nothing to break). /openapi.json itself is checked above.
_OPS = [(p, m) for p, ops in openapi.document()["paths"].items() for m in ops if p != "/openapi.json"]
CASES = [(p, m, GenerationMode.POSITIVE) for p, m in _OPS] + [
    (p, m, GenerationMode.NEGATIVE) for p, m in _OPS if m == "post"
]


def test_openapi_document_is_valid_3_1_and_needs_no_key(app):
    r = app.test_client().get("/openapi.json")
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("application/json")
    doc = r.get_json()
    assert doc["openapi"] == "3.1.0"
    validate(doc)  # raises on any violation of the OpenAPI 3.1 schema
    paths = {(p, m) for p, ops in doc["paths"].items() for m in ops}
    rules = {
        (str(rule), m.lower())
        for rule in app.url_map.iter_rules()
        for m in rule.methods - {"HEAD", "OPTIONS"}
        if rule.endpoint != "static"
    }
    assert rules == paths  # every endpoint the app serves is documented, and nothing else
    cfg = app.extensions["hybrid_ai"].cfg
    body = doc["components"]["schemas"]["ChatRequest"]["properties"]
    assert body["max_tokens"]["maximum"] == cfg["limits"]["max_tokens_cap"]
    assert set(body["model"]["enum"]) >= {"auto", "tinyllama", "cloud"}
    text = json.dumps(doc)
    for secret in (*KEYS, "sk-ant-test", cfg["redis"]["url"]):  # nothing secret or internal in it
        assert secret not in text


def test_validation_takes_its_fields_from_the_document():
    from hybrid_ai import web

    for name, fields in (
        ("ChatRequest", web.NATIVE_FIELDS),
        ("ComplexityRequest", web.COMPLEXITY_FIELDS),
        ("ChatCompletionRequest", web.OPENAI_FIELDS),
    ):
        assert fields == set(openapi.document()["components"]["schemas"][name]["properties"])


@pytest.mark.parametrize(("path", "method", "mode"), CASES, ids=[f"{m.upper()} {p} {g.value}" for p, m, g in CASES])
def test_fuzz_the_gateway_against_its_contract(app, path, method, mode):
    """schemathesis generates up to EXAMPLES requests for the operation (valid ones, or ones
    that break the schema) and checks each answer against the document."""
    api = schemathesis.openapi.from_wsgi("/openapi.json", app)
    operation = api.find_operation_by_path(method, path)
    seen = {"cases": 0, "5xx": 0}

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
    def run(case):
        seen["cases"] += 1
        case.headers = {**(case.headers or {}), **auth()}
        response = case.call()
        seen["5xx"] += response.status_code >= 500
        # auth is checked by test_keys_are_required_where_documented (the probe here would send
        # our key as if schemathesis had generated it)
        case.validate_response(response, excluded_checks=[ignored_auth])
        if response.status_code >= 400 and response.headers.get("Content-Type", "").startswith("application/json"):
            err = response.json()["error"]
            assert len(err["message"]) >= 10, err  # says what went wrong / what to fix

    run()
    print(f"fuzz {method.upper()} {path} [{mode.value}]: {seen['cases']} requests, {seen['5xx']} x 5xx")
    assert seen["cases"] >= 1 and seen["5xx"] == 0


NASTY = [
    ("invalid UTF-8", b'{"prompt": "\xff\xfe hi"}', "application/json", 400),
    ("2 MB body", json.dumps({"prompt": "x" * 2_000_000}).encode(), "application/json", 413),
    ("deep nesting", b"[" * 5000 + b"]" * 5000, "application/json", 400),
    ("deep object nesting", b'{"a":' * 3000 + b"1" + b"}" * 3000, "application/json", 400),
    ("wrong content type", b"prompt=hi", "application/x-www-form-urlencoded", 400),
    ("NaN temperature", b'{"prompt": "hi", "temperature": NaN}', "application/json", 400),
    ("huge max_tokens", b'{"prompt": "hi", "max_tokens": 1' + b"0" * 400 + b"}", "application/json", 400),
    ("float max_tokens", b'{"prompt": "hi", "max_tokens": 1e308}', "application/json", 400),
    ("empty prompt", b'{"prompt": "   "}', "application/json", 400),
    ("null body", b"null", "application/json", 400),
]


@pytest.mark.parametrize(("what", "raw", "ctype", "status"), NASTY, ids=[n[0] for n in NASTY])
def test_nasty_inputs_get_a_clear_4xx(app, what, raw, ctype, status):
    client = app.test_client()
    for path in ("/api/v1/chat", "/api/v1/complexity"):
        r = client.post(path, data=raw, headers=auth(), content_type=ctype)
        assert r.status_code == status, (what, path, r.get_data(as_text=True)[:300])
        assert r.get_json()["error"]["message"]


OPENAI_NASTY = [
    {"messages": [{"role": "tool", "content": "x"}]},
    {"messages": [{"role": "user", "content": ""}]},
    {"messages": [{"role": "user", "content": "hi"}], "temperature": float("inf")},
    {"messages": [{"role": "user", "content": "hi"}], "max_tokens": -1},
    {"messages": [{"role": "user", "content": "hi"}] * 2, "model": ["auto"]},
]


@pytest.mark.parametrize("body", OPENAI_NASTY)
def test_nasty_openai_inputs_get_a_clear_400(app, body):
    raw = json.dumps(body, allow_nan=True)
    r = app.test_client().post("/v1/chat/completions", data=raw, headers=auth(), content_type="application/json")
    assert r.status_code == 400, r.get_data(as_text=True)[:300]
    assert r.get_json()["error"]["message"]


def test_keys_are_required_where_documented(app):
    doc = openapi.document()
    client = app.test_client()
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            r = client.open(path, method=method.upper(), json={})
            if op.get("security") == []:
                assert r.status_code != 401, path
            else:
                assert r.status_code == 401 and "401" in op["responses"], path
