"""Render the monitoring roles' templates with their defaults, the way Ansible would, for tests."""

from __future__ import annotations

import json
from pathlib import Path

import jinja2
import yaml

ROOT = Path(__file__).resolve().parents[2]
ROLES = ROOT / "ansible" / "roles"


def role_vars(role: str, **overrides) -> dict:
    data: dict = {}
    for rel in ("defaults/main.yml", "vars/main.yml"):
        path = ROLES / role / rel
        if path.exists():
            data.update(yaml.safe_load(path.read_text()) or {})
    data.update(overrides)
    data.setdefault("ansible_managed", "Managed by Ansible (hybrid-ai-stack)")
    # Resolve values that refer to other role variables (e.g. "{{ taskwarrior_data_dir }}/hooks"), as
    # Ansible does lazily; values that need facts or other roles stay as they are.
    env = _env(None)
    for _ in range(3):
        for key, value in data.items():
            if isinstance(value, str) and "{{" in value and key not in overrides:
                try:
                    data[key] = env.from_string(value).render(**data)
                except jinja2.UndefinedError:
                    pass
    return data


def _nice_yaml(value, indent=2):
    return yaml.safe_dump(value, indent=indent, default_flow_style=False, sort_keys=True)


def _env(role: str | None) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(ROLES / role / "templates")) if role else None,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
    )
    env.filters["comment"] = lambda text: "\n".join("# " + line for line in str(text).splitlines())
    env.filters["to_json"] = json.dumps
    env.filters["to_nice_yaml"] = _nice_yaml
    env.filters["bool"] = lambda v: v if isinstance(v, bool) else str(v).lower() in ("1", "true", "yes", "on")
    return env


def render(role: str, template: str, **overrides) -> str:
    return _env(role).get_template(template).render(**role_vars(role, **overrides))
