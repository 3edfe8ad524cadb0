"""The vLLM role run for real against the controller up to what needs a GPU: its preflight and the
units it renders (tensor-parallel size from the GPU count, one port and served name per ladder
model, hardening), the gateway config for hybrid_llm_engine=vllm, the refusals (no checksum, no
weights, a lock for another version, no GPU), and the hashed lock itself. vLLM itself is not
installed or started here (no GPU)."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from hybrid_ai import config as gateway_config
from tests.ansible.test_role_rendering import REPO, _playbook, _render_play

LOCK = REPO / "requirements" / "vllm.lock"
ROLE = REPO / "ansible" / "roles" / "vllm"
TIER4_LADDER = ["tinyllama", "llama3.1-8b", "qwen2.5-14b"]  # tiers/tier4.yml's local rungs, in order
TIER4_SIZES = {"tinyllama": 900, "llama3.1-8b": 5600, "qwen2.5-14b": 9800}  # vram_mb, else ram_mb
SHA = "0123456789abcdef" * 4


def _local_weights(models: list[str]) -> dict:
    return {m: {"source": "local", "path": f"/srv/models/{m}"} for m in models}


def _units_play(out: Path) -> list:
    """The role's preflight, then its unit template once per server into out/<host>/<unit>."""
    return [
        {
            "hosts": "all",
            "gather_facts": False,
            "tasks": [
                {"ansible.builtin.include_role": {"name": "vllm", "tasks_from": "preflight", "public": True}},
                {
                    "ansible.builtin.file": {"path": f"{out}/{{{{ inventory_hostname }}}}", "state": "directory"},
                    "delegate_to": "localhost",
                },
                {
                    "ansible.builtin.template": {
                        "src": str(ROLE / "templates" / "vllm.service.j2"),
                        "dest": f"{out}/{{{{ inventory_hostname }}}}/{{{{ server.unit }}}}",
                        "mode": "0600",
                    },
                    "loop": "{{ __vllm_servers }}",
                    "loop_control": {"loop_var": "server"},
                    "delegate_to": "localhost",
                },
            ],
        }
    ]


def _inventory(hosts: dict, groups: dict | None = None, **extra) -> dict:
    return {
        "all": {
            "vars": {"ansible_python_interpreter": sys.executable, **extra},
            "hosts": hosts,
            **({"children": {g: {"hosts": dict.fromkeys(h)} for g, h in groups.items()}} if groups else {}),
        }
    }


def _unit(path: Path) -> tuple[dict[str, list[str]], list[str]]:
    """systemd unit -> ({key: [values]}, ExecStart argv)."""
    text = path.read_text().replace("\\\n", " ")
    keys: dict[str, list[str]] = {}
    for line in text.splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            k, v = line.split("=", 1)
            keys.setdefault(k, []).append(v)
    return keys, shlex.split(keys["ExecStart"][0])


def _flag(argv: list[str], name: str) -> str:
    return argv[argv.index(name) + 1]


def _json_results(stdout: str) -> dict[str, list[dict]]:
    """Per host, the task results of a run with the json callback (task name, failed, msg)."""
    data, _ = json.JSONDecoder().raw_decode(stdout[stdout.index("{") :])  # the timing recap follows it
    out: dict[str, list[dict]] = {}
    for play in data["plays"]:
        for task in play["tasks"]:
            for host, res in task["hosts"].items():
                out.setdefault(host, []).append({"task": task["task"]["name"], **res})
    return out


def _failure(results: list[dict]) -> str:
    """The message of a host's failed task (of its failed item, for a loop); "" when none failed."""
    failed = [r for r in results if r.get("failed")]
    if not failed:
        return ""
    items = [i for i in failed[0].get("results", []) if i.get("failed")]
    return (items[0] if items else failed[0])["msg"]


def test_units_carry_the_tensor_parallel_size_ports_names_and_hardening(tmp_path: Path) -> None:
    """1, 2, 4 GPUs give --tensor-parallel-size 1, 2, 4 (3 gives 2: vLLM needs a size the heads
    divide by); an explicit size wins; each ladder model has its own port and served name."""
    local = {"ansible_connection": "local", "hybrid_tier": 4, "vllm_models": _local_weights(TIER4_LADDER)}
    hosts = {
        "g1": {**local, "vllm_gpu_count": 1},
        "g2": {**local, "vllm_gpu_count": 2},
        "g3": {**local, "vllm_gpu_count": 3},
        "g4": {**local, "vllm_gpu_count": 4},
        "g4tp1": {**local, "vllm_gpu_count": 4, "vllm_tensor_parallel_size": 1, "vllm_base_port": 9000},
        "priv": {**local, "vllm_gpu_count": 1, "hybrid_private_address": "10.0.0.11"},
    }
    out = tmp_path / "out"
    result = _playbook(tmp_path, _inventory(hosts), _units_play(out))
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    expected_tp = {"g1": 1, "g2": 2, "g3": 2, "g4": 4, "g4tp1": 1, "priv": 1}
    for host, tp in expected_tp.items():
        units = sorted((out / host).iterdir())
        assert [u.name for u in units] == sorted(f"vllm-{m}.service" for m in TIER4_LADDER)
        fractions = {}
        for i, model in enumerate(TIER4_LADDER):
            keys, argv = _unit(out / host / f"vllm-{model}.service")
            assert argv[:3] == ["/opt/vllm/venv/bin/vllm", "serve", f"/srv/models/{model}"]
            assert _flag(argv, "--tensor-parallel-size") == str(tp)
            assert _flag(argv, "--served-model-name") == model
            assert _flag(argv, "--port") == str((9000 if host == "g4tp1" else 8000) + i)
            assert _flag(argv, "--host") == ("10.0.0.11" if host == "priv" else "127.0.0.1")
            assert _flag(argv, "--max-model-len") == {"tinyllama": "2048"}.get(model, "8192")
            fractions[model] = float(_flag(argv, "--gpu-memory-utilization"))
            # hardening, offline hub, the GPU devices and nothing else, the weights read-only
            for setting in ("ProtectSystem=strict", "ProtectHome=yes", "PrivateTmp=yes", "NoNewPrivileges=yes"):
                k, v = setting.split("=")
                assert keys[k] == [v], (host, model, k)
            assert keys["User"] == ["vllm"] and keys["DevicePolicy"] == ["closed"]
            gpus = int(hosts[host]["vllm_gpu_count"])
            assert {f"/dev/nvidia{n} rw" for n in range(gpus)} <= set(keys["DeviceAllow"])
            assert f"/dev/nvidia{gpus} rw" not in keys["DeviceAllow"]
            assert "HF_HUB_OFFLINE=1" in keys["Environment"]
            assert keys["ReadOnlyPaths"] == [f"/srv/models/{model}"]
            assert keys["ReadWritePaths"] == ["/var/lib/vllm"]
            # servers load one after the other: each starts after the previous ones
            after = keys["After"][0].split()
            assert [u for u in after if u.startswith("vllm-")] == [f"vllm-{m}.service" for m in TIER4_LADDER[:i]]
            assert keys["ExecStartPost"][0].endswith(f":{_flag(argv, '--port')}/health")
        if shutil.which("systemd-analyze"):  # systemd's own parser: no unknown key or bad value
            verify = subprocess.run(
                ["systemd-analyze", "verify", *map(str, units)], capture_output=True, text=True, check=False
            )
            problems = [x for x in (verify.stdout + verify.stderr).splitlines() if "is not executable" not in x]
            assert not problems, problems  # (the venv's binaries are absent here: vLLM is not installed)
        # one card, several servers: the memory split follows the models' sizes and stays under 0.9
        assert sum(fractions.values()) <= 0.9
        total = sum(TIER4_SIZES.values())
        for model, frac in fractions.items():
            assert frac == pytest.approx(0.9 * TIER4_SIZES[model] / total, abs=0.001)


def test_gateway_reaches_each_vllm_model_on_its_own_port(tmp_path: Path) -> None:
    """One box: loopback, port 8000 + the model's place in the ladder. A gateway host apart from
    its model servers: each llm host's private address, same per-model port (a list of replicas
    when there are several)."""
    local = {"ansible_connection": "local", "hybrid_tier": 4, "hybrid_llm_engine": "vllm"}
    hosts = {
        "box": {**local},
        "gw": {**local, "hybrid_private_address": "10.0.0.2"},
        "m1": {**local, "hybrid_private_address": "10.0.0.11"},
        "m2": {**local, "hybrid_private_address": "10.0.0.12"},
    }
    out = tmp_path / "out"
    out.mkdir()
    one_box = _inventory({"box": hosts["box"]}, hybrid_secrets_dir=str(tmp_path / "secrets"))
    result = _playbook(tmp_path, one_box, _render_play("gateway", "gateway.yml.j2", out))
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    fleet = _inventory(
        {k: v for k, v in hosts.items() if k != "box"},
        {"gateway": ["gw"], "cache": ["gw"], "llm": ["m1", "m2"]},
        hybrid_secrets_dir=str(tmp_path / "secrets"),
    )
    result = _playbook(tmp_path, fleet, _render_play("gateway", "gateway.yml.j2", out, hosts="gateway"))
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    box = gateway_config.validate(yaml.safe_load((out / "box.yml").read_text()), env={}, source="box")
    gw = gateway_config.validate(yaml.safe_load((out / "gw.yml").read_text()), env={}, source="gw")
    assert list(box["models"]) == TIER4_LADDER == list(gw["models"])
    for i, model in enumerate(TIER4_LADDER):
        assert box["models"][model]["engine"] == "openai"
        assert box["models"][model]["upstream_model"] == model  # the unit's --served-model-name
        assert box["models"][model]["url"] == f"http://127.0.0.1:{8000 + i}/v1"
        assert gw["models"][model]["url"] == [f"http://10.0.0.11:{8000 + i}/v1", f"http://10.0.0.12:{8000 + i}/v1"]


def test_the_gateway_and_the_servers_agree_on_a_moved_base_port(tmp_path: Path) -> None:
    local = {"ansible_connection": "local", "hybrid_tier": 4, "hybrid_llm_engine": "vllm", "vllm_base_port": 8100}
    out = tmp_path / "out"
    out.mkdir()
    inv = _inventory({"box": local}, hybrid_secrets_dir=str(tmp_path / "secrets"))
    result = _playbook(tmp_path, inv, _render_play("gateway", "gateway.yml.j2", out))
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    cfg = yaml.safe_load((out / "box.yml").read_text())
    assert [cfg["models"][m]["url"] for m in TIER4_LADDER] == [f"http://127.0.0.1:{8100 + i}/v1" for i in range(3)]


def test_preflight_refuses_bad_weights_and_says_what_to_set(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("ANSIBLE_STDOUT_CALLBACK", "ansible.builtin.json")
    base = _local_weights(TIER4_LADDER)
    url_ok = {"source": "url", "url": "https://example.org/qwen.tar", "sha256": SHA}
    files_ok = {"source": "url", "files": [{"url": "https://example.org/r/model.safetensors", "sha256": SHA}]}
    cases = {
        "ok": (base | {"qwen2.5-14b": url_ok, "tinyllama": files_ok}, ""),
        "url_no_sha": (
            base | {"qwen2.5-14b": {"source": "url", "url": "https://example.org/q.tar"}},
            "without a checksum",
        ),
        "url_bad_sha": (base | {"qwen2.5-14b": url_ok | {"sha256": "abc"}}, "without a checksum"),
        "file_no_sha": (
            base | {"tinyllama": {"source": "url", "files": [{"url": "https://example.org/r/config.json"}]}},
            "without a checksum",
        ),
        "missing": ({"tinyllama": base["tinyllama"]}, "no weights for ['llama3.1-8b', 'qwen2.5-14b']"),
        "relative": (base | {"tinyllama": {"source": "local", "path": "models/tiny"}}, "absolute path"),
        "unknown_source": (base | {"tinyllama": {"source": "hub"}}, "needs source: local"),
        "old_lock": (base, "does not pin vllm==9.9.9"),
    }
    hosts = {
        name: {
            "ansible_connection": "local",
            "hybrid_tier": 4,
            "vllm_gpu_count": 1,
            "vllm_models": models,
            **({"vllm_version": "9.9.9"} if name == "old_lock" else {}),
        }
        for name, (models, _) in cases.items()
    }
    play = [
        {
            "hosts": "all",
            "gather_facts": False,
            "tasks": [{"ansible.builtin.include_role": {"name": "vllm", "tasks_from": "preflight"}}],
        }
    ]
    result = _playbook(tmp_path, _inventory(hosts), play)
    assert result.returncode != 0
    results = _json_results(result.stdout)
    for name, (_, message) in cases.items():
        msg = _failure(results[name])
        if message:
            assert message in msg, (name, msg)
        else:
            assert msg == "", (name, msg)
    assert "Hugging Face" in _failure(results["url_no_sha"])
    # the hint names the weights the tier lists for the missing models
    assert "Qwen/Qwen2.5-14B-Instruct-AWQ" in _failure(results["missing"])
    assert "make vllm-lock VLLM_VERSION=9.9.9" in _failure(results["old_lock"])


@pytest.mark.skipif(shutil.which("nvidia-smi") is not None, reason="this machine has nvidia-smi")
def test_preflight_refuses_a_host_without_a_gpu(tmp_path: Path) -> None:
    """vllm_gpu_count 0 counts GPUs with nvidia-smi; with none (this machine), the role stops."""
    hosts = {"box": {"ansible_connection": "local", "hybrid_tier": 4, "vllm_models": _local_weights(TIER4_LADDER)}}
    play = [{"hosts": "all", "gather_facts": False, "tasks": [{"ansible.builtin.include_role": {"name": "vllm"}}]}]
    result = _playbook(tmp_path, _inventory(hosts), play)
    assert result.returncode != 0
    assert "vLLM needs an NVIDIA GPU" in result.stdout, result.stdout[-3000:]


def _lock_entries(text: str) -> dict[str, list[tuple[str, list[str]]]]:
    """name -> [(version, [sha256...])] from a pip-compile style lock (a name may appear once per marker)."""
    entries: dict[str, list[tuple[str, list[str]]]] = {}
    current: list[str] | None = None
    for line in text.splitlines():
        m = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^ ;\\]+)", line)
        if m:
            current = []
            entries.setdefault(m.group(1).lower(), []).append((m.group(2), current))
        elif line.strip().startswith("--hash="):
            assert current is not None, line
            current.append(line.strip().removeprefix("--hash=").rstrip(" \\"))
        elif line.strip() and not line.lstrip().startswith("#"):
            raise AssertionError(f"unexpected lock line: {line!r}")
    return entries


def test_the_lock_pins_the_roles_vllm_with_a_hash_for_every_requirement() -> None:
    text = LOCK.read_text()
    entries = _lock_entries(text)
    version = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())["vllm_version"]
    assert [v for v, _ in entries["vllm"]] == [version]
    make_version = re.search(r"^VLLM_VERSION \?= (\S+)$", (REPO / "mk" / "vllm.mk").read_text(), re.M)
    assert make_version and make_version.group(1) == version
    assert "torch" in entries and len(entries) > 100
    unhashed = [n for n, pins in entries.items() for _, hashes in pins if not hashes]
    assert not unhashed
    bad = [
        h
        for pins in entries.values()
        for _, hashes in pins
        for h in hashes
        if not re.fullmatch(r"sha256:[0-9a-f]{64}", h)
    ]
    assert not bad
    assert "make vllm-lock" in "\n".join(text.splitlines()[:5])
    # pip --require-hashes refuses editable, URL or unpinned requirements: none may be in the lock
    assert not re.search(r"^(-e |\S+ @ |git\+)", text, re.M)


def test_vllm_is_an_engine_the_gateway_and_the_site_playbook_know() -> None:
    specs = yaml.safe_load((REPO / "ansible/roles/gateway/meta/argument_specs.yml").read_text())
    assert "vllm" in specs["argument_specs"]["main"]["options"]["hybrid_llm_engine"]["choices"]
    site = yaml.safe_load((REPO / "ansible/playbooks/site.yml").read_text())
    engine_play = next(p for p in site if p["hosts"] == "llm")
    task = next(t for t in engine_play["tasks"] if t.get("ansible.builtin.include_role", {}).get("name") == "vllm")
    assert "hybrid_llm_engine | default('ollama') == 'vllm'" in task["when"]
    names = [t.get("ansible.builtin.include_role", {}).get("name") for t in engine_play["tasks"]]
    assert names.index("vllm") > names.index("nvidia")  # the driver first: the preflight counts GPUs
    ports = yaml.safe_load((REPO / "ansible/roles/firewall/defaults/main.yml").read_text())["firewall_private_ports"]
    assert {8000, 8001, 8002} <= set(ports)
