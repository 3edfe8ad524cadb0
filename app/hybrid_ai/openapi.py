"""The gateway's API contract: an OpenAPI 3.1 document, served at GET /openapi.json.

This module is the one description of the request bodies: the web layer takes the fields it
honours from the schemas here (web.NATIVE_FIELDS / OPENAI_FIELDS), so the validation and the
document cannot list different fields, and the fuzz test (tests/gateway/test_contract.py)
checks with schemathesis that the running gateway answers every generated request as
documented: no 5xx, the documented status codes, bodies that match the response schemas, and
invalid requests refused. Limits that depend on the configuration (the max_tokens cap, the
prompt size, the model names) are filled in from the gateway's config when served.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

JSON = "application/json"
NON_BLANK = r"\S"  # a string with at least one non-space character

# Accepted everywhere, no effect on the answer: the caller's bookkeeping.
NO_EFFECT = {
    "user": {"type": ["string", "null"], "description": "the caller's end-user id (accepted, not used)"},
    "metadata": {"type": ["object", "null"], "description": "the caller's tags (accepted, not used)"},
    "store": {"type": ["boolean", "null"], "description": "accepted, not used"},
    "safety_identifier": {"type": ["string", "null"], "description": "accepted, not used"},
    "prompt_cache_key": {"type": ["string", "null"], "description": "accepted, not used"},
    "service_tier": {"type": ["string", "null"], "description": "accepted, not used"},
}


def _error_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["message", "type", "code"],
                "properties": {
                    "message": {"type": "string", "minLength": 1, "description": "what went wrong and what to fix"},
                    "type": {"type": "string"},
                    "code": {"type": "string"},
                    "param": {"type": ["string", "null"], "description": "the request field at fault"},
                },
            },
            "request_id": {"type": ["string", "null"]},
        },
    }


_ERRORS = {
    "400": "invalid request: the message says what to fix, `param` names the field",
    "401": "missing, malformed or unknown API key",
    "404": "no such endpoint, or (feedback) no such request id",
    "405": "method not allowed on this path",
    "413": "prompt or body over the configured limit",
    "429": "over the per-key rate limit (Retry-After says when to retry)",
    "503": "every backend failed, or a dependency (Redis) is down",
    "504": "the request deadline passed before a backend answered",
}


def _err(*codes: str) -> dict[str, Any]:
    out = {}
    for code in codes:
        resp: dict[str, Any] = {
            "description": _ERRORS[code],
            "content": {JSON: {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
        if code in ("429", "503"):
            resp["headers"] = {"Retry-After": {"schema": {"type": "string", "pattern": r"^\d+$"}}}
        out[code] = resp
    return out


def _ok(schema: dict[str, Any], description: str = "success") -> dict[str, Any]:
    return {"200": {"description": description, "content": {JSON: {"schema": schema}}}}


def _closed(required: list[str], properties: dict[str, Any]) -> dict[str, Any]:
    """A request body that refuses unknown fields and accepts the bookkeeping ones."""
    return {
        "type": "object",
        "required": required,
        "additionalProperties": False,
        "properties": {**properties, **NO_EFFECT},
    }


def _request_schemas(cap: int, max_chars: int, models: list[str]) -> dict[str, Any]:
    # optional fields may be null, which means "not given" (what the validation does)
    model = {"enum": ["auto", *models, None], "default": "auto", "description": "auto: the router picks"}
    max_tokens = {
        "type": ["integer", "null"],
        "minimum": 1,
        "maximum": cap,
        "description": f"at most {cap} (this gateway's cap)",
    }
    temperature = {"type": ["number", "null"], "minimum": 0, "maximum": 2}
    # The size limit applies to prompt + system (+ every message) together, which JSON Schema cannot
    # say: it is given in words here and answered with 413 (documented), not as maxLength.
    size = f"at most {max_chars} characters together with the system prompt (413 beyond)"
    text = {"type": "string", "minLength": 1, "pattern": NON_BLANK, "description": size}
    part = {
        "type": "object",
        "required": ["type", "text"],
        "properties": {"type": {"const": "text"}, "text": {"type": "string"}},
    }
    content = {"oneOf": [{"type": "string"}, {"type": "array", "items": part, "maxItems": 8}], "description": size}
    message = {
        "type": "object",
        "required": ["role", "content"],
        "properties": {"role": {"enum": ["system", "developer", "user", "assistant"]}, "content": content},
    }
    user_turn = {
        "type": "object",
        "required": ["role", "content"],
        "properties": {"role": {"const": "user"}, "content": {"type": "string", "pattern": NON_BLANK}},
    }
    prompted = {"prompt": text, "system": {"type": ["string", "null"], "description": size}}
    return {
        "ChatRequest": _closed(
            ["prompt"], {**prompted, "model": model, "max_tokens": max_tokens, "temperature": temperature}
        ),
        "ComplexityRequest": _closed(["prompt"], {**prompted, "max_tokens": max_tokens}),
        "FeedbackRequest": {
            "type": "object",
            "required": ["request_id", "rating"],
            "properties": {
                "request_id": {"type": "string", "minLength": 1, "maxLength": 200, "pattern": NON_BLANK},
                "rating": {"enum": ["good", "bad"]},
            },
        },
        "ChatCompletionRequest": {
            **_closed(
                ["messages"],
                {
                    "model": model,
                    "messages": {
                        "type": "array",
                        "items": message,
                        "minItems": 1,
                        "maxItems": 16,
                        "contains": user_turn,
                        "description": "at least one non-empty user turn; system/developer turns: the system prompt",
                    },
                    "max_tokens": max_tokens,
                    "max_completion_tokens": max_tokens,
                    "temperature": temperature,
                    "stream": {"type": ["boolean", "null"], "default": False},
                    "stream_options": {
                        "type": ["object", "null"],
                        "properties": {"include_usage": {"type": ["boolean", "null"]}},
                    },
                    "n": {"enum": [1, None], "description": "one choice only"},
                },
            ),
            "description": "OpenAI's chat completion request, the fields this gateway honours. Answer-changing "
            "fields it does not pass on (tools, tool_choice, functions, response_format, stop, seed, top_p, "
            "penalties, logit_bias, logprobs) are refused with 400 unsupported_parameter unless neutral.",
        },
    }


def _response_schemas() -> dict[str, Any]:
    num = {"type": "number"}
    return {
        "Error": _error_schema(),
        "ChatResponse": {
            "type": "object",
            "required": ["request_id", "response", "model", "backend", "complexity", "cost_usd"],
            "properties": {
                "request_id": {"type": "string"},
                "response": {"type": "string"},
                "model": {"type": "string"},
                "upstream_model": {"type": "string"},
                "backend": {"type": "string"},
                "chosen_model": {"type": "string"},
                "complexity": num,
                "factors": {"type": "object", "additionalProperties": num},
                "router": {"type": "string"},
                "cached": {"type": "boolean"},
                "degraded": {"type": "boolean"},
                "degraded_reason": {"type": ["string", "null"]},
                "escalations": {"type": "array"},
                "finish_reason": {"type": ["string", "null"]},
                "usage": {"type": "object"},
                "cost_usd": num,
                "cloud_equivalent_usd": num,
                "savings_usd": num,
                "latency_ms": num,
            },
        },
        "ComplexityResponse": {
            "type": "object",
            "required": ["score", "factors", "router", "model", "estimated_cost_usd"],
            "properties": {
                "request_id": {"type": "string"},
                "score": {"type": "number", "minimum": 0, "maximum": 1},
                "complexity": {"type": "number", "minimum": 0, "maximum": 1},
                "factors": {"type": "object", "additionalProperties": num},
                "router": {"type": "string"},
                "model": {"type": "string"},
                "ladder": {"type": "array"},
                "estimated_cost_usd": num,
                "estimated_cloud_cost_usd": num,
                "estimate_basis": {"type": "string"},
            },
        },
        "FeedbackResponse": {
            "type": "object",
            "required": ["request_id", "rating", "stored"],
            "properties": {"request_id": {"type": "string"}, "rating": {"enum": ["good", "bad"]}, "stored": {}},
        },
        "Stats": {"type": "object", "required": ["requests"], "properties": {"requests": {"type": "integer"}}},
        "Models": {
            "type": "object",
            "required": ["models"],
            "properties": {"models": {"type": "array", "items": {"type": "object", "required": ["id"]}}},
        },
        "OpenAIModels": {
            "type": "object",
            "required": ["object", "data"],
            "properties": {
                "object": {"const": "list"},
                "data": {"type": "array", "items": {"type": "object", "required": ["id", "object"]}},
            },
        },
        "ChatCompletion": {
            "type": "object",
            "required": ["id", "object", "model", "choices"],
            "properties": {
                "id": {"type": "string"},
                "object": {"const": "chat.completion"},
                "model": {"type": "string"},
                "choices": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["index", "message", "finish_reason"],
                        "properties": {
                            "message": {
                                "type": "object",
                                "required": ["role", "content"],
                                "properties": {"role": {"const": "assistant"}, "content": {"type": "string"}},
                            }
                        },
                    },
                },
                "usage": {"type": "object"},
            },
        },
        "Health": {
            "type": "object",
            "required": ["status", "dependencies"],
            "properties": {"status": {"enum": ["ok", "degraded", "down"]}, "dependencies": {"type": "object"}},
        },
    }


def _post(op_id: str, summary: str, req: str, resp: dict[str, Any], errors: Iterable[str]) -> dict[str, Any]:
    return {
        "post": {
            "operationId": op_id,
            "summary": summary,
            "requestBody": {"required": True, "content": {JSON: {"schema": {"$ref": f"#/components/schemas/{req}"}}}},
            "responses": {**resp, **_err(*errors)},
        }
    }


def _get(op_id: str, summary: str, resp: dict[str, Any], errors: Iterable[str], public: bool = False) -> dict:
    op: dict[str, Any] = {"operationId": op_id, "summary": summary, "responses": {**resp, **_err(*errors)}}
    if public:
        op["security"] = []
    return {"get": op}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


CHAT_ERRORS = ("400", "401", "413", "429", "503", "504")


def document(cfg: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The OpenAPI 3.1 document, with the limits and model names of this gateway's config."""
    cfg = cfg or {}
    limits = cfg.get("limits", {})
    cap = int(limits.get("max_tokens_cap", 4096))
    max_chars = int(limits.get("max_prompt_chars", 100_000))
    models = [r["model"] for r in cfg.get("ladder", [])]
    cloud_model = cfg.get("cloud", {}).get("model")
    if cloud_model:
        models.append(cloud_model)
    completion = {
        "200": {
            "description": "the answer; with stream: true, server-sent events of chat.completion.chunk objects",
            "content": {JSON: {"schema": _ref("ChatCompletion")}, "text/event-stream": {"schema": {}}},
        }
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Hybrid AI gateway",
            "version": "1",
            "description": "Routes each request to a local model or the cloud by its complexity score; "
            "OpenAI-compatible at /v1. Every error is {error: {message, type, code, param}, request_id}.",
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {**_response_schemas(), **_request_schemas(cap, max_chars, models)},
        },
        "security": [{"bearer": []}],
        "paths": {
            "/api/v1/chat": _post(
                "chat", "Answer a prompt (routed)", "ChatRequest", _ok(_ref("ChatResponse")), CHAT_ERRORS
            ),
            "/api/v1/complexity": _post(
                "complexity",
                "Dry run: score, factors, chosen model and cost estimate (no model is called)",
                "ComplexityRequest",
                _ok(_ref("ComplexityResponse")),
                ("400", "401", "413", "429"),
            ),
            "/api/v1/feedback": _post(
                "feedback",
                "Rate an answer by its request id (a label for `hybrid-ai router train`)",
                "FeedbackRequest",
                _ok(_ref("FeedbackResponse")),
                ("400", "401", "404", "429", "503"),
            ),
            "/api/v1/stats": _get("stats", "Requests, cache, costs and savings", _ok(_ref("Stats")), ("401", "429")),
            "/api/v1/models": _get("models", "The ladder's models and prices", _ok(_ref("Models")), ("401", "429")),
            "/v1/models": _get("oaModels", "OpenAI model list", _ok(_ref("OpenAIModels")), ("401", "429")),
            "/v1/chat/completions": _post(
                "chatCompletions", "OpenAI chat completion (routed)", "ChatCompletionRequest", completion, CHAT_ERRORS
            ),
            "/health": _get("health", "Dependencies up or down (no key)", _ok(_ref("Health")), (), public=True),
            "/metrics": {
                "get": {
                    "operationId": "metrics",
                    "summary": "Prometheus metrics, summed over workers (no key)",
                    "security": [],
                    "responses": {"200": {"description": "Prometheus text format", "content": {"text/plain": {}}}},
                }
            },
            "/openapi.json": {
                "get": {
                    "operationId": "openapi",
                    "summary": "This document (no key)",
                    "security": [],
                    "responses": _ok({"type": "object"}),
                }
            },
        },
    }


def fields(schema_name: str) -> frozenset[str]:
    """The top-level fields a request schema lists (what the web layer honours or accepts)."""
    return frozenset(_request_schemas(1, 1, [])[schema_name]["properties"])
