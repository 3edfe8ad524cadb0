"""Behaviour of the core of a tier (base, firewall, llama.cpp, Redis, gateway) in a container.

Shared by molecule/stack-core and the tier scenarios: `from stack_checks import *` in a scenario's
tests, with the `tier_no` fixture in its conftest.py. Expectations come from tiers/tierN.yml."""

from __future__ import annotations

import json
import shlex
import socket
import urllib.request
from pathlib import Path

import pytest
import yaml
from helpers import assert_service, exposure, listeners, secrets_dir, unit_properties

UNITS = {"hybrid-ai-gateway.service": "hybrid-ai", "llamacpp.service": "llamacpp"}


def _api_key(host) -> str:
    return (secrets_dir() / host.backend.get_hostname() / "api_key").read_text().strip()


def _tier(tier_no: int) -> dict:
    return yaml.safe_load((Path(__file__).resolve().parents[2] / "tiers" / f"tier{tier_no}.yml").read_text())


def _container_ip(host) -> str:
    return host.check_output("ip -4 -o addr show eth0 | awk '{print $4}' | cut -d/ -f1")


def test_core_services_active_and_enabled(host):
    for unit in ("hybrid-ai-gateway", "llamacpp", "redis-server", "nftables"):
        assert_service(host, unit)


def test_listening_on_expected_addresses_only(host):
    socks = listeners(host)
    assert ("0.0.0.0", 8080) in socks  # the gateway: the only service port meant for the outside
    assert ("127.0.0.1", 8081) in socks and ("127.0.0.1", 6379) in socks
    # beyond loopback only the gateway, and sshd (the firewall admits it from the admin networks)
    exposed = {(a, p) for a, p in socks if a not in ("127.0.0.1", "::1") and p != 22}
    assert exposed == {("0.0.0.0", 8080)}, exposed


@pytest.mark.parametrize("unit", sorted(UNITS))
def test_units_are_hardened(host, unit):
    props = unit_properties(
        host,
        unit,
        "User ProtectSystem ProtectHome NoNewPrivileges PrivateTmp PrivateDevices CapabilityBoundingSet".split(),
    )
    assert props["User"] == UNITS[unit]
    assert props["ProtectSystem"] == "strict"
    assert props["ProtectHome"] == "yes"
    assert props["NoNewPrivileges"] == "yes"
    assert props["PrivateTmp"] == "yes"
    assert props["PrivateDevices"] == "yes"
    assert props["CapabilityBoundingSet"] == ""
    score = exposure(host, unit)
    print(f"systemd-analyze security {unit}: {score}")
    assert score <= 3.0


def test_gateway_answers_a_real_request_with_the_local_model(host, tier_no):
    key = _api_key(host)
    payload = json.dumps({"prompt": "Say hello in one short sentence.", "max_tokens": 24})
    out = host.check_output(
        "curl -sS -m 120 http://127.0.0.1:8080/api/v1/chat -H 'Content-Type: application/json' "
        f"-H {shlex.quote('Authorization: Bearer ' + key)} -d {shlex.quote(payload)}"
    )
    r = json.loads(out)
    assert r["model"] == _tier(tier_no)["routing"]["ladder"][0]["model"] and r["backend"] == "openai", r
    assert r["response"].strip(), r
    assert r["usage"]["output_tokens"] > 0 and r["cost_usd"] == 0
    refused = host.run(
        "curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:8080/api/v1/chat "
        "-H 'Content-Type: application/json' -H 'Authorization: Bearer wrong' -d '{\"prompt\": \"hi\"}'"
    )
    assert refused.stdout == "401"
    # the key never reaches the journal
    assert key not in host.check_output("journalctl -u hybrid-ai-gateway --no-pager -n 500")


def test_gateway_config_and_secrets_files(host, tier_no):
    f = host.file("/etc/hybrid-ai/gateway.yml")
    assert (f.user, f.group, f.mode) == ("root", "hybrid-ai", 0o640)
    for secret in ("api_keys", "redis_password"):
        s = host.file(f"/etc/hybrid-ai/{secret}")
        assert (s.user, s.group, s.mode) == ("root", "hybrid-ai", 0o640)
    models = yaml.safe_load(f.content_string)["models"]
    local = [r["model"] for r in _tier(tier_no)["routing"]["ladder"] if r["model"] != "cloud"]
    assert {name: (m["url"], m["upstream_model"]) for name, m in models.items()} == {
        name: ("http://127.0.0.1:8081/v1", name) for name in local
    }


def test_redis_refuses_without_password_and_caps_memory(host, tier_no):
    assert "NOAUTH" in host.run("redis-cli -h 127.0.0.1 ping").stdout
    cmd = "REDISCLI_AUTH=$(cat /etc/hybrid-ai/redis_password) redis-cli -h 127.0.0.1"
    assert host.check_output(f"{cmd} ping") == "PONG"
    maxmemory = _tier(tier_no)["limits"]["redis_maxmemory_mb"] * 1024 * 1024
    assert host.check_output(f"{cmd} config get maxmemory").splitlines()[1] == str(maxmemory)
    assert host.check_output(f"{cmd} config get maxmemory-policy").splitlines()[1] == "allkeys-lru"


def test_firewall_rules_as_intended(host):
    rules = host.check_output("nft list chain inet hybrid_ai input")
    assert "policy drop" in rules
    assert "tcp dport 22 ip saddr @admin_v4 accept" in rules
    assert "tcp dport 8080 ip saddr @gateway_v4 accept" in rules
    ip = _container_ip(host)
    # allowed: the gateway port from the gateway network (this machine's podman bridge)
    with urllib.request.urlopen(f"http://{ip}:8080/health", timeout=10) as resp:
        assert resp.status == 200
    # dropped: any other port, even with a process listening on all addresses
    host.run("systemd-run --unit fw-probe --collect python3 -m http.server 9999 --bind 0.0.0.0")
    try:
        host.run("for i in $(seq 1 40); do ss -Hltn | grep -q ':9999 ' && break; sleep 0.25; done")
        assert ("0.0.0.0", 9999) in listeners(host)
        with pytest.raises(OSError):
            socket.create_connection((ip, 9999), timeout=3).close()
        assert host.run("curl -s -m 3 -o /dev/null http://127.0.0.1:9999/").rc == 0  # loopback is allowed
    finally:
        host.run("systemctl stop fw-probe")
