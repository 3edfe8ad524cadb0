"""The inventory writer: `pulumi stack output --json` -> inventories/<stack>/hosts.yml."""

from __future__ import annotations

import copy
import io
import json
import os
import subprocess
import sys

import pytest
import yaml
from hybrid_infra.config import validate
from hybrid_infra.inventory import (
    GROUPS,
    InventoryError,
    fleet_record,
    hosts_document,
    inventory_record,
    main,
    write_inventory,
)

from tests.pulumi.mocks import ADMIN, GATEWAY, ROOT, base_config


def stack_outputs(cloud: str = "aws", tier: int = 2, ip: str = "198.18.0.10") -> dict:
    """What `pulumi stack output --json` prints for a deployed stack."""
    settings = validate(base_config(cloud, tier), stack=f"{cloud}-tier{tier}")
    record = inventory_record(settings, ip, "10.42.1.10")
    return {
        "inventory": record,
        "public_ip": ip,
        "gateway_url": f"http://{ip}:8080",
        "hybrid_tier": tier,
        "cloud": cloud,
    }


def test_hosts_yml_shape(tmp_path):
    path = write_inventory(stack_outputs("aws", 3), "aws-tier3", tmp_path)
    assert path == tmp_path / "aws-tier3" / "hosts.yml"
    text = path.read_text()
    assert text.startswith("# Written from `pulumi stack output --json` of stack aws-tier3")
    doc = yaml.safe_load(text)
    host = doc["all"]["hosts"]["hybrid-ai-aws-tier3"]
    assert host == {
        "ansible_host": "198.18.0.10",
        "ansible_user": "admin",
        "ansible_python_interpreter": "/usr/bin/python3",
        "hybrid_tier": 3,
        "hybrid_cloud": "aws",
    }
    assert doc["all"]["vars"] == {"hybrid_admin_cidrs": [ADMIN], "hybrid_gateway_cidrs": [GATEWAY]}
    assert list(doc["all"]["children"]) == list(GROUPS) == ["gateway", "llm", "cache", "monitoring", "automation"]
    for group in GROUPS:
        assert doc["all"]["children"][group]["hosts"] == {"hybrid-ai-aws-tier3": None}


def test_gcp_user_and_rewrite_is_stable(tmp_path):
    outputs = stack_outputs("gcp", 4, "198.18.0.20")
    first = write_inventory(outputs, "gcp-tier4", tmp_path).read_text()
    second = write_inventory(outputs, "gcp-tier4", tmp_path).read_text()
    assert first == second
    host = yaml.safe_load(first)["all"]["hosts"]["hybrid-ai-gcp-tier4"]
    assert (host["ansible_user"], host["hybrid_tier"], host["ansible_host"]) == ("hybrid", 4, "198.18.0.20")
    assert not list(tmp_path.rglob("*.tmp"))


def test_accepts_just_the_inventory_output():
    record = stack_outputs()["inventory"]
    assert hosts_document(record) == hosts_document({"inventory": record})
    assert hosts_document({"inventory": {"value": record}}) == hosts_document(record)


def test_tier_change_shows_in_inventory(tmp_path):
    write_inventory(stack_outputs("aws", 1), "aws-a", tmp_path)
    path = write_inventory(stack_outputs("aws", 2), "aws-a", tmp_path)
    assert yaml.safe_load(path.read_text())["all"]["hosts"]["hybrid-ai-aws-tier2"]["hybrid_tier"] == 2


def _broken(mutate) -> dict:
    outputs = copy.deepcopy(stack_outputs())
    mutate(outputs)
    return outputs


@pytest.mark.parametrize(
    ("outputs", "expected"),
    [
        ({}, "no `inventory` output"),
        ({"inventory": "[secret]"}, "--show-secrets"),
        ({"inventory": {"hosts": []}}, "no `inventory` output"),
        (_broken(lambda o: o["inventory"].update(schema=99)), "schema 99"),
        (_broken(lambda o: o["inventory"]["hosts"][0].update(host="")), "no public address yet"),
        (_broken(lambda o: o["inventory"]["hosts"][0].update(host="1.2.3.4; rm -rf /")), "no public address yet"),
        (_broken(lambda o: o["inventory"]["hosts"][0].update(user=None)), "no SSH user"),
        (_broken(lambda o: o["inventory"]["hosts"][0].update(hybrid_tier=5)), "hybrid_tier must be 1..4"),
        (_broken(lambda o: o["inventory"]["hosts"][0].update(groups=["web"])), "unknown group 'web'"),
        ([1, 2], "must be a JSON object"),
    ],
)
def test_bad_outputs(outputs, expected):
    with pytest.raises(InventoryError, match=None) as info:
        hosts_document(outputs)
    assert expected in str(info.value)


@pytest.mark.parametrize("stack", ["../etc", "org/aws-tier1", "", "a b"])
def test_bad_stack_names(tmp_path, stack):
    with pytest.raises(InventoryError, match="stack name"):
        write_inventory(stack_outputs(), stack, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_cli_stdin_and_file(tmp_path, monkeypatch, capsys):
    text = json.dumps(stack_outputs("gcp", 1, "198.18.0.30"))
    monkeypatch.setattr(sys, "stdin", io.StringIO(text))
    assert main(["--stack", "gcp-tier1", "--out-dir", str(tmp_path)]) == 0
    assert "wrote" in capsys.readouterr().out
    assert (tmp_path / "gcp-tier1" / "hosts.yml").is_file()
    src = tmp_path / "outputs.json"
    src.write_text(text)
    assert main(["--stack", "copy", "--outputs", str(src), "--out-dir", str(tmp_path)]) == 0
    assert (tmp_path / "copy" / "hosts.yml").read_text().replace("copy", "gcp-tier1") == (
        tmp_path / "gcp-tier1" / "hosts.yml"
    ).read_text()
    monkeypatch.setattr(sys, "stdin", io.StringIO("Error: no stack selected"))
    assert main(["--stack", "x", "--out-dir", str(tmp_path)]) == 2
    assert "not JSON" in capsys.readouterr().err


def ansible_inventory(path, tmp_path) -> dict:
    """What `ansible-inventory --list` reads from the written file (no settings of this shell)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env.update(ANSIBLE_HOME=str(tmp_path / "ah"), ANSIBLE_LOCAL_TEMP=str(tmp_path / "tmp"))
    out = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "ansible-inventory"), "-i", str(path), "--list"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
        check=True,
    )
    return json.loads(out.stdout)


def test_ansible_reads_the_inventory(tmp_path):
    path = write_inventory(stack_outputs("aws", 4), "aws-tier4", tmp_path)
    data = ansible_inventory(path, tmp_path)
    for group in GROUPS:
        assert data[group]["hosts"] == ["hybrid-ai-aws-tier4"]
    hostvars = data["_meta"]["hostvars"]["hybrid-ai-aws-tier4"]
    assert hostvars["hybrid_tier"] == 4 and hostvars["ansible_user"] == "admin"
    assert hostvars["hybrid_admin_cidrs"] == [ADMIN]


def fleet_outputs(cloud: str = "gcp", gateways: int = 2, models: int = 3) -> dict:
    settings = validate(base_config(cloud, 2, fleet={"gateways": gateways, "models": models}), stack=f"{cloud}-fleet")
    nodes = [
        {
            "name": f"{settings.name}-{'gw' if role == 'gateway' else 'm'}{i}",
            "role": role,
            "groups": (["gateway", "cache", "monitoring", "automation"] if i == 1 else ["gateway"])
            if role == "gateway"
            else ["llm"],
            "public_ip": f"198.18.{8 if role == 'gateway' else 9}.{i}",
            "private_ip": f"10.42.1.{(10 if role == 'gateway' else 20) + i}",
        }
        for role, count in (("model", models), ("gateway", gateways))  # out of order: gateways come first anyway
        for i in range(1, count + 1)
    ]
    return {"inventory": fleet_record(settings, "198.18.10.1", nodes)}


def test_fleet_hosts_yml(tmp_path):
    path = write_inventory(fleet_outputs("gcp", 2, 3), "gcp-fleet", tmp_path)
    doc = yaml.safe_load(path.read_text())["all"]
    gws = ["hybrid-ai-gcp-fleet-gw1", "hybrid-ai-gcp-fleet-gw2"]
    models = [f"hybrid-ai-gcp-fleet-m{i}" for i in (1, 2, 3)]
    assert list(doc["hosts"]) == gws + models
    assert doc["hosts"]["hybrid-ai-gcp-fleet-gw2"] == {
        "ansible_host": "198.18.8.2",
        "ansible_user": "hybrid",
        "ansible_python_interpreter": "/usr/bin/python3",
        "hybrid_tier": 2,
        "hybrid_cloud": "gcp",
        "hybrid_private_address": "10.42.1.12",
    }
    assert {g: list(c["hosts"]) for g, c in doc["children"].items()} == {
        "gateway": gws,
        "llm": models,
        "cache": gws[:1],
        "monitoring": gws[:1],
        "automation": gws[:1],
    }
    assert doc["vars"]["hybrid_private_cidrs"] == ["10.42.1.0/24"]
    assert doc["vars"]["hybrid_gateway_cidrs"][0] == GATEWAY
    assert {"35.191.0.0/16", "10.42.1.0/24"} <= set(doc["vars"]["hybrid_gateway_cidrs"])


def test_fleet_ansible_reads_the_inventory(tmp_path):
    path = write_inventory(fleet_outputs("aws", 2, 2), "aws-fleet", tmp_path)
    data = ansible_inventory(path, tmp_path)
    assert data["gateway"]["hosts"] == ["hybrid-ai-aws-fleet-gw1", "hybrid-ai-aws-fleet-gw2"]
    assert data["llm"]["hosts"] == ["hybrid-ai-aws-fleet-m1", "hybrid-ai-aws-fleet-m2"]
    assert data["cache"]["hosts"] == data["monitoring"]["hosts"] == ["hybrid-ai-aws-fleet-gw1"]
    hostvars = data["_meta"]["hostvars"]
    assert hostvars["hybrid-ai-aws-fleet-m2"]["hybrid_private_address"] == "10.42.1.22"
    assert hostvars["hybrid-ai-aws-fleet-m2"]["hybrid_private_cidrs"] == ["10.42.1.0/24"]
    assert hostvars["hybrid-ai-aws-fleet-gw1"]["ansible_host"] == "198.18.8.1"


def _broken_fleet(mutate) -> dict:
    outputs = copy.deepcopy(fleet_outputs())
    mutate(outputs["inventory"])
    return outputs


@pytest.mark.parametrize(
    ("outputs", "expected"),
    [
        (_broken_fleet(lambda r: r["hosts"][2].update(private_ip=None)), "no private address yet (None)"),
        (_broken_fleet(lambda r: r["hosts"][0].update(private_ip="10.42.1.300")), "no private address yet"),
        (
            _broken_fleet(lambda r: r.update(hosts=r["hosts"][:2])),
            "a fleet needs a host in every group; none in ['llm']",
        ),
        (_broken_fleet(lambda r: r.update(fleet="2x3")), "`fleet` must be a mapping"),
    ],
)
def test_bad_fleet_outputs(outputs, expected):
    with pytest.raises(InventoryError) as info:
        hosts_document(outputs)
    assert expected in str(info.value)


def test_one_box_inventory_has_no_private_address():
    """The one box keeps every service on loopback: no hybrid_private_address, no private CIDRs."""
    doc = hosts_document(stack_outputs("gcp", 2))["all"]
    (hostvars,) = doc["hosts"].values()
    assert "hybrid_private_address" not in hostvars and "hybrid_private_cidrs" not in doc["vars"]
