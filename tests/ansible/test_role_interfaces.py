"""Every role's public interface is declared twice: defaults/main.yml (the values) and
meta/argument_specs.yml (type, choices, description). They must list the same keys, and each
declared option must say what it is, so `ansible-playbook` validates what users set."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

ROLES_DIR = Path(__file__).resolve().parents[2] / "ansible" / "roles"
ROLES = sorted(p for p in ROLES_DIR.iterdir() if p.is_dir()) if ROLES_DIR.is_dir() else []
KNOWN_TYPES = {"str", "int", "float", "bool", "list", "dict", "path", "raw", "bytes", "bits", "jsonarg", "json"}


def _load(path: Path) -> dict:
    if not path.is_file():
        return {}
    return yaml.safe_load(path.read_text(encoding="utf-8")) or {}


def test_roles_found() -> None:
    names = {p.name for p in ROLES}
    assert {"tier_facts", "base", "firewall", "redis", "llamacpp", "ollama", "gateway"} <= names


@pytest.mark.parametrize("role", ROLES, ids=lambda p: p.name)
def test_defaults_match_argument_specs(role: Path) -> None:
    defaults = _load(role / "defaults" / "main.yml")
    specs = _load(role / "meta" / "argument_specs.yml")
    assert specs, f"{role.name}: meta/argument_specs.yml is missing or empty"
    options = specs["argument_specs"]["main"].get("options") or {}
    missing_in_specs = sorted(set(defaults) - set(options))
    missing_in_defaults = sorted(set(options) - set(defaults))
    assert not missing_in_specs, f"{role.name}: defaults without an argument spec: {missing_in_specs}"
    assert not missing_in_defaults, f"{role.name}: argument specs without a default: {missing_in_defaults}"


@pytest.mark.parametrize("role", ROLES, ids=lambda p: p.name)
def test_argument_specs_are_described(role: Path) -> None:
    specs = _load(role / "meta" / "argument_specs.yml")
    options = (specs.get("argument_specs", {}).get("main") or {}).get("options") or {}
    for name, spec in options.items():
        assert spec.get("type") in KNOWN_TYPES, f"{role.name}.{name}: type missing or unknown ({spec.get('type')})"
        assert spec.get("description"), f"{role.name}.{name}: no description"


@pytest.mark.parametrize("role", ROLES, ids=lambda p: p.name)
def test_public_names_are_prefixed(role: Path) -> None:
    """Public variables carry the role name (shared inventory variables carry hybrid_)."""
    defaults = _load(role / "defaults" / "main.yml")
    prefix = role.name + "_"
    wrong = sorted(k for k in defaults if not (k.startswith(prefix) or k.startswith("hybrid_")))
    assert not wrong, f"{role.name}: public variables must start with {prefix!r}: {wrong}"
    private = _load(role / "vars" / "main.yml")
    wrong_private = sorted(k for k in private if not k.startswith("__" + prefix))
    assert not wrong_private, f"{role.name}: vars/main.yml names must start with '__{prefix}': {wrong_private}"
