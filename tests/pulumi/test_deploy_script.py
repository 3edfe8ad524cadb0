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
from hybrid_infra.inventory import fleet_record, inventory_record

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


def make_deploy(tmp_path, *args: str) -> subprocess.CompletedProcess:
    """`make deploy ARGS` with no pulumi CLI: how far the front door gets before it stops."""
    return subprocess.run(
        ["make", "--no-print-directory", "deploy", *args, f"PULUMI={NO_CLI}", f"HOME={tmp_path}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_make_deploy_aws_reaches_the_script(tmp_path):
    result = make_deploy(tmp_path, "CLOUD=aws", "TIER=3")
    assert result.returncode != 0
    assert "the pulumi CLI is not installed" in result.stderr
    assert 'STACK="aws-tier3"' in result.stdout


@pytest.mark.parametrize("nodes", ["2", "2x", "x3", "2x3x4", "two-by-three", "2 x 3"])
def test_bad_nodes(tmp_path, nodes):
    result = run("up", tmp_path, CLOUD="aws", TIER="2", NODES=nodes)
    assert result.returncode == 1
    assert f"NODES must be <gateways>x<model boxes>, e.g. NODES=2x3 (got '{nodes}')" in result.stderr
    assert "==> [1/" not in result.stdout, "stopped before any step"


def test_inventory_of_a_fleet_from_saved_outputs(tmp_path):
    settings = validate(base_config("aws", 3, fleet="2x2"), stack="aws-fleet")
    nodes = [
        {
            "name": f"box-{role}{i}",
            "role": role,
            "groups": groups,
            "public_ip": f"198.18.7.{n}",
            "private_ip": f"10.42.1.{n}",
        }
        for n, (role, i, groups) in enumerate(
            [
                ("gateway", 1, ["gateway", "cache", "monitoring", "automation"]),
                ("gateway", 2, ["gateway"]),
                ("model", 1, ["llm"]),
                ("model", 2, ["llm"]),
            ],
            start=10,
        )
    ]
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps({"inventory": fleet_record(settings, "lb.example.test", nodes)}))
    result = run("inventory", tmp_path, STACK="aws-fleet", OUTPUTS=str(outputs))
    assert result.returncode == 0, result.stderr
    assert "gateway (load balancer): http://lb.example.test:8080" in result.stdout
    text = (tmp_path / "inventories" / "aws-fleet" / "hosts.yml").read_text()
    assert "# A fleet: the gateways answer behind the load balancer at http://lb.example.test:8080" in text
    doc = yaml.safe_load(text)["all"]
    assert list(doc["hosts"]) == ["box-gateway1", "box-gateway2", "box-model1", "box-model2"]
    assert doc["hosts"]["box-model2"]["hybrid_private_address"] == "10.42.1.13"
    assert list(doc["children"]["llm"]["hosts"]) == ["box-model1", "box-model2"]


def test_make_deploy_passes_nodes_through(tmp_path):
    result = make_deploy(tmp_path, "CLOUD=gcp", "TIER=4", "NODES=2x3")
    assert result.returncode != 0
    assert "the pulumi CLI is not installed" in result.stderr
    assert 'NODES="2x3"' in result.stdout and 'STACK="gcp-tier4"' in result.stdout
