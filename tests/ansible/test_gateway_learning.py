"""The gateway role's learning loop, rendered for real on the controller: the adaptive router and
its quality target from the tier, the shadow judgements (off unless asked) and their settings in
gateway.yml (through the gateway's own validator), the refit timer and service (hardening, systemd's
own `systemd-analyze verify`) on the first gateway host only, and the preflight's refusals."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from hybrid_ai import config as gateway_config
from tests.ansible.test_role_rendering import REPO, _playbook, _render_play
from tests.ansible.test_vllm_role import _failure, _json_results

ROLE = REPO / "ansible" / "roles" / "gateway"
GATEWAY_UNIT = "hybrid-ai-gateway.service"
TRAIN_SERVICE = "hybrid-ai-router-train.service"
TRAIN_TIMER = "hybrid-ai-router-train.timer"
TRAIN_ARGV = [
    "/opt/hybrid-ai/venv/bin/hybrid-ai", "router", "train", "--config", "/etc/hybrid-ai/gateway.yml", "--publish",
]  # fmt: skip


def _inventory(hosts: dict, groups: dict | None = None, **extra) -> dict:
    return {
        "all": {
            "vars": {"ansible_python_interpreter": sys.executable, **extra},
            "hosts": {name: {"ansible_connection": "local", **spec} for name, spec in hosts.items()},
            **({"children": {g: {"hosts": dict.fromkeys(h)} for g, h in groups.items()}} if groups else {}),
        }
    }


def _render(tmp_path: Path, inventory: dict) -> dict[str, dict]:
    out = tmp_path / "out"
    out.mkdir()
    result = _playbook(tmp_path, inventory, _render_play("gateway", "gateway.yml.j2", out))
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    return {p.stem: yaml.safe_load(p.read_text()) for p in out.glob("*.yml")}


def test_tiers_render_the_adaptive_router_its_quality_target_and_shadowing_off(tmp_path: Path) -> None:
    """Every tier's config has router adaptive and learning.quality_target 0.95 (from the tier),
    and a shadow block that is off, with the app's own defaults; the gateway's validator takes it."""
    hosts = {f"t{t}": {"hybrid_tier": t, "hybrid_llm_engine": "llamacpp"} for t in (1, 2, 3, 4)}
    rendered = _render(tmp_path, _inventory(hosts, hybrid_secrets_dir=str(tmp_path / "secrets")))
    assert set(rendered) == set(hosts)
    for name, data in rendered.items():
        assert data["shadow"]["enabled"] is False, name  # written out, not left to the app's default
        cfg = gateway_config.validate(data, env={}, source=name)
        assert cfg["router"] == "adaptive", name
        assert cfg["shadow"] == gateway_config.DEFAULTS["shadow"], name
        assert cfg["learning"]["quality_target"] == 0.95, name
        assert (cfg["learning"]["poll_s"], cfg["learning"]["min_labels"]) == (5, 50), name


def test_shadow_and_learning_settings_arrive_and_a_tier_without_target_gives_null(tmp_path: Path) -> None:
    """The role's variables reach the shadow: and learning: blocks as given; a tier that has no
    routing.quality_target (a copy of tier 1 without it), or gateway_quality_target: null, renders
    null (no target), still valid for the app."""
    kit = tmp_path / "kit"
    shutil.copytree(REPO / "tiers", kit / "tiers")
    tier1 = yaml.safe_load((kit / "tiers" / "tier1.yml").read_text())
    del tier1["routing"]["quality_target"]
    (kit / "tiers" / "tier1.yml").write_text(yaml.safe_dump(tier1, sort_keys=False))
    given = {
        "gateway_shadow_enabled": True,
        "gateway_shadow_rate": 0.2,
        "gateway_shadow_daily_budget_usd": 2.5,
        "gateway_shadow_max_concurrent": 2,
        "gateway_shadow_judge": "phi-2",
        "gateway_shadow_max_tokens": 256,
        "gateway_shadow_exclude_keys": ["0123456789abcdef"],
        "gateway_quality_target": 0.9,
        "gateway_router_poll_s": 10,
        "gateway_router_min_labels": 20,
    }
    hosts = {
        "given": {"hybrid_tier": 2, **given},
        "no-target": {"hybrid_tier": 1, "hybrid_kit_root": str(kit)},
        "null-target": {"hybrid_tier": 3, "gateway_quality_target": None},
    }
    rendered = _render(tmp_path, _inventory(hosts, hybrid_secrets_dir=str(tmp_path / "secrets")))
    cfg = {name: gateway_config.validate(data, env={}, source=name) for name, data in rendered.items()}
    assert cfg["given"]["shadow"] == {
        "enabled": True,
        "rate": 0.2,
        "daily_budget_usd": 2.5,
        "max_concurrent": 2,
        "judge": "phi-2",
        "max_tokens": 256,
        "exclude_keys": ["0123456789abcdef"],
    }
    assert {k: cfg["given"]["learning"][k] for k in ("quality_target", "poll_s", "min_labels")} == {
        "quality_target": 0.9,
        "poll_s": 10,
        "min_labels": 20,
    }
    for name in ("no-target", "null-target"):
        assert rendered[name]["learning"]["quality_target"] is None, name
        assert cfg[name]["router"] == "adaptive" and cfg[name]["shadow"]["enabled"] is False, name


def _units_play(out: Path) -> list:
    """The role's preflight, then its units into out/<host>/: the gateway's always, the refit
    timer and service under the condition configure.yml installs them with."""
    templates = ROLE / "templates"
    dest = f"{out}/{{{{ inventory_hostname }}}}"
    return [
        {
            "hosts": "all",
            "gather_facts": False,
            "tasks": [
                {"ansible.builtin.include_role": {"name": "gateway", "tasks_from": "preflight", "public": True}},
                {
                    "ansible.builtin.file": {"path": dest, "state": "directory", "mode": "0700"},
                    "delegate_to": "localhost",
                },
                {
                    "ansible.builtin.template": {
                        "src": str(templates / f"{GATEWAY_UNIT}.j2"),
                        "dest": f"{dest}/{GATEWAY_UNIT}",
                        "mode": "0600",
                    },
                    "delegate_to": "localhost",
                },
                {
                    "ansible.builtin.template": {
                        "src": f"{templates}/{{{{ item }}}}.j2",
                        "dest": f"{dest}/{{{{ item }}}}",
                        "mode": "0600",
                    },
                    "loop": "{{ __gateway_refit_units }}",
                    "when": "__gateway_refit_here | bool",
                    "delegate_to": "localhost",
                },
            ],
        }
    ]


def _unit(path: Path) -> dict[str, list[str]]:
    keys: dict[str, list[str]] = {}
    for line in path.read_text().splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            k, v = line.split("=", 1)
            keys.setdefault(k, []).append(v)
    return keys


def _sandbox(path: Path) -> list[str]:
    """The unit's hardening lines: from NoNewPrivileges= to UMask=."""
    lines = [x for x in path.read_text().splitlines() if x and not x.startswith("#")]
    start = next(i for i, x in enumerate(lines) if x.startswith("NoNewPrivileges="))
    end = next(i for i, x in enumerate(lines) if x.startswith("UMask="))
    return lines[start : end + 1]


def test_configure_installs_the_refit_units_under_the_condition_the_test_renders_with() -> None:
    tasks = yaml.safe_load((ROLE / "tasks" / "configure.yml").read_text())
    refit = [t for t in tasks if "refit" in t["name"]]
    assert len(refit) == 3, [t["name"] for t in refit]  # service, timer, enable and start
    assert all(t.get("when") == "__gateway_refit_here | bool" for t in refit)
    main = yaml.safe_load((ROLE / "tasks" / "main.yml").read_text())
    absent = next(t for t in main if t["ansible.builtin.include_tasks"]["file"] == "router_refit_absent.yml")
    assert absent["when"] == "not (gateway_enabled | bool and __gateway_refit_here | bool)"


def test_the_refit_timer_runs_on_the_first_gateway_host_only(tmp_path: Path) -> None:
    """Two gateways: gw1 (the first of the group) gets the timer and the service, gw2 neither. One
    box without groups gets them; with a router other than adaptive, none. The units are the gateway
    unit's user and sandbox, pass systemd-analyze verify, and carry the schedule."""
    fleet = _inventory(
        {"gw1": {"hybrid_tier": 1}, "gw2": {"hybrid_tier": 1}},
        {"gateway": ["gw1", "gw2"]},
        hybrid_secrets_dir=str(tmp_path / "secrets"),
    )
    out = tmp_path / "out"
    result = _playbook(tmp_path, fleet, _units_play(out))
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    boxes = _inventory(
        {
            "box": {"hybrid_tier": 2},
            "box-3am": {"hybrid_tier": 2, "gateway_router_refit_on_calendar": "*-*-* 03:00:00"},
            "box-heuristic": {"hybrid_tier": 2, "gateway_router": "heuristic"},
        },
        hybrid_secrets_dir=str(tmp_path / "secrets"),
    )
    (tmp_path / "boxes").mkdir()
    result = _playbook(tmp_path / "boxes", boxes, _units_play(out))
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]

    def units(host: str) -> set[str]:
        return {p.name for p in (out / host).iterdir()}

    assert units("gw1") == units("box") == units("box-3am") == {GATEWAY_UNIT, TRAIN_SERVICE, TRAIN_TIMER}
    assert units("gw2") == units("box-heuristic") == {GATEWAY_UNIT}

    for host in ("gw1", "box", "box-3am"):
        gateway, service, timer = (out / host / u for u in (GATEWAY_UNIT, TRAIN_SERVICE, TRAIN_TIMER))
        svc, gw = _unit(service), _unit(gateway)
        assert svc["Type"] == ["oneshot"]
        assert (svc["User"], svc["Group"]) == (gw["User"], gw["Group"]) == (["hybrid-ai"], ["hybrid-ai"])
        assert shlex.split(svc["ExecStart"][0]) == TRAIN_ARGV
        assert svc["Environment"] == gw["Environment"]  # the same config and tier catalogue
        assert _sandbox(service) == _sandbox(gateway)
        for setting in ("ProtectSystem=strict", "ProtectHome=yes", "PrivateTmp=yes", "NoNewPrivileges=yes"):
            assert setting in _sandbox(service), (host, setting)
        # /run/hybrid-ai is the gateway's (its metrics): a oneshot that named it would remove it on exit
        assert "RuntimeDirectory" not in svc and "Install" not in service.read_text()
        tmr = _unit(timer)
        assert tmr["OnCalendar"] == ["*-*-* 03:00:00" if host == "box-3am" else "hourly"]
        assert tmr["Persistent"] == ["true"] and tmr["RandomizedDelaySec"] and tmr["Unit"] == [TRAIN_SERVICE]
        assert tmr["WantedBy"] == ["timers.target"]
        if shutil.which("systemd-analyze"):  # systemd's own parser: no unknown key or bad value
            verify = subprocess.run(
                ["systemd-analyze", "verify", str(gateway), str(service), str(timer)],
                capture_output=True,
                text=True,
                check=False,
            )
            problems = [x for x in (verify.stdout + verify.stderr).splitlines() if "is not executable" not in x]
            assert not problems, problems  # (the venv's binary is absent here)


def test_preflight_refuses_bad_shadow_and_learning_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each bad value stops the host with a message that names the variable and what to set."""
    monkeypatch.setenv("ANSIBLE_STDOUT_CALLBACK", "ansible.builtin.json")
    cases = {
        "ok": ({}, ""),
        "ok-local-judge": ({"gateway_shadow_judge": "tinyllama", "gateway_quality_target": 1}, ""),
        "ok-no-target": ({"gateway_quality_target": None, "gateway_shadow_rate": 0}, ""),
        "rate": (
            {"gateway_shadow_rate": 1.5},
            "Set gateway_shadow_rate to the share of requests shadow-judged, a number in [0, 1]",
        ),
        "negative-rate": ({"gateway_shadow_rate": -0.1}, "got -0.1"),
        "budget": ({"gateway_shadow_daily_budget_usd": -1}, "Set gateway_shadow_daily_budget_usd"),
        "judge": (
            {"gateway_shadow_judge": "phi-2"},
            "or one of the tier's local ladder models ['tinyllama']; got phi-2",
        ),
        "target-zero": (
            {"gateway_quality_target": 0},
            "Set gateway_quality_target to a share of cloud-only quality in (0, 1]",
        ),
        "target-high": ({"gateway_quality_target": 1.2}, "(got 1.2)"),
        "calendar": ({"gateway_router_refit_on_calendar": "every tuesday-ish"}, "Set gateway_router_refit_on_calendar"),
    }
    hosts = {name: {"hybrid_tier": 1, **settings} for name, (settings, _) in cases.items()}
    play = [
        {
            "hosts": "all",
            "gather_facts": False,
            "tasks": [{"ansible.builtin.include_role": {"name": "gateway", "tasks_from": "preflight"}}],
        }
    ]
    result = _playbook(tmp_path, _inventory(hosts, hybrid_secrets_dir=str(tmp_path / "secrets")), play)
    assert result.returncode != 0
    results = _json_results(result.stdout)
    for name, (_, message) in cases.items():
        msg = _failure(results[name])
        if message:
            assert message in msg, (name, msg)
        else:
            assert msg == "", (name, msg)
    assert "got 1.5" in _failure(results["rate"])
