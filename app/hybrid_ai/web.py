"""The HTTP face of the gateway: a Flask application factory and its blueprints.

  api     POST /api/v1/chat, POST /api/v1/complexity, GET /api/v1/stats, GET /api/v1/models
  openai  POST /v1/chat/completions (stream: true as SSE), GET /v1/models
  ops     GET /health (no auth), GET /metrics (no auth; keep the port firewalled)

Every reply carries X-Request-ID (the client's, if it sent a sane one). Bad input gets a 4xx
whose body says what to fix: {"error": {"message", "type", "code", "param"}, "request_id"}.
An optional blueprint `hybrid_ai.feedback.bp` is registered when that module exists; it finds
the gateway in current_app.extensions["hybrid_ai"] (decision records: service.decision_key).
"""

from __future__ import annotations

import importlib
import json
import logging
import re
import time
import uuid
from collections.abc import Iterator, Mapping
from typing import Any

from flask import Blueprint, Flask, Response, current_app, g, request
from werkzeug.exceptions import HTTPException

from hybrid_ai import cache as cache_mod
from hybrid_ai import metrics as metrics_mod
from hybrid_ai import openapi
from hybrid_ai.service import CLOUD, BackendsUnavailable, ChatRequest, ChatResult, Gateway, RateLimited
from hybrid_ai.shadow import NO_SHADOW_HEADER

log = logging.getLogger(__name__)
_RID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
ROLES = ("system", "developer", "user", "assistant")
DEFERRED_LIMIT = frozenset({"api.chat", "openai.chat_completions"})
DEFAULT_MAX_TOKENS = 512


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        message: str,
        code: str = "invalid_request",
        param: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.message, self.code, self.param = status, message, code, param
        self.headers = dict(headers or {})


def _json(payload: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    return Response(body, status=status, mimetype="application/json", headers=dict(headers or {}))


def _error_type(status: int) -> str:
    return {
        401: "authentication_error",
        413: "request_too_large",
        429: "rate_limit_error",
        503: "service_unavailable",
        504: "timeout",
    }.get(status, "invalid_request_error" if status < 500 else "server_error")


def _error(status: int, message: str, code: str, param: str | None = None, headers: Any = None) -> Response:
    body = {
        "error": {"message": message, "type": _error_type(status), "code": code, "param": param},
        "request_id": g.get("request_id"),
    }
    return _json(body, status, headers)


def gw() -> Gateway:
    return current_app.extensions["hybrid_ai"]


# ---- input validation ---------------------------------------------------------------------


def _body() -> dict[str, Any]:
    raw = request.get_data(cache=True)
    if not raw.strip():
        raise ApiError(400, 'empty body: send a JSON object, e.g. {"prompt": "Hello"}', "empty_body")
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise ApiError(
            400, "body is not valid JSON: send a JSON object with Content-Type: application/json", "invalid_json"
        ) from None
    except RecursionError:  # e.g. thousands of nested '[': the parser's stack ends before the body does
        raise ApiError(
            400, 'body is nested too deeply: send a flat JSON object like {"prompt": "Hello"}', "invalid_json"
        ) from None
    if not isinstance(data, dict):
        raise ApiError(400, f"body must be a JSON object, got {type(data).__name__}", "invalid_json")
    return data


# Request fields, per endpoint: what the gateway honours, and what it accepts without effect on
# the answer (bookkeeping for the caller). Any other field is refused with a 400 that names it,
# so nothing that would change the answer (tools, response_format, stop, seed...) is dropped
# silently, and the answer cache, whose key covers every honoured field, can never serve an
# answer made for a different request.
NATIVE_FIELDS = openapi.fields("ChatRequest")  # the schemas in openapi.py are the one list
COMPLEXITY_FIELDS = openapi.fields("ComplexityRequest")
OPENAI_FIELDS = openapi.fields("ChatCompletionRequest")
NO_EFFECT_FIELDS = frozenset(openapi.NO_EFFECT)
# Answer-changing OpenAI fields this gateway does not pass on; their neutral value is accepted.
_NEUTRAL: dict[str, tuple[Any, ...]] = {
    "tools": (None, []),
    "functions": (None, []),
    "tool_choice": (None, "none"),
    "function_call": (None, "none"),
    "parallel_tool_calls": (None, True, False),
    "response_format": (None, {"type": "text"}),
    "stop": (None, [], ""),
    "seed": (None,),
    "top_p": (None, 1, 1.0),
    "frequency_penalty": (None, 0, 0.0),
    "presence_penalty": (None, 0, 0.0),
    "logit_bias": (None, {}),
    "logprobs": (None, False),
    "top_logprobs": (None, 0),
}


_JSON_TYPES = {"string": str, "object": dict, "boolean": bool, "null": type(None)}


def _check_fields(data: Mapping[str, Any], honoured: frozenset[str], endpoint: str) -> None:
    for name, value in data.items():
        if name in NO_EFFECT_FIELDS:
            kinds = [_JSON_TYPES[t] for t in openapi.NO_EFFECT[name]["type"]]
            if not any(isinstance(value, k) and not (k is not bool and isinstance(value, bool)) for k in kinds):
                wanted = " or ".join(openapi.NO_EFFECT[name]["type"])
                raise ApiError(400, f"'{name}' must be {wanted}, got {value!r:.60}", "invalid_type", name)
            continue
        if name in honoured:
            continue
        if name in _NEUTRAL:
            if value is None or any(value == v and type(value) is type(v) for v in _NEUTRAL[name]):
                continue
            raise ApiError(
                400,
                f"'{name}' is not supported by this gateway ({endpoint}): it would change the answer and no "
                f"engine behind the router is given it; remove '{name}' from the request",
                "unsupported_parameter",
                name,
            )
        known = ", ".join(sorted(honoured))
        message = f"unknown field '{name}' for {endpoint}: remove it (fields used here: {known})"
        raise ApiError(400, message, "unknown_parameter", name)


def _opt_str(data: Mapping[str, Any], name: str) -> str | None:
    value = data.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ApiError(400, f"'{name}' must be a string, got {type(value).__name__}", "invalid_type", name)
    return value


def _max_tokens(data: Mapping[str, Any], names: tuple[str, ...] = ("max_tokens",)) -> int:
    cap = int(gw().cfg["limits"]["max_tokens_cap"])
    chosen = None
    for name in names:  # every one given is checked; the first given is used
        value = data.get(name)
        if value is None:
            continue
        if isinstance(value, float) and value.is_integer():
            value = int(value)  # JSON has one number type: 2.0 is the integer 2 (as JSON Schema reads it)
        if isinstance(value, bool) or not isinstance(value, int):
            raise ApiError(400, f"'{name}' must be an integer, got {value!r}", "invalid_type", name)
        if value < 1:
            raise ApiError(400, f"'{name}' must be at least 1, got {value}", "invalid_value", name)
        if value > cap:
            raise ApiError(
                400,
                f"'{name}' is {value}, over this gateway's cap of {cap}: ask for at most {cap}",
                "max_tokens_over_cap",
                name,
            )
        chosen = value if chosen is None else chosen
    return chosen if chosen is not None else min(DEFAULT_MAX_TOKENS, cap)


def _temperature(data: Mapping[str, Any]) -> float | None:
    value = data.get("temperature")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ApiError(400, f"'temperature' must be a number, got {value!r}", "invalid_type", "temperature")
    if not 0 <= value <= 2:
        raise ApiError(400, f"'temperature' must be between 0 and 2, got {value}", "invalid_value", "temperature")
    return float(value)


def _model(data: Mapping[str, Any]) -> str:
    value = data.get("model", "auto")
    if value is None:
        value = "auto"
    if not isinstance(value, str):
        raise ApiError(400, f"'model' must be a string, got {type(value).__name__}", "invalid_type", "model")
    try:
        gw().resolve(value)
    except KeyError:
        valid = ", ".join(gw().model_names())
        raise ApiError(400, f"unknown model {value!r}; valid models: {valid}", "model_not_found", "model") from None
    return value or "auto"


def _check_size(*texts: str | None) -> None:
    limit = int(gw().cfg["limits"]["max_prompt_chars"])
    size = sum(len(t) for t in texts if t)
    if size > limit:
        raise ApiError(
            413, f"prompt is {size} characters, over the limit of {limit}: shorten it", "prompt_too_long", "prompt"
        )


def _request_id() -> str:
    return g.request_id


def _bypass() -> bool:
    return cache_mod.wants_bypass(request.headers)


def _no_shadow() -> bool:
    """X-Hybrid-No-Shadow: 1 (or true/yes): this request is never sent to a shadow judgement."""
    return request.headers.get(NO_SHADOW_HEADER, "").strip().lower() in ("1", "true", "yes")


def _content(value: Any, where: str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        parts = []
        for i, part in enumerate(value):
            if not isinstance(part, dict) or part.get("type") != "text" or not isinstance(part.get("text"), str):
                raise ApiError(
                    400,
                    f'{where}.content[{i}] must be {{"type": "text", "text": "..."}}: only text content is supported',
                    "invalid_messages",
                    "messages",
                )
            parts.append(part["text"])
        return "".join(parts)
    raise ApiError(400, f"{where}.content must be a string or a list of text parts", "invalid_messages", "messages")


def _messages(data: Mapping[str, Any]) -> tuple[tuple[dict[str, str], ...], str | None]:
    msgs = data.get("messages")
    if msgs is None:
        raise ApiError(
            400,
            '\'messages\' is required: a list like [{"role": "user", "content": "Hi"}]',
            "missing_messages",
            "messages",
        )
    if not isinstance(msgs, list) or not msgs:
        raise ApiError(
            400, "'messages' must be a non-empty list of {role, content} objects", "invalid_messages", "messages"
        )
    system: list[str] = []
    turns: list[dict[str, str]] = []
    for i, m in enumerate(msgs):
        where = f"messages[{i}]"
        if not isinstance(m, dict):
            raise ApiError(400, f"{where} must be an object with 'role' and 'content'", "invalid_messages", "messages")
        role = m.get("role")
        if role not in ROLES:
            raise ApiError(
                400, f"{where}.role must be one of {list(ROLES)}, got {role!r}", "invalid_messages", "messages"
            )
        if "content" not in m or m["content"] is None:
            raise ApiError(400, f"{where}.content is required", "invalid_messages", "messages")
        text = _content(m["content"], where)
        if role in ("system", "developer"):
            system.append(text)
        else:
            turns.append({"role": role, "content": text})
    if not any(t["role"] == "user" and t["content"].strip() for t in turns):
        raise ApiError(400, "'messages' needs at least one non-empty user message", "invalid_messages", "messages")
    return tuple(turns), ("\n\n".join(system) if system else None)


# ---- blueprints -----------------------------------------------------------------------------

api = Blueprint("api", __name__, url_prefix="/api/v1")
openai_bp = Blueprint("openai", __name__, url_prefix="/v1")
ops = Blueprint("ops", __name__)


def _limited(exc: RateLimited) -> ApiError:
    g.rate_limit_done = True
    return ApiError(429, str(exc), "rate_limited", headers={"Retry-After": str(exc.retry_after)})


def _run_chat(req: ChatRequest) -> ChatResult:
    g.rate_limit_done = req.defer_rate_limit
    try:
        return gw().chat(req)
    except RateLimited as exc:
        raise _limited(exc) from None
    except BackendsUnavailable as exc:
        g.counted = True
        status = 504 if exc.timed_out else 503
        raise ApiError(status, str(exc), "backends_unavailable", headers={"Retry-After": "10"}) from None


@api.post("/chat")
def chat() -> Response:
    data = _body()
    _check_fields(data, NATIVE_FIELDS, "/api/v1/chat")
    prompt = data.get("prompt")
    if prompt is None:
        raise ApiError(400, '\'prompt\' is required: {"prompt": "your question"}', "missing_prompt", "prompt")
    if not isinstance(prompt, str):
        raise ApiError(400, f"'prompt' must be a string, got {type(prompt).__name__}", "invalid_type", "prompt")
    if not prompt.strip():
        raise ApiError(400, "'prompt' is empty: send some text", "empty_prompt", "prompt")
    system = _opt_str(data, "system")
    _check_size(prompt, system)
    req = ChatRequest(
        messages=({"role": "user", "content": prompt},),
        system=system,
        model=_model(data),
        max_tokens=_max_tokens(data),
        temperature=_temperature(data),
        request_id=_request_id(),
        cache_bypass=_bypass(),
        no_shadow=_no_shadow(),
        key_id=g.get("key_id"),
        defer_rate_limit=bool(g.get("defer_rate_limit")),
    )
    r = _run_chat(req)
    resp = _json(
        {
            "request_id": r.request_id,
            "response": r.text,
            "model": r.model,
            "upstream_model": r.upstream_model,
            "backend": r.backend,
            "chosen_model": r.chosen_model,
            "complexity": r.score,
            "factors": r.factors,
            "router": r.router,
            "cached": r.cached,
            "degraded": r.degraded,
            "degraded_reason": r.degraded_reason,
            "escalations": r.escalations,
            "finish_reason": r.finish_reason,
            "usage": {"input_tokens": r.tokens_in, "output_tokens": r.tokens_out, "estimated": r.usage_estimated},
            "cost_usd": r.cost_usd,
            "cloud_equivalent_usd": r.cloud_equivalent_usd,
            "savings_usd": r.cloud_equivalent_usd - r.cost_usd,
            "latency_ms": round(r.latency_ms, 3),
        },
        headers=_result_headers(r),
    )
    return _after(resp, r)


def _after(resp: Response, r: ChatResult) -> Response:
    """Stats, decision record, cache write and Taskwarrior run once the reply has been sent."""
    if r.after is not None:
        resp.call_on_close(r.finish)
    return resp


def _result_headers(r: ChatResult) -> dict[str, str]:
    h = {"X-Model": r.model, "X-Backend": r.backend, "X-Cache": r.cache, "X-Upstream-Ms": f"{r.upstream_ms:.3f}"}
    if r.degraded:
        h["X-Degraded"] = r.degraded_reason or "1"
    return h


@api.post("/complexity")
def complexity() -> Response:
    data = _body()
    _check_fields(data, COMPLEXITY_FIELDS, "/api/v1/complexity")
    prompt = data.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        raise ApiError(400, "'prompt' is required and must be a non-empty string", "missing_prompt", "prompt")
    system = _opt_str(data, "system")
    _check_size(prompt, system)
    max_tokens = _max_tokens(data)
    gateway = gw()
    s, chosen = gateway.score(prompt, system)
    est = gateway.prices.estimate(chosen, len(prompt) + len(system or ""), max_tokens)
    cloud = gateway.prices.estimate(CLOUD, len(prompt) + len(system or ""), max_tokens)
    return _json(
        {
            "request_id": _request_id(),
            "score": s.value,
            "complexity": s.value,
            "factors": s.factors,
            "router": s.router,
            "model": chosen,
            "ladder": gateway.ladder,
            "estimated_cost_usd": est.cost_usd,
            "estimated_cloud_cost_usd": cloud.cost_usd,
            "estimate_basis": f"~4 characters per input token, {max_tokens} output tokens",
        }
    )


@api.get("/stats")
def stats() -> Response:
    gateway = gw()
    snap = gateway.stats.snapshot()
    snap["monthly_budget_usd"] = gateway.budget_usd
    snap["budget_left_usd"] = max(0.0, gateway.budget_usd - snap["month_cloud_cost_usd"])
    snap["quality"] = gateway.quality()
    snap["request_id"] = _request_id()
    return _json(snap)


def _model_list() -> list[dict[str, Any]]:
    gateway = gw()
    out = [{"id": "auto", "description": "the router chooses a rung of the ladder"}]
    for rung in gateway.ladder:
        name = rung["model"]
        entry: dict[str, Any] = {"id": name, "max_complexity": rung.get("max_complexity")}
        if name == CLOUD:
            c = gateway.cfg["cloud"]
            entry.update(
                backend="anthropic",
                upstream_model=c["model"],
                input_usd_per_mtok=c["input_usd_per_mtok"],
                output_usd_per_mtok=c["output_usd_per_mtok"],
            )
        else:
            spec = gateway.cfg["models"][name]
            entry.update(
                backend=spec["engine"],
                upstream_model=spec["upstream_model"],
                input_usd_per_mtok=0.0,
                output_usd_per_mtok=0.0,
            )
        out.append(entry)
    out.append({"id": gateway.cfg["cloud"]["model"], "alias_of": CLOUD})
    return out


@api.get("/models")
def models() -> Response:
    return _json({"models": _model_list(), "router": gw().cfg["router"], "tier": gw().cfg.get("tier")})


@openai_bp.get("/models")
def oa_models() -> Response:
    data = [{"id": m["id"], "object": "model", "created": 0, "owned_by": "hybrid-ai"} for m in _model_list()]
    return _json({"object": "list", "data": data})


def _oa_request(data: Mapping[str, Any]) -> tuple[ChatRequest, bool, bool]:
    _check_fields(data, OPENAI_FIELDS, "/v1/chat/completions")
    messages, system = _messages(data)
    _check_size(system, *(m["content"] for m in messages))
    stream = data.get("stream", False)
    if stream is None:
        stream = False
    if not isinstance(stream, bool):
        raise ApiError(400, f"'stream' must be true or false, got {stream!r}", "invalid_type", "stream")
    n = data.get("n", 1)
    if n is not None and (isinstance(n, bool) or n != 1):
        raise ApiError(400, "'n' must be 1: this gateway returns one choice", "invalid_value", "n")
    opts = data.get("stream_options") or {}
    if not isinstance(opts, dict):
        raise ApiError(400, "'stream_options' must be an object", "invalid_type", "stream_options")
    usage = opts.get("include_usage")
    if usage is not None and not isinstance(usage, bool):
        raise ApiError(400, "'stream_options.include_usage' must be true or false", "invalid_type", "stream_options")
    req = ChatRequest(
        messages=messages,
        system=system,
        model=_model(data),
        max_tokens=_max_tokens(data, ("max_completion_tokens", "max_tokens")),
        temperature=_temperature(data),
        request_id=_request_id(),
        cache_bypass=_bypass(),
        no_shadow=_no_shadow(),
        key_id=g.get("key_id"),
        defer_rate_limit=bool(g.get("defer_rate_limit")),
    )
    return req, stream, bool(opts.get("include_usage"))


def _hybrid_block(r: ChatResult) -> dict[str, Any]:
    return {
        "request_id": r.request_id,
        "backend": r.backend,
        "upstream_model": r.upstream_model,
        "chosen_model": r.chosen_model,
        "complexity": r.score,
        "cached": r.cached,
        "degraded": r.degraded,
        "degraded_reason": r.degraded_reason,
        "escalations": r.escalations,
        "cost_usd": r.cost_usd,
        "cloud_equivalent_usd": r.cloud_equivalent_usd,
        "usage_estimated": r.usage_estimated,
    }


def _usage(r: ChatResult) -> dict[str, int]:
    return {"prompt_tokens": r.tokens_in, "completion_tokens": r.tokens_out, "total_tokens": r.tokens_in + r.tokens_out}


@openai_bp.post("/chat/completions")
def chat_completions() -> Response:
    req, stream, include_usage = _oa_request(_body())
    if stream:
        return _stream_response(req, include_usage)
    r = _run_chat(req)
    resp = _json(
        {
            "id": f"chatcmpl-{r.request_id}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": r.model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": r.text},
                    "finish_reason": "length" if r.finish_reason == "length" else "stop",
                }
            ],
            "usage": _usage(r),
            "hybrid_ai": _hybrid_block(r),
        },
        headers=_result_headers(r),
    )
    return _after(resp, r)


def _sse(payload: Any) -> str:
    return f"data: {json.dumps(payload, ensure_ascii=False, separators=(',', ':'))}\n\n"


def _stream_response(req: ChatRequest, include_usage: bool) -> Response:
    g.rate_limit_done = req.defer_rate_limit
    events = gw().chat_stream(req)
    kind, value = next(events)
    if kind == "limited":
        raise _limited(value)
    if kind == "error":  # nothing could start: a plain HTTP error, not a broken stream
        g.counted = True
        raise ApiError(503, value, "backends_unavailable", headers={"Retry-After": "10"})
    meta: ChatResult = value
    created = int(time.time())
    cid = f"chatcmpl-{req.request_id}"

    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> str:
        body = {
            "id": cid,
            "object": "chat.completion.chunk",
            "created": created,
            "model": meta.model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            **extra,
        }
        return _sse(body)

    def generate() -> Iterator[str]:
        yield chunk({"role": "assistant", "content": ""})
        try:
            for kind, value in events:
                if kind == "delta":
                    if value:
                        yield chunk({"content": value})
                elif kind == "done":
                    r: ChatResult = value
                    finish = "length" if r.finish_reason == "length" else "stop"
                    if include_usage:
                        yield chunk({}, finish, hybrid_ai=_hybrid_block(r))
                        yield _sse(
                            {
                                "id": cid,
                                "object": "chat.completion.chunk",
                                "created": created,
                                "model": r.model,
                                "choices": [],
                                "usage": _usage(r),
                            }
                        )
                    else:
                        yield chunk({}, finish, usage=_usage(r), hybrid_ai=_hybrid_block(r))
                elif kind == "error":
                    yield _sse({"error": {"message": value, "type": "server_error", "code": "upstream_failed"}})
        finally:
            events.close()
        yield "data: [DONE]\n\n"

    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no", "X-Model": meta.model, "X-Backend": meta.backend}
    if meta.degraded:
        headers["X-Degraded"] = meta.degraded_reason or "1"
    return Response(generate(), mimetype="text/event-stream", headers=headers)


@ops.get("/health")
def health() -> Response:
    report = gw().health()
    report["request_id"] = _request_id()
    return _json(report)


@ops.get("/openapi.json")
def openapi_document() -> Response:
    """The API contract (no key: nothing in it is secret; limits and model names are this config's)."""
    return _json(openapi.document(gw().cfg))


@ops.get("/metrics")
def metrics_view() -> Response:
    body, ctype = metrics_mod.render()
    body += metrics_mod.render_quality(gw().quality())
    return Response(body, mimetype=None, content_type=ctype)


# ---- the application ------------------------------------------------------------------------


def _authenticate() -> Response | None:
    g.request_id = _incoming_rid()
    g.started = time.perf_counter()
    if not request.path.startswith(("/api/", "/v1/")):
        return None
    gateway = gw()
    kid, problem = gateway.keys.check(request.headers)
    if kid is None:
        if gateway.keys.count == 0:
            problem += " (this gateway has no API keys configured: add one to auth.api_keys_file)"
        return _error(401, problem, "invalid_api_key", headers={"WWW-Authenticate": 'Bearer realm="hybrid-ai"'})
    g.key_id = kid
    if request.endpoint in DEFERRED_LIMIT:  # counted together with the cache lookup
        g.defer_rate_limit = True
        return None
    allowed, retry_after = gateway.limiter.hit(kid)
    if not allowed:
        limit = gateway.limiter.per_minute
        return _error(
            429,
            f"rate limit of {limit} requests per minute for this key reached: retry in {retry_after}s",
            "rate_limited",
            headers={"Retry-After": str(retry_after)},
        )
    return None


def _incoming_rid() -> str:
    rid = request.headers.get("X-Request-ID", "")
    return rid if _RID.match(rid) else uuid.uuid4().hex


def _finish(response: Response) -> Response:
    rid = g.get("request_id")
    if rid:
        response.headers["X-Request-ID"] = rid
    if response.status_code >= 400 and not g.get("counted") and request.path.startswith(("/api/", "/v1/")):
        m = gw().metrics
        m.requests.labels("none", "none", str(response.status_code)).inc()
    if g.get("defer_rate_limit") and not g.get("rate_limit_done"):
        gw().limiter.hit(g.key_id)  # a request refused before chat() still counts against the limit
    return response


def create_app(cfg: Mapping[str, Any] | str | None = None) -> Flask:
    """Build the app from a validated config dict, a config file path, or $HYBRID_AI_CONFIG."""
    from hybrid_ai import config

    if cfg is None or isinstance(cfg, str):
        cfg = config.load(cfg)
    app = Flask("hybrid_ai")
    limit = int(cfg["limits"]["max_prompt_chars"])
    # JSON escapes can take 6 bytes a character; the prompt limit itself is checked in characters.
    app.config["MAX_CONTENT_LENGTH"] = limit * 6 + 65536
    app.extensions["hybrid_ai"] = Gateway(cfg)
    app.before_request(_authenticate)
    app.after_request(_finish)
    app.register_blueprint(api)
    app.register_blueprint(openai_bp)
    app.register_blueprint(ops)
    try:
        feedback = importlib.import_module("hybrid_ai.feedback")
    except ImportError:
        feedback = None
    if feedback is not None and hasattr(feedback, "bp"):
        app.register_blueprint(feedback.bp)

    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError) -> Response:
        return _error(exc.status, exc.message, exc.code, exc.param, exc.headers)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Response:
        status = exc.code or 500
        if status == 413:
            msg = f"request body too large: prompts may be at most {limit} characters"
            return _error(413, msg, "request_too_large")
        if status == 404:
            return _error(
                404, f"no such endpoint {request.path}; see /api/v1/models, /v1/chat/completions", "not_found"
            )
        if status == 405:
            return _error(405, f"{request.method} is not allowed on {request.path}", "method_not_allowed")
        return _error(status, exc.description or exc.name, exc.name.lower().replace(" ", "_"))

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        log.exception("unexpected error on %s", request.path)
        return _error(500, "internal error; the request id identifies it in the logs", "internal_error")

    return app
