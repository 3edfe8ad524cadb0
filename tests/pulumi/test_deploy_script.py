"""infra/pulumi/deploy.sh (behind make deploy-aws|deploy-gcp|destroy-*|inventory): the paths
that need no Pulumi CLI or cloud account. The CLI is absent here, so `up` must stop with a
clear message before any cloud call."""

from __future__ import annotations

import json
import os
import subprocess

import pytest
import yaml
from hybrid_infra.config import validate
from hybrid_infra.inventory import inventory_record

from tests.pulumi.mocks import ROOT, base_config

SCRIPT = ROOT / "infra" / "pulumi" / "deploy.sh"
NO_CLI = "pulumi-cli-that-is-not-installed"


def run(action: str, tmp_path, **env) -> subprocess.CompletedProcess:
    full = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "PULUMI": NO_CLI,
        "PY": str(ROOT / ".venv" / "bin" / "python"),
        "INVENTORY_ROOT": str(tmp_path / "inventories"),
        **env,
    }
    return subprocess.run(["bash", str(SCRIPT), action], capture_output=True, text=True, env=full, timeout=60)


@pytest.mark.parametrize("action", ["up", "destroy", "inventory", "configure"])
def test_missing_cli_is_a_clear_error(tmp_path, action):
    result = run(action, tmp_path, CLOUD="aws", TIER="1")
    assert result.returncode == 1
    assert "the pulumi CLI is not installed" in result.stderr
    assert "No cloud call was made" in result.stderr
    assert "==> [1/" in result.stdout, "progress is shown"


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"CLOUD": "azure", "TIER": "1"}, "CLOUD must be aws or gcp"),
        ({"CLOUD": "gcp", "TIER": "5"}, "TIER must be 1, 2, 3 or 4"),
        ({"CLOUD": "aws", "TIER": "1", "STACK": "../x"}, "STACK must be a plain stack name"),
    ],
)
def test_bad_cloud_tier_stack(tmp_path, env, expected):
    result = run("up", tmp_path, **env)
    assert result.returncode == 1 and expected in result.stderr


def test_unknown_action(tmp_path):
    result = run("launch", tmp_path, CLOUD="aws", TIER="1")
    assert result.returncode == 1 and "usage:" in result.stderr


def test_inventory_from_saved_outputs(tmp_path):
    settings = validate(base_config("gcp", 2), stack="gcp-tier2")
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps({"inventory": inventory_record(settings, "198.18.0.40")}))
    result = run("inventory", tmp_path, STACK="gcp-tier2", OUTPUTS=str(outputs))
    assert result.returncode == 0, result.stderr
    written = tmp_path / "inventories" / "gcp-tier2" / "hosts.yml"
    host = yaml.safe_load(written.read_text())["all"]["hosts"]["hybrid-ai-gcp-tier2"]
    assert host["ansible_host"] == "198.18.0.40" and host["hybrid_tier"] == 2


def test_make_deploy_aws_reaches_the_script(tmp_path):
    result = subprocess.run(
        ["make", "--no-print-directory", "deploy", "CLOUD=aws", "TIER=3", f"PULUMI={NO_CLI}", f"HOME={tmp_path}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "the pulumi CLI is not installed" in result.stderr
    assert 'STACK="aws-tier3"' in result.stdout
