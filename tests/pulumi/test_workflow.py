"""The Pulumi CI workflow and the workflow lint (`make lint-workflows`) that guards it."""

from __future__ import annotations

import copy
import subprocess
import sys

import pytest
import yaml

from tests.pulumi.mocks import PULUMI_DIR, ROOT

sys.path.insert(0, str(ROOT / "infra" / "ci"))
import workflow_policy

WORKFLOW = ROOT / ".github" / "workflows" / "pulumi.yml"
CHECK_JSONSCHEMA = ROOT / ".venv" / "bin" / "check-jsonschema"


def load() -> dict:
    return yaml.safe_load(WORKFLOW.read_text())


def schema_check(path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(CHECK_JSONSCHEMA), "--builtin-schema", "vendor.github-workflows", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_schema_accepts_the_workflow():
    result = schema_check(WORKFLOW)
    assert result.returncode == 0, result.stdout + result.stderr


def test_schema_rejects_a_broken_workflow(tmp_path):
    doc = load()
    doc["jobs"]["test"]["runs-on"] = {"bogus": True}
    doc["jobs"]["test"]["steps"][0]["uses"] = 42
    bad = tmp_path / "bad.yml"
    bad.write_text(yaml.safe_dump(doc))
    result = schema_check(bad)
    assert result.returncode != 0
    assert "validation errors" in (result.stdout + result.stderr).lower()


def test_policy_accepts_the_workflow():
    assert workflow_policy.check(load(), "pulumi.yml") == []
    assert workflow_policy.main([str(WORKFLOW)]) == 0


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda d: d["jobs"]["test"]["steps"][0].update(uses="actions/checkout@v4"), "pinned to a full commit SHA"),
        (lambda d: d["jobs"]["test"]["steps"][1].update(uses="actions/setup-python@ece7cb0"), "pinned"),
        (lambda d: d.update(permissions="write-all"), "read-only"),
        (lambda d: d.update(permissions={"contents": "write"}), "read-only"),
        (lambda d: d.pop("permissions"), "top-level `permissions:`"),
        (lambda d: d["jobs"]["up"].update(permissions="write-all"), "never `permissions: write-all`"),
        (lambda d: d["jobs"]["preview"].pop("concurrency"), "concurrency group"),
        (lambda d: d["jobs"]["up"]["steps"][0].pop("with"), "persist-credentials: false"),
    ],
)
def test_policy_catches(mutate, expected):
    doc = copy.deepcopy(load())
    mutate(doc)
    assert any(expected in p for p in workflow_policy.check(doc, "x.yml"))


def test_triggers_permissions_and_concurrency():
    doc = load()
    on = doc[True] if True in doc else doc["on"]  # YAML 1.1 reads the `on:` key as True
    assert on["push"]["branches"] == ["main"] and "pull_request" in on
    assert doc["permissions"] == {"contents": "read"}
    jobs = doc["jobs"]
    assert "pull_request" in jobs["preview"]["if"] and "push" not in jobs["preview"]["if"]
    assert "refs/heads/main" in jobs["up"]["if"] and "push" in jobs["up"]["if"]
    assert "permissions" not in jobs["test"], "the test job needs no more than the read-only default"
    assert jobs["up"]["permissions"] == {"contents": "read", "id-token": "write"}
    assert jobs["preview"]["permissions"]["pull-requests"] == "write"
    assert jobs["up"]["concurrency"]["cancel-in-progress"] is False, "never cancel a pulumi up halfway"
    assert "matrix.stack" in jobs["up"]["concurrency"]["group"]
    commands = {
        name: [
            s["with"]["command"]
            for s in job["steps"]
            if str(s.get("uses", "")).startswith("pulumi/actions@") and "with" in s
        ]
        for name, job in jobs.items()
    }
    assert commands == {"test": [], "preview": ["preview"], "up": ["up"]}


def test_default_matrix_stacks_are_committed():
    for name in ("preview", "up"):
        expr = load()["jobs"][name]["strategy"]["matrix"]["stack"]
        default = expr.split("||", 1)[1].strip().rstrip("}").strip().strip("')")
        for stack in yaml.safe_load(default):
            assert (PULUMI_DIR / f"Pulumi.{stack}.yaml").is_file(), stack
