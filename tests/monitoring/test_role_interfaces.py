"""Role interface checks: every default is declared in meta/argument_specs.yml and vice versa."""

from __future__ import annotations

import pytest
import yaml

from .render import ROLES

MONITORING_ROLES = ["prometheus", "grafana", "postgresql", "n8n", "taskwarrior", "nvidia"]


def _present(role: str) -> bool:
    return (ROLES / role / "defaults" / "main.yml").exists()


@pytest.mark.parametrize("role", MONITORING_ROLES)
def test_defaults_match_argument_specs(role):
    if not _present(role):
        pytest.fail(f"role {role} missing")
    defaults = yaml.safe_load((ROLES / role / "defaults" / "main.yml").read_text()) or {}
    specs = yaml.safe_load((ROLES / role / "meta" / "argument_specs.yml").read_text())
    options = specs["argument_specs"]["main"]["options"]
    assert set(defaults) == set(options), (
        f"{role}: only in defaults {set(defaults) - set(options)}, only in specs {set(options) - set(defaults)}"
    )
    for name, spec in options.items():
        assert name.startswith(role + "_"), f"{role}: {name} is not prefixed with the role name"
        assert spec.get("description"), f"{role}: {name} has no description"
        assert spec.get("type"), f"{role}: {name} has no type"
    private = yaml.safe_load((ROLES / role / "vars" / "main.yml").read_text()) or {}
    assert all(k.startswith(f"__{role}_") for k in private), f"{role}: private vars must start with __{role}_"


@pytest.mark.parametrize("role", MONITORING_ROLES)
def test_templates_carry_the_managed_header(role):
    if not _present(role):
        pytest.fail(f"role {role} missing")
    for tpl in (ROLES / role / "templates").rglob("*.j2"):
        head = tpl.read_text().splitlines()[:2]  # line 2 after a shebang
        assert any("ansible_managed" in line for line in head), f"{tpl} must start with the ansible_managed comment"
