"""Roles run for real against the controller where that is safe: the gateway config rendered for
every tier and engine must pass the gateway's own validator, and the Ollama role must refuse an
archive it has no checksum for (the download itself cannot be exercised offline)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from hybrid_ai import config as gateway_config

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
ENGINES = ("ollama", "llamacpp")
TIERS = (1, 2, 3, 4)


def _playbook(tmp_path: Path, inventory: dict, play: list, extra: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    (tmp_path / "hosts.yml").write_text(yaml.safe_dump(inventory))
    (tmp_path / "play.yml").write_text(yaml.safe_dump(play, sort_keys=False))
    env = {
        **os.environ,
        "ANSIBLE_CONFIG": str(REPO / "ansible" / "ansible.cfg"),
        "ANSIBLE_LOCAL_TEMP": str(tmp_path / "tmp"),
        "PATH": f"{BIN}:{os.environ.get('PATH', '')}",
    }
    return subprocess.run(
        [str(BIN / "ansible-playbook"), "-i", str(tmp_path / "hosts.yml"), str(tmp_path / "play.yml"), *extra],
        capture_output=True,
        text=True,
        env=env,
        timeout=240,
        check=False,
    )


def _render_play(role: str, template: str, out: Path, hosts: str = "all") -> list:
    """A play that loads a role's variables (its preflight) and renders one of its templates into
    out/<host>.yml on the controller."""
    return [
        {
            "hosts": hosts,
            "gather_facts": False,
            "tasks": [
                {"ansible.builtin.include_role": {"name": role, "tasks_from": "preflight", "public": True}},
                {
                    "ansible.builtin.template": {
                        "src": str(REPO / "ansible/roles" / role / "templates" / template),
                        "dest": f"{out}/{{{{ inventory_hostname }}}}.yml",
                        "mode": "0600",
                    },
                    "delegate_to": "localhost",
                },
            ],
        }
    ]


def test_gateway_config_for_every_tier_and_engine_passes_the_gateway_validator(tmp_path: Path) -> None:
    hosts = {
        f"t{t}-{e}": {"hybrid_tier": t, "hybrid_llm_engine": e, "ansible_connection": "local"}
        for t in TIERS
        for e in ENGINES
    }
    out = tmp_path / "out"
    inventory = {
        "all": {
            "vars": {"ansible_python_interpreter": sys.executable, "hybrid_secrets_dir": str(tmp_path / "secrets")},
            "children": {g: {"hosts": dict.fromkeys(hosts)} for g in ("gateway", "llm", "cache")},
            "hosts": hosts,
        }
    }
    play = _render_play("gateway", "gateway.yml.j2", out)
    out.mkdir()
    result = _playbook(tmp_path, inventory, play)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    for name, spec in hosts.items():
        data = yaml.safe_load((out / f"{name}.yml").read_text())
        cfg = gateway_config.validate(data, env={}, source=name)
        tier = json.loads(
            subprocess.run(
                [sys.executable, "-m", "hybrid_ai.tiers", str(spec["hybrid_tier"])],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
        )
        ladder_models = [r["model"] for r in tier["routing"]["ladder"] if r["model"] != "cloud"]
        assert list(cfg["models"]) == ladder_models
        tags = {m["name"]: m["ollama_tag"] for m in tier["models"]}
        for model, entry in cfg["models"].items():
            if spec["hybrid_llm_engine"] == "ollama":
                assert (entry["engine"], entry["url"]) == ("ollama", "http://127.0.0.1:11434")
                assert entry["upstream_model"] == tags[model]
            else:
                assert (entry["engine"], entry["url"]) == ("openai", "http://127.0.0.1:8081/v1")
                assert entry["upstream_model"] == model
        assert cfg["cloud"]["input_usd_per_mtok"] == tier["cloud"]["input_usd_per_mtok"]
        assert cfg["limits"]["max_tokens_cap"] == tier["limits"]["max_tokens_cap"]
        assert cfg["taskwarrior"]["enabled"] == ("taskwarrior" in tier["services"])
    # one generated API key for the gateways, kept under the first (the inventory is written sorted)
    # on the controller outside the repository's tracked files
    keys = {p.parent.name: p.read_text().strip() for p in (tmp_path / "secrets").glob("*/api_key")}
    assert set(keys) == {sorted(hosts)[0]} and all(len(k) == 40 for k in keys.values())


def test_prometheus_scrapes_every_gateway_host(tmp_path: Path) -> None:
    """Several gateways: the monitoring host scrapes each (loopback for itself, the others by their
    private address); one box keeps 127.0.0.1:8080."""
    local = {"ansible_connection": "local", "hybrid_tier": 2}
    hosts = {
        "gw1": {**local, "hybrid_private_address": "10.0.0.2"},
        "gw2": {**local, "hybrid_private_address": "10.0.0.3", "gateway_port": 8081},
    }
    out = tmp_path / "out"
    out.mkdir()
    inventory = {
        "all": {
            "vars": {"ansible_python_interpreter": sys.executable},
            "children": {
                "fleet": {
                    "hosts": dict.fromkeys(["gw1", "gw2"]),
                    "children": {"gateway": {"hosts": dict.fromkeys(["gw1", "gw2"])}},
                },
            },
            "hosts": hosts,
        }
    }
    play = _render_play("prometheus", "prometheus.yml.j2", out)
    result = _playbook(tmp_path, inventory, play, ("--limit", "gw1"))
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    solo = tmp_path / "solo"
    solo.mkdir()
    one = {"all": {"vars": inventory["all"]["vars"], "hosts": {"solo": local}}}  # one box, no groups
    result = _playbook(solo, one, play)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]

    def targets(name: str) -> list[str]:
        data = yaml.safe_load((out / f"{name}.yml").read_text())
        job = next(j for j in data["scrape_configs"] if j["job_name"] == "hybrid-ai-gateway")
        return job["static_configs"][0]["targets"]

    assert targets("gw1") == ["127.0.0.1:8080", "10.0.0.3:8081"]
    assert targets("solo") == ["127.0.0.1:8080"]


def test_a_gateway_host_spreads_each_model_over_every_llm_host(tmp_path: Path) -> None:
    """A gateway that is not itself a model server gets every llm host's private address as
    replicas; a model server that also runs a gateway keeps its own engine."""
    local = {"ansible_connection": "local", "hybrid_tier": 2, "hybrid_llm_engine": "ollama"}
    hosts = {
        "gw1": {**local, "hybrid_private_address": "10.0.0.2"},
        "m1": {**local, "hybrid_private_address": "10.0.0.11"},
        "m2": {**local, "hybrid_private_address": "10.0.0.12"},
    }
    out = tmp_path / "out"
    out.mkdir()
    inventory = {
        "all": {
            "vars": {"ansible_python_interpreter": sys.executable, "hybrid_secrets_dir": str(tmp_path / "secrets")},
            "children": {
                "gateway": {"hosts": dict.fromkeys(["gw1", "m1"])},
                "llm": {"hosts": dict.fromkeys(["m1", "m2"])},
                "cache": {"hosts": dict.fromkeys(["gw1"])},
            },
            "hosts": hosts,
        }
    }
    play = _render_play("gateway", "gateway.yml.j2", out, hosts="gateway")
    result = _playbook(tmp_path, inventory, play)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    gw = gateway_config.validate(yaml.safe_load((out / "gw1.yml").read_text()), env={}, source="gw1")
    own = gateway_config.validate(yaml.safe_load((out / "m1.yml").read_text()), env={}, source="m1")
    for model in gw["models"]:
        assert gw["models"][model]["url"] == ["http://10.0.0.11:11434", "http://10.0.0.12:11434"]
        assert own["models"][model]["url"] == "http://127.0.0.1:11434"
    assert gw["redis"]["url"].startswith("redis://127.0.0.1:") and own["redis"]["url"].startswith("redis://10.0.0.2:")


@pytest.mark.parametrize(
    ("version", "sha", "ok"),
    [("0.13.3", None, True), ("9.9.9", None, False), ("9.9.9", "a" * 64, True), ("0.13.3", "not-a-sum", False)],
)
def test_ollama_refuses_an_archive_without_checksum(tmp_path: Path, version: str, sha: str | None, ok: bool) -> None:
    role_vars = {"ollama_version": version}
    if sha is not None:
        role_vars["ollama_archive_sha256"] = sha
    inventory = {
        "all": {"hosts": {"box": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}}}
    }
    play = [
        {
            "hosts": "all",
            "gather_facts": True,
            "gather_subset": ["!all", "!min", "platform"],
            "vars": role_vars,
            "tasks": [{"ansible.builtin.include_role": {"name": "ollama", "tasks_from": "preflight"}}],
        }
    ]
    result = _playbook(tmp_path, inventory, play)
    assert (result.returncode == 0) == ok, result.stdout[-3000:]
    if not ok:
        assert "sha256" in result.stdout


@pytest.mark.parametrize(("tier", "ok"), [(1, True), (2, False)])
def test_n8n_archive_is_required_only_where_the_tier_runs_n8n(tmp_path: Path, tier: int, ok: bool) -> None:
    """Tier 1 lists no n8n: a missing offline archive must not stop its converge (it did, for
    `make deploy TIER=1` on a fresh clone); tier 2 runs n8n and must refuse the missing archive."""
    inventory = {
        "all": {"hosts": {"box": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}}}
    }
    play = [
        {
            "hosts": "all",
            "gather_facts": False,
            "vars": {"hybrid_tier": tier, "n8n_prebuilt_archive": str(tmp_path / "absent-n8n.tar.gz")},
            "tasks": [
                {"ansible.builtin.include_role": {"name": "tier_facts", "public": True}},
                {"ansible.builtin.include_role": {"name": "n8n", "tasks_from": "preflight"}},
            ],
        }
    ]
    result = _playbook(tmp_path, inventory, play)
    assert (result.returncode == 0) == ok, result.stdout[-3000:]
    if not ok:
        assert "make n8n-bundle" in result.stdout


def test_a_fleet_shares_one_api_key_and_opens_the_gateway_port_to_the_private_network(tmp_path: Path) -> None:
    """Behind a load balancer any gateway may answer: every gateway host accepts the one key kept
    under the first gateway; the firewall of a gateway host admits its port from the private network
    (the load balancer, the monitoring host), a model server's does not; the monitoring host's Redis
    exporter reads the cache host by its private address."""
    local = {"ansible_connection": "local", "hybrid_tier": 1, "hybrid_llm_engine": "llamacpp"}
    hosts = {
        "gw1": {**local, "hybrid_private_address": "10.0.0.2"},
        "gw2": {**local, "hybrid_private_address": "10.0.0.3"},
        "m1": {**local, "hybrid_private_address": "10.0.0.11"},
        "c1": {**local, "hybrid_private_address": "10.0.0.21"},
    }
    inventory = {
        "all": {
            "vars": {
                "ansible_python_interpreter": sys.executable,
                "hybrid_secrets_dir": str(tmp_path / "secrets"),
                "hybrid_admin_cidrs": ["203.0.113.0/24"],
                "hybrid_gateway_cidrs": ["198.51.100.0/24"],
                "hybrid_private_cidrs": ["10.0.0.0/24"],
                "firewall_check_lockout": False,
                "prometheus_redis_exporter_password": "not-read-here",
            },
            "children": {
                "gateway": {"hosts": dict.fromkeys(["gw1", "gw2"])},
                "monitoring": {"hosts": dict.fromkeys(["gw1"])},
                "llm": {"hosts": dict.fromkeys(["m1"])},
                "cache": {"hosts": dict.fromkeys(["c1"])},
            },
            "hosts": hosts,
        }
    }
    for role, template, limit in (
        ("gateway", "gateway.yml.j2", "gateway"),
        ("firewall", "nftables.conf.j2", "all"),
        ("prometheus", "prometheus-redis-exporter.default.j2", "monitoring"),
    ):
        out = tmp_path / role
        out.mkdir()
        result = _playbook(tmp_path, inventory, _render_play(role, template, out, hosts=limit))
        assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    keys = sorted(p.parent.name for p in (tmp_path / "secrets").glob("*/api_key"))
    assert keys == ["gw1"], keys
    for name in ("gw1", "gw2"):
        cfg = gateway_config.validate(yaml.safe_load((tmp_path / "gateway" / f"{name}.yml").read_text()), env={})
        assert cfg["models"]["tinyllama"]["url"] == "http://10.0.0.11:8081/v1"
        assert cfg["redis"]["url"] == "redis://10.0.0.21:6379/0"

    def rules(name: str) -> list[str]:
        return [line.strip() for line in (tmp_path / "firewall" / f"{name}.yml").read_text().splitlines()]

    for name in ("gw1", "gw2"):
        assert "tcp dport 8080 ip saddr @private_v4 accept" in rules(name)
        assert "tcp dport 8080 ip saddr @gateway_v4 accept" in rules(name)
    for name in ("m1", "c1"):
        assert not any(r.startswith("tcp dport 8080 ip saddr @private") for r in rules(name)), rules(name)
    exporter = (tmp_path / "prometheus" / "gw1.yml").read_text()
    assert "--redis.addr=redis://10.0.0.21:6379" in exporter, exporter


def test_prometheus_scrapes_each_vllm_server_of_every_llm_host(tmp_path: Path) -> None:
    """vLLM serves each local model of the ladder on its own port: the monitoring host scrapes every
    one of them on every llm host (its own by loopback); other engines expose no metrics."""
    local = {"ansible_connection": "local", "hybrid_tier": 2, "hybrid_llm_engine": "vllm"}
    hosts = {
        "mon": {**local, "hybrid_private_address": "10.0.0.2"},
        "m1": {**local, "hybrid_private_address": "10.0.0.11"},
        "m2": {**local, "hybrid_private_address": "10.0.0.12", "vllm_base_port": 9000},
    }
    inventory = {
        "all": {
            "vars": {"ansible_python_interpreter": sys.executable, "prometheus_redis_exporter_password": "unused"},
            "children": {
                "monitoring": {"hosts": dict.fromkeys(["mon", "m1"])},
                "llm": {"hosts": dict.fromkeys(["m1", "m2"])},
            },
            "hosts": hosts,
        }
    }
    out = tmp_path / "out"
    out.mkdir()
    play = _render_play("prometheus", "prometheus.yml.j2", out, hosts="monitoring")
    play[0]["tasks"].insert(0, {"ansible.builtin.include_role": {"name": "tier_facts", "public": True}})  # as site.yml
    result = _playbook(tmp_path, inventory, play)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    tier = yaml.safe_load((REPO / "tiers" / "tier2.yml").read_text())
    n = len([r for r in tier["routing"]["ladder"] if r["model"] != "cloud"])

    def targets(name: str) -> list[str]:
        data = yaml.safe_load((out / f"{name}.yml").read_text())
        jobs = [j for j in data["scrape_configs"] if j["job_name"] == "model-server"]
        return jobs[0]["static_configs"][0]["targets"] if jobs else []

    m2 = [f"10.0.0.12:{9000 + i}" for i in range(n)]
    assert targets("mon") == [f"10.0.0.11:{8000 + i}" for i in range(n)] + m2
    assert targets("m1") == [f"127.0.0.1:{8000 + i}" for i in range(n)] + m2


def test_every_host_of_a_fleet_has_its_node_exporter_scraped(tmp_path: Path) -> None:
    """The monitoring host scrapes its own node exporter on loopback and every other host's (each
    once, whatever its groups) on the private address it listens on; a host that skips Prometheus or
    turns the exporter off is left out; one box keeps 127.0.0.1:9100."""
    local = {"ansible_connection": "local", "hybrid_tier": 2}
    hosts = {
        "gw1": {**local, "hybrid_private_address": "10.0.0.2"},
        "gw2": {**local, "hybrid_private_address": "10.0.0.3"},
        "m1": {**local, "hybrid_private_address": "10.0.0.11"},
        "m2": {**local, "hybrid_private_address": "10.0.0.12", "hybrid_skip_services": ["prometheus"]},
        "m3": {**local, "hybrid_private_address": "10.0.0.13", "prometheus_node_exporter_enabled": False},
        "c1": {**local, "hybrid_private_address": "10.0.0.21"},
    }
    inventory = {
        "all": {
            "vars": {"ansible_python_interpreter": sys.executable, "prometheus_redis_exporter_password": "unused"},
            "children": {
                "gateway": {"hosts": dict.fromkeys(["gw1", "gw2"])},
                "llm": {"hosts": dict.fromkeys(["m1", "m2", "m3", "gw2"])},
                "cache": {"hosts": dict.fromkeys(["c1"])},
                "monitoring": {"hosts": dict.fromkeys(["gw1"])},
                "automation": {"hosts": dict.fromkeys(["c1"])},
            },
            "hosts": hosts,
        }
    }
    out, args = tmp_path / "out", tmp_path / "args"
    out.mkdir()
    args.mkdir()
    play = _render_play("prometheus", "prometheus.yml.j2", out, hosts="monitoring")
    play += _render_play("prometheus", "prometheus-node-exporter.default.j2", args)
    result = _playbook(tmp_path, inventory, play)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    solo = tmp_path / "solo"
    (solo / "out").mkdir(parents=True)
    one = {"all": {"vars": inventory["all"]["vars"], "hosts": {"solo": local}}}  # one box, no groups
    result = _playbook(solo, one, _render_play("prometheus", "prometheus.yml.j2", solo / "out"))
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]

    def targets(path: Path) -> list[str]:
        data = yaml.safe_load(path.read_text())
        return next(j for j in data["scrape_configs"] if j["job_name"] == "node")["static_configs"][0]["targets"]

    assert targets(out / "gw1.yml") == ["127.0.0.1:9100", "10.0.0.3:9100", "10.0.0.11:9100", "10.0.0.21:9100"]
    assert targets(solo / "out" / "solo.yml") == ["127.0.0.1:9100"]

    def listen(name: str) -> str:
        text = (args / f"{name}.yml").read_text()
        return text.split("--web.listen-address=", 1)[1].split()[0]

    assert listen("gw1") == "127.0.0.1:9100"
    assert {h: listen(h) for h in ("gw2", "m1", "c1")} == {
        "gw2": "10.0.0.3:9100",
        "m1": "10.0.0.11:9100",
        "c1": "10.0.0.21:9100",
    }
