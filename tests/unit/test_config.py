"""Gateway config: the contracts.md format loads; every mistake is a clear error at startup."""

from __future__ import annotations

import copy

import pytest
import yaml

from hybrid_ai import config
from hybrid_ai.config import ConfigError

BASE = {
    "tier": 2,
    "router": "heuristic",
    "thresholds": {},
    "ladder": [
        {"model": "tinyllama", "max_complexity": 0.3},
        {"model": "phi-2", "max_complexity": 0.6},
        {"model": "cloud"},
    ],
    "models": {
        "tinyllama": {"engine": "ollama", "url": "http://127.0.0.1:11434", "upstream_model": "tinyllama:1.1b"},
        "phi-2": {"engine": "openai", "url": "http://127.0.0.1:8081/v1", "upstream_model": "phi-2", "timeout_s": 30},
    },
    "cloud": {
        "provider": "anthropic",
        "model": "claude-sonnet-4-6",
        "input_usd_per_mtok": 3.0,
        "output_usd_per_mtok": 15.0,
        "base_url": None,
        "api_key_file": None,
        "timeout_s": 60,
        "monthly_budget_usd": 40,
    },
    "redis": {"url": "redis://127.0.0.1:6379/0", "password_file": None, "cache_ttl_s": 86400},
    "auth": {"api_keys_file": "/nonexistent/keys"},
    "limits": {
        "max_prompt_chars": 32000,
        "max_tokens_cap": 2048,
        "rate_limit_per_minute": 120,
        "request_timeout_s": 180,
    },
    "cascade": {"enabled": False},
    "taskwarrior": {
        "enabled": True,
        "taskrc": "/var/lib/hybrid-ai/.taskrc",
        "data_dir": "/var/lib/hybrid-ai/task",
        "batch_size": 50,
        "flush_interval_s": 5,
    },
    "n8n": {"webhooks": {}},
    "metrics": {"multiproc_dir": "/run/hybrid-ai/metrics"},
}


def cfg(**changes):
    data = copy.deepcopy(BASE)
    for dotted, value in changes.items():
        node = data
        parts = dotted.split("__")
        for p in parts[:-1]:
            node = node[p]
        if value is ...:
            del node[parts[-1]]
        else:
            node[parts[-1]] = value
    return data


def test_contract_example_loads_with_defaults(tmp_path):
    path = tmp_path / "gateway.yml"
    path.write_text(yaml.safe_dump(BASE))
    c = config.load(path, env={})
    assert [r["model"] for r in c["ladder"]] == ["tinyllama", "phi-2", "cloud"]
    assert c["models"]["tinyllama"]["timeout_s"] == 120  # default
    assert c["cloud"]["api_key"] is None
    assert config.local_models(c) == ["tinyllama", "phi-2"]


def test_minimal_config_gets_defaults_and_catalogue_prices():
    c = config.validate(
        {"ladder": BASE["ladder"], "models": BASE["models"], "cloud": {"model": "claude-haiku-4-5"}}, env={}
    )
    assert c["cloud"]["input_usd_per_mtok"] == 1.0 and c["cloud"]["output_usd_per_mtok"] == 5.0
    assert c["limits"]["max_tokens_cap"] == 2048 and c["redis"]["cache_ttl_s"] == 86400
    assert c["cascade"]["enabled"] is False


def test_env_overrides_thresholds_and_key(tmp_path):
    env = {"COMPLEXITY_THRESHOLD_TINY": "0.2", "COMPLEXITY_THRESHOLD_PHI": "0.7", "ANTHROPIC_API_KEY": "sk-env"}
    keyfile = tmp_path / "key"
    keyfile.write_text("sk-file\n")
    c = config.validate(cfg(cloud__api_key_file=str(keyfile)), env=env)
    assert [r.get("max_complexity") for r in c["ladder"]] == [0.2, 0.7, None]
    assert c["cloud"]["api_key"] == "sk-env"
    assert config.validate(cfg(cloud__api_key_file=str(keyfile)), env={})["cloud"]["api_key"] == "sk-file"


def test_config_thresholds_apply_and_env_wins():
    c = config.validate(cfg(thresholds={"tinyllama": 0.25}), env={})
    assert c["ladder"][0]["max_complexity"] == 0.25
    c = config.validate(cfg(thresholds={"tinyllama": 0.25}), env={"COMPLEXITY_THRESHOLD_TINY": "0.1"})
    assert c["ladder"][0]["max_complexity"] == 0.1


def test_hybrid_ai_config_env_names_the_file(tmp_path):
    path = tmp_path / "g.yml"
    path.write_text(yaml.safe_dump(BASE))
    assert config.load(None, env={"HYBRID_AI_CONFIG": str(path)})["tier"] == 2


@pytest.mark.parametrize(
    ("changes", "needle"),
    [
        ({"bogus": 1}, "bogus"),
        ({"limits__max_tokens_capp": 5}, "max_tokens_capp"),
        ({"limits__max_tokens_cap": 0}, "limits.max_tokens_cap"),
        ({"limits__rate_limit_per_minute": "lots"}, "limits.rate_limit_per_minute"),
        ({"router": "psychic"}, "psychic"),
        ({"ladder": [{"model": "tinyllama", "max_complexity": 0.3}]}, "last rung"),
        ({"ladder": [{"model": "tinyllama"}, {"model": "cloud"}]}, "max_complexity"),
        ({"ladder": [{"model": "mistral", "max_complexity": 0.3}, {"model": "cloud"}]}, "mistral"),
        ({"models__tinyllama__engine": "vllm"}, "engine"),
        ({"models__tinyllama__url": "localhost:11434"}, "not a URL"),
        ({"models__tinyllama__url": ["http://10.0.0.5:11434", "10.0.0.6:11434"]}, "models.tinyllama.url[1]"),
        ({"models__tinyllama__url": ["http://10.0.0.5:11434", "http://10.0.0.5:11434"]}, "replica twice"),
        ({"models__tinyllama__url": []}, "models.tinyllama.url"),
        ({"models__tinyllama__upstream_model": ...}, "upstream_model"),
        ({"thresholds": {"tinyllama": 0.7}}, "increase"),
        ({"thresholds": {"gpt": 0.2}}, "gpt"),
        ({"thresholds": {"tinyllama": 1.5}}, "(0, 1]"),
        ({"cloud__model": "gpt-x", "cloud__input_usd_per_mtok": ..., "cloud__output_usd_per_mtok": ...}, "no prices"),
        ({"cloud__output_usd_per_mtok": ...}, "both"),
        ({"cloud__input_usd_per_mtok": -1}, "cloud.input_usd_per_mtok"),
        ({"cloud__provider": "openai"}, "cloud.provider"),
        ({"redis__url": "http://x"}, "redis.url"),
        ({"n8n__webhooks": {"party": "http://x"}}, "party"),
        ({"n8n__webhooks": {"budget": "not a url"}}, "n8n.webhooks.budget"),
        ({"tier": 7}, "tier"),
        ({"cascade__enabled": "yes"}, "cascade.enabled"),
    ],
)
def test_bad_values_are_clear_errors(changes, needle):
    with pytest.raises(ConfigError) as exc:
        config.validate(cfg(**changes), env={})
    assert needle in str(exc.value)


def test_models_not_on_ladder_and_missing_model_entry():
    data = cfg()
    data["models"]["mistral"] = dict(data["models"]["phi-2"])
    with pytest.raises(ConfigError, match=r"models\.mistral is not on the ladder"):
        config.validate(data, env={})
    data = cfg()
    del data["models"]["phi-2"]
    with pytest.raises(ConfigError, match=r"add models\.phi-2"):
        config.validate(data, env={})


@pytest.mark.parametrize(
    ("env", "needle"),
    [
        ({"COMPLEXITY_THRESHOLD_TINY": "abc"}, "COMPLEXITY_THRESHOLD_TINY must be a number"),
        ({"COMPLEXITY_THRESHOLD_PHI": "0.1"}, "increase"),
        ({"COMPLEXITY_THRESHOLD_TINY": "0"}, "(0, 1]"),
    ],
)
def test_bad_env_overrides(env, needle):
    with pytest.raises(ConfigError) as exc:
        config.validate(cfg(), env=env)
    assert needle in str(exc.value)


def test_phi_threshold_on_a_one_rung_ladder_is_an_error():
    data = cfg(ladder=[{"model": "tinyllama", "max_complexity": 0.3}, {"model": "cloud"}])
    del data["models"]["phi-2"]
    with pytest.raises(ConfigError, match="only 1 local rung"):
        config.validate(data, env={"COMPLEXITY_THRESHOLD_PHI": "0.5"})


def test_unreadable_or_invalid_files(tmp_path):
    with pytest.raises(ConfigError, match="cannot read config"):
        config.load(tmp_path / "missing.yml", env={})
    bad = tmp_path / "bad.yml"
    bad.write_text("ladder: [\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        config.load(bad, env={})
    bad.write_text("- just\n- a list\n")
    with pytest.raises(ConfigError, match="mapping"):
        config.load(bad, env={})


def test_secrets_from_files(tmp_path):
    pw = tmp_path / "pw"
    pw.write_text("s3cret\n")
    c = config.validate(cfg(redis__password_file=str(pw), cloud__api_key_file=str(tmp_path / "none")), env={})
    assert c["redis"]["password"] == "s3cret" and c["cloud"]["api_key"] is None


def test_a_model_may_list_replicas():
    c = config.validate(cfg(models__tinyllama__url=["http://10.0.0.5:11434", "http://10.0.0.6:11434"]), env={})
    from hybrid_ai import providers

    assert providers.urls(c["models"]["tinyllama"]) == ["http://10.0.0.5:11434", "http://10.0.0.6:11434"]
    assert providers.urls(c["models"]["phi-2"]) == ["http://127.0.0.1:8081/v1"]
