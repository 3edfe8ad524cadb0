"""The taskwarrior role's taskrc and on-add hook, run by Debian's real `task`."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

from .render import render

TASK = shutil.which("task") or "/usr/bin/task"


@pytest.fixture
def tw(tmp_path):
    data = tmp_path / "task"
    hooks = data / "hooks"
    hooks.mkdir(parents=True)
    overrides = {"taskwarrior_data_dir": str(data), "taskwarrior_taskrc": str(tmp_path / ".taskrc")}
    (tmp_path / ".taskrc").write_text(render("taskwarrior", "taskrc.j2", **overrides))
    hook = hooks / "on-add-hybrid-ai-routing.py"
    hook.write_text(render("taskwarrior", "on-add-hybrid-ai-routing.py.j2", **overrides))
    hook.chmod(0o755)
    env = {**os.environ, "TASKRC": str(tmp_path / ".taskrc"), "TASKDATA": str(data), "HOME": str(tmp_path)}

    def run(*args, stdin=None):
        return subprocess.run([TASK, *args], env=env, input=stdin, capture_output=True, text=True, timeout=30)

    return run


def _record(**over):
    rec = {
        "description": "route r-1 -> tinyllama",
        "project": "vps_ai.router",
        "tags": ["routing"],
        "status": "completed",
        "entry": "20261126T120000Z",
        "end": "20261126T120000Z",
        "model": "tinyllama",
        "backend": "ollama",
        "complexity": 0.12,
        "cost": 0,
        "cloudcost": 0.00102,
        "reqid": "r-1",
        "tokensin": 40,
        "tokensout": 60,
    }
    rec.update(over)
    return {k: v for k, v in rec.items() if v is not None}


def test_well_formed_routing_records_import_and_show_in_the_report(tw):
    recs = [_record(), _record(reqid="r-2", model="claude-sonnet-4-6", backend="anthropic", cost=0.0102)]
    out = tw("import", "-", stdin="\n".join(json.dumps(r) for r in recs))
    assert out.returncode == 0, out.stdout + out.stderr
    exported = json.loads(tw("project:vps_ai.router", "export").stdout)
    assert sorted(t["reqid"] for t in exported) == ["r-1", "r-2"]
    assert {t["model"]: t["cost"] for t in exported}["claude-sonnet-4-6"] == pytest.approx(0.0102)
    report = tw("rc.defaultwidth:200", "routing")
    assert report.returncode == 0, report.stderr
    assert "claude-sonnet-4-6" in report.stdout and "anthropic" in report.stdout


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"model": None}, "missing model"),
        ({"backend": None}, "missing backend"),
        ({"cost": None}, "cost must be a number"),
    ],
)
def test_malformed_routing_records_are_rejected(tw, change, message):
    out = tw("import", "-", stdin=json.dumps(_record(**change)))
    assert out.returncode != 0
    assert message in out.stdout + out.stderr
    assert tw("project:vps_ai.router", "export").stdout.strip() in ("[]", "[\n]", "")


def test_hook_rejects_add_without_udas_but_leaves_other_projects_alone(tw):
    bad = tw("add", "project:vps_ai.router", "+routing", "route x -> y")
    assert bad.returncode != 0 and "Rejected routing task" in bad.stdout + bad.stderr
    ok = tw("add", "project:home", "buy milk")
    assert ok.returncode == 0, ok.stdout + ok.stderr
