"""The gateway's configuration: one YAML file (rendered by the Ansible gateway role), validated
at startup so a typo stops the service with a message that says what to fix, never later.

Env overrides: HYBRID_AI_CONFIG (the file), ANTHROPIC_API_KEY (wins over cloud.api_key_file),
COMPLEXITY_THRESHOLD_TINY / COMPLEXITY_THRESHOLD_PHI (first / second local rung's threshold).
"""

from __future__ import annotations

import copy
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import jsonschema
import yaml

from hybrid_ai import providers

DEFAULT_PATH = "/etc/hybrid-ai/gateway.yml"
ENGINES = ("ollama", "openai")
CLOUD = "cloud"
THRESHOLD_ENV = ("COMPLEXITY_THRESHOLD_TINY", "COMPLEXITY_THRESHOLD_PHI")


class ConfigError(ValueError):
    """The configuration is wrong; the message names the key and what to set."""


_NUM = {"type": "number"}
_POS = {"type": "number", "exclusiveMinimum": 0}
_NONNEG = {"type": "number", "minimum": 0}
_POSINT = {"type": "integer", "minimum": 1}
_STR = {"type": "string", "minLength": 1}
_OPT_STR = {"type": ["string", "null"]}


def _obj(props: dict[str, Any], required: tuple[str, ...] = ()) -> dict[str, Any]:
    return {"type": "object", "additionalProperties": False, "properties": props, "required": list(required)}


SCHEMA: dict[str, Any] = _obj(
    {
        "tier": {"type": "integer", "minimum": 1, "maximum": 4},
        "router": _STR,
        "thresholds": {"type": "object", "additionalProperties": {"type": "number", "exclusiveMinimum": 0}},
        "ladder": {
            "type": "array",
            "minItems": 1,
            "items": _obj({"model": _STR, "max_complexity": _POS}, ("model",)),
        },
        "models": {
            "type": "object",
            "additionalProperties": _obj(
                {
                    "engine": {"enum": list(ENGINES)},
                    "url": {"anyOf": [_STR, {"type": "array", "minItems": 1, "items": _STR}]},
                    "upstream_model": _STR,
                    "timeout_s": _POS,
                },
                ("engine", "url", "upstream_model"),
            ),
        },
        "cloud": _obj(
            {
                "provider": {"enum": ["anthropic"]},
                "model": _STR,
                "input_usd_per_mtok": _NONNEG,
                "output_usd_per_mtok": _NONNEG,
                "base_url": _OPT_STR,
                "api_key_file": _OPT_STR,
                "timeout_s": _POS,
                "monthly_budget_usd": _NONNEG,
            },
            ("model",),
        ),
        "redis": _obj({"url": _STR, "password_file": _OPT_STR, "cache_ttl_s": _POSINT}),
        "auth": _obj({"api_keys_file": _OPT_STR}),
        "limits": _obj(
            {
                "max_prompt_chars": _POSINT,
                "max_tokens_cap": _POSINT,
                "rate_limit_per_minute": {"type": "integer", "minimum": 0},
                "request_timeout_s": _POS,
            }
        ),
        "cascade": _obj({"enabled": {"type": "boolean"}}),
        "decisions": _obj({"keep_prompts": {"type": "boolean"}}),
        "taskwarrior": _obj(
            {
                "enabled": {"type": "boolean"},
                "taskrc": _OPT_STR,
                "data_dir": _OPT_STR,
                "batch_size": _POSINT,
                "flush_interval_s": _POS,
            }
        ),
        "n8n": _obj({"webhooks": {"type": ["object", "null"], "additionalProperties": _STR}}),
        "metrics": _obj({"multiproc_dir": _OPT_STR}),
        "shadow": _obj(
            {
                "enabled": {"type": "boolean"},
                "rate": {"type": "number", "minimum": 0, "maximum": 1},
                "daily_budget_usd": _NONNEG,
                "max_concurrent": _POSINT,
                "judge": _STR,
                "max_tokens": _POSINT,
                "exclude_keys": {"type": ["array", "null"], "items": _STR},
            }
        ),
        "learning": _obj(
            {
                "quality_target": {"type": ["number", "null"], "exclusiveMinimum": 0, "maximum": 1},
                "confidence": {"type": "number", "exclusiveMinimum": 0.5, "exclusiveMaximum": 1},
                "poll_s": _POS,
                "min_labels": _POSINT,
            }
        ),
    },
    ("ladder", "models", "cloud"),
)

DEFAULTS: dict[str, Any] = {
    "tier": None,
    "router": "heuristic",
    "thresholds": {},
    "cloud": {
        "provider": "anthropic",
        "base_url": None,
        "api_key_file": None,
        "timeout_s": 60,
        "monthly_budget_usd": 40,
    },
    "redis": {"url": "redis://127.0.0.1:6379/0", "password_file": None, "cache_ttl_s": 86400},
    "auth": {"api_keys_file": "/etc/hybrid-ai/api_keys"},
    "limits": {
        "max_prompt_chars": 32000,
        "max_tokens_cap": 2048,
        "rate_limit_per_minute": 120,
        "request_timeout_s": 180,
    },
    "cascade": {"enabled": False},
    # Decision records (Redis, 7 days) keep the prompt so `hybrid-ai router train` can learn
    # from feedback and escalations; false keeps only its sha256.
    "decisions": {"keep_prompts": True},
    "taskwarrior": {
        "enabled": False,
        "taskrc": "/var/lib/hybrid-ai/.taskrc",
        "data_dir": "/var/lib/hybrid-ai/task",
        "batch_size": 50,
        "flush_interval_s": 5,
    },
    "n8n": {"webhooks": {}},
    "metrics": {"multiproc_dir": "/run/hybrid-ai/metrics"},
    # Shadow judgements (hybrid_ai.shadow): off unless asked, because they send prompts that
    # would have stayed on the box to the cloud.
    "shadow": {
        "enabled": False,
        "rate": 0.05,
        "daily_budget_usd": 1.0,
        "max_concurrent": 1,
        "judge": "cloud",
        "max_tokens": 512,
        "exclude_keys": [],
    },
    # The adaptive router's learning loop (hybrid_ai.router.publish): thresholds follow from the
    # quality target once min_labels labels exist; gateways poll for a new model every poll_s.
    "learning": {"quality_target": None, "confidence": 0.95, "poll_s": 5, "min_labels": 50},
}
MODEL_DEFAULTS = {"timeout_s": 120}
WEBHOOK_KINDS = ("budget", "backend_down")


def _merge(defaults: Mapping[str, Any], given: Mapping[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(dict(defaults))
    for key, value in given.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping) and out[key]:
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _check_url(where: str, url: str, schemes: tuple[str, ...] = ("http", "https")) -> None:
    parsed = urlparse(url)
    if parsed.scheme not in schemes or not parsed.netloc:
        raise ConfigError(f"{where}: {url!r} is not a URL ({'/'.join(schemes)}://host:port...)")


def _threshold_env(env: Mapping[str, str], ladder: list[dict[str, Any]]) -> dict[str, float]:
    local = [r["model"] for r in ladder if r.get("max_complexity") is not None]
    out: dict[str, float] = {}
    for index, name in enumerate(THRESHOLD_ENV):
        raw = env.get(name)
        if raw is None or raw.strip() == "":
            continue
        if index >= len(local):
            raise ConfigError(f"{name} is set but the ladder has only {len(local)} local rung(s): unset it")
        try:
            value = float(raw)
        except ValueError:
            raise ConfigError(f"{name} must be a number in (0, 1], got {raw!r}") from None
        out[local[index]] = value
    return out


def validate(data: Any, env: Mapping[str, str] | None = None, source: str = "config") -> dict[str, Any]:
    """A validated copy of `data` with defaults filled and env overrides applied."""
    from hybrid_ai import router as routers

    env = os.environ if env is None else env
    if not isinstance(data, Mapping):
        raise ConfigError(f"{source}: expected a mapping at the top level")
    try:
        jsonschema.validate(data, SCHEMA)
    except jsonschema.ValidationError as exc:
        where = ".".join(str(p) for p in exc.absolute_path) or "(top level)"
        raise ConfigError(f"{source}: {where}: {exc.message}") from None
    cfg = _merge(DEFAULTS, data)
    cfg["models"] = {name: _merge(MODEL_DEFAULTS, spec) for name, spec in data["models"].items()}
    cfg["n8n"]["webhooks"] = dict(cfg["n8n"].get("webhooks") or {})

    if cfg["router"] not in routers.available():
        raise ConfigError(f"{source}: router {cfg['router']!r} is unknown; available: {routers.available()}")

    ladder = [dict(r) for r in cfg["ladder"]]
    if ladder[-1]["model"] != CLOUD or "max_complexity" in ladder[-1]:
        raise ConfigError(f"{source}: ladder: the last rung must be {{model: cloud}} without max_complexity")
    names = [r["model"] for r in ladder]
    if len(set(names)) != len(names):
        raise ConfigError(f"{source}: ladder: each model appears once, got {names}")
    for rung in ladder[:-1]:
        if rung["model"] == CLOUD or "max_complexity" not in rung:
            raise ConfigError(f"{source}: ladder: local rung {rung['model']!r} needs max_complexity (0..1]")
        if rung["model"] not in cfg["models"]:
            raise ConfigError(
                f"{source}: ladder model {rung['model']!r} has no entry under models: "
                f"add models.{rung['model']} with engine, url, upstream_model"
            )
    for name in cfg["models"]:
        if name not in names:
            raise ConfigError(f"{source}: models.{name} is not on the ladder; add it to the ladder or remove it")
    for name, spec in cfg["models"].items():
        replicas = providers.urls(spec)
        for i, url in enumerate(replicas):
            _check_url(f"{source}: models.{name}.url" + ("" if isinstance(spec["url"], str) else f"[{i}]"), url)
        if len(set(replicas)) != len(replicas):
            raise ConfigError(f"{source}: models.{name}.url lists a replica twice: {replicas}")
    overrides = {**cfg["thresholds"], **_threshold_env(env, ladder)}
    unknown = sorted(set(overrides) - set(names[:-1]))
    if unknown:
        raise ConfigError(f"{source}: thresholds for {unknown} name no local ladder rung; valid: {names[:-1]}")
    try:
        cfg["ladder"] = routers.apply_thresholds(ladder, overrides)
    except ValueError as exc:
        raise ConfigError(f"{source}: thresholds: {exc}") from None
    for rung in cfg["ladder"][:-1]:
        if not 0 < float(rung["max_complexity"]) <= 1:
            raise ConfigError(f"{source}: ladder: {rung['model']} max_complexity must be in (0, 1]")

    if cfg["shadow"]["judge"] not in names:
        raise ConfigError(f"{source}: shadow.judge {cfg['shadow']['judge']!r} is not a ladder model; valid: {names}")
    cfg["shadow"]["exclude_keys"] = list(cfg["shadow"].get("exclude_keys") or [])

    cloud = cfg["cloud"]
    if ("input_usd_per_mtok" in cloud) != ("output_usd_per_mtok" in cloud):
        raise ConfigError(f"{source}: cloud: give both input_usd_per_mtok and output_usd_per_mtok, or neither")
    if "input_usd_per_mtok" not in cloud:
        from hybrid_ai import tiers

        try:
            priced = tiers.cloud_models()
        except tiers.TierError:
            priced = {}
        if cloud["model"] not in priced:
            raise ConfigError(
                f"{source}: cloud model {cloud['model']!r} has no prices: set cloud.input_usd_per_mtok and "
                f"cloud.output_usd_per_mtok (priced in the catalogue: {sorted(priced)})"
            )
        cloud["input_usd_per_mtok"] = float(priced[cloud["model"]]["input_usd_per_mtok"])
        cloud["output_usd_per_mtok"] = float(priced[cloud["model"]]["output_usd_per_mtok"])
    if cloud["base_url"]:
        _check_url(f"{source}: cloud.base_url", cloud["base_url"])
    _check_url(f"{source}: redis.url", cfg["redis"]["url"], ("redis", "rediss", "unix"))
    for kind, url in cfg["n8n"]["webhooks"].items():
        if kind not in WEBHOOK_KINDS:
            raise ConfigError(f"{source}: n8n.webhooks.{kind}: unknown event; valid: {list(WEBHOOK_KINDS)}")
        _check_url(f"{source}: n8n.webhooks.{kind}", url)
    if cfg["taskwarrior"]["enabled"] and not (cfg["taskwarrior"]["taskrc"] and cfg["taskwarrior"]["data_dir"]):
        raise ConfigError(f"{source}: taskwarrior: enabled needs taskrc and data_dir")

    cloud["api_key"] = _read_secret(env.get("ANTHROPIC_API_KEY"), cloud.get("api_key_file"))
    cfg["redis"]["password"] = _read_secret(None, cfg["redis"].get("password_file"))
    cfg["_source"] = source
    return cfg


def _read_secret(value: str | None, path: str | None) -> str | None:
    """The env value if set, else the file's first line; a missing/unreadable file means none."""
    if value and value.strip():
        return value.strip()
    if not path:
        return None
    try:
        text = Path(path).read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return text.splitlines()[0].strip() if text else None


def load(path: str | os.PathLike[str] | None = None, env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Read and validate the config file: `path`, else $HYBRID_AI_CONFIG, else /etc/hybrid-ai/gateway.yml."""
    env = os.environ if env is None else env
    file = Path(path or env.get("HYBRID_AI_CONFIG") or DEFAULT_PATH)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            f"cannot read config {file}: {exc.strerror}; pass --config FILE or set HYBRID_AI_CONFIG"
        ) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{file}: not valid YAML: {exc}") from None
    return validate(data, env, str(file))


def local_models(cfg: Mapping[str, Any]) -> list[str]:
    """Local ladder models, cheapest first."""
    return [r["model"] for r in cfg["ladder"] if r["model"] != CLOUD]
