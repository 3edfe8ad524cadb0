"""The stack's `inventory` output, and the Ansible inventory written from it.

The program exports `inventory` (a plain JSON structure, see inventory_record); after
`pulumi up`, `pulumi stack output --json | python -m hybrid_infra.inventory --stack NAME`
writes inventories/<stack>/hosts.yml for the site playbook. Pure functions do the work so
the tests check them without the Pulumi CLI.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import re
import sys
from pathlib import Path
from typing import Any

from . import GATEWAY_PORT
from .config import StackSettings
from .fleet import GCP_HEALTH_CHECK_RANGES, PRIVATE_CIDR

SCHEMA_VERSION = 1
GROUPS = ("gateway", "llm", "cache", "monitoring", "automation")
_STACK = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
_HOST = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.:-]*$")


class InventoryError(ValueError):
    """The stack outputs cannot become an inventory; the message says why."""


def _header(settings: StackSettings) -> dict[str, Any]:
    """What every record starts with: its schema, the stack, where it runs and the tier."""
    return {
        "schema": SCHEMA_VERSION,
        "stack": settings.stack,
        "cloud": settings.cloud,
        "region": settings.region,
        "zone": settings.zone,
        "hybrid_tier": settings.tier,
    }


def inventory_record(settings: StackSettings, public_ip: str, private_ip: str = "") -> dict[str, Any]:
    """One box holding every role (a tier is one box; more hosts come from editing the inventory)."""
    box = settings.box
    gpu = box.get("gpu")
    host = {
        "name": settings.name,
        "host": public_ip,
        "private_ip": private_ip or None,
        "user": settings.ssh_user,
        "hybrid_tier": settings.tier,
        "cloud": settings.cloud,
        "size": box["size"],
        "disk_gb": settings.disk_gb,
        "gpu": gpu["model"] if gpu else None,
        "groups": list(GROUPS),
    }
    return {
        **_header(settings),
        "hosts": [host],
        "vars": {
            "hybrid_admin_cidrs": list(settings.admin_cidrs),
            "hybrid_gateway_cidrs": list(settings.gateway_cidrs),
        },
        "gateway_url": f"http://{public_ip}:{GATEWAY_PORT}" if public_ip else None,
        "ssh": f"ssh {settings.ssh_user}@{public_ip}" if public_ip else None,
    }


def fleet_record(settings: StackSettings, load_balancer: str, nodes: list[dict[str, Any]]) -> dict[str, Any]:
    """A fleet: one host per box (gateways first) with its groups and both addresses, the private
    network for the roles, and the load balancer's address as the gateway URL.

    `nodes`: name, role, groups, public_ip, private_ip per box (AwsFleet/GcpFleet.nodes, resolved).
    """
    box = settings.box
    gpu = box.get("gpu")
    hosts = [
        {
            "name": n["name"],
            "host": n["public_ip"],
            "private_ip": n["private_ip"] or None,
            "user": settings.ssh_user,
            "hybrid_tier": settings.tier,
            "cloud": settings.cloud,
            "role": n["role"],
            "size": box["size"],
            "disk_gb": settings.disk_gb,
            # a g4dn carries its GPU on board; on GCP only the model boxes get one attached
            "gpu": gpu["model"] if gpu and (settings.cloud == "aws" or n["role"] == "model") else None,
            "groups": list(n["groups"]),
        }
        for n in sorted(nodes, key=lambda n: n["role"] != "gateway")
    ]
    # the gateway port's sources on a gateway's own firewall: the clients (the load balancers keep
    # their addresses), the health checks (from the subnet on AWS, from Google's ranges on GCP)
    # and Prometheus on the first gateway (the subnet)
    health = GCP_HEALTH_CHECK_RANGES if settings.cloud == "gcp" else ()
    gateway_cidrs = list(dict.fromkeys([*settings.gateway_cidrs, *health, PRIVATE_CIDR]))
    first = hosts[0]
    assert settings.fleet is not None
    return {
        **_header(settings),
        "fleet": {
            "gateways": settings.fleet[0],
            "models": settings.fleet[1],
            "load_balancer": load_balancer or None,
            "private_cidr": PRIVATE_CIDR,
        },
        "hosts": hosts,
        "vars": {
            "hybrid_admin_cidrs": list(settings.admin_cidrs),
            "hybrid_gateway_cidrs": gateway_cidrs,
            "hybrid_private_cidrs": [PRIVATE_CIDR],
        },
        "gateway_url": f"http://{load_balancer}:{GATEWAY_PORT}" if load_balancer else None,
        "ssh": f"ssh {settings.ssh_user}@{first['host']}" if first["host"] else None,
    }


def fleet_output(settings: StackSettings, load_balancer: Any, nodes: list[dict[str, Any]]) -> Any:
    """fleet_record as a Pulumi Output, resolved once every box and the load balancer have addresses."""
    import pulumi

    keys = ("public_ip", "private_ip")
    flat = [n[k] for n in nodes for k in keys]

    def record(values: list[Any]) -> dict[str, Any]:
        lb, rest = values[0], values[1:]
        resolved = [
            {
                "name": n["name"],
                "role": n["role"],
                "groups": n["groups"],
                "public_ip": rest[2 * i],
                "private_ip": rest[2 * i + 1],
            }
            for i, n in enumerate(nodes)
        ]
        return fleet_record(settings, lb, resolved)

    return pulumi.Output.all(load_balancer, *flat).apply(record)


def inventory_output(settings: StackSettings, public_ip: Any, private_ip: Any) -> Any:
    """The record as a Pulumi Output, resolved once the box has its addresses."""
    import pulumi

    return pulumi.Output.all(public_ip, private_ip).apply(lambda ips: inventory_record(settings, ips[0], ips[1]))


def _value(outputs: dict[str, Any], key: str) -> Any:
    value = outputs.get(key)
    if isinstance(value, dict) and set(value) == {"value"}:  # `pulumi stack output --json` of one key
        value = value["value"]
    return value


def hosts_document(outputs: dict[str, Any]) -> dict[str, Any]:
    """Ansible's YAML inventory from the stack outputs (all of them, or just `inventory`)."""
    if not isinstance(outputs, dict):
        raise InventoryError("stack outputs must be a JSON object (from `pulumi stack output --json`)")
    record = _value(outputs, "inventory") if "inventory" in outputs else outputs
    if record == "[secret]":
        raise InventoryError("the inventory output is a secret: run `pulumi stack output --json --show-secrets`")
    if not isinstance(record, dict) or not isinstance(record.get("hosts"), list) or not record["hosts"]:
        raise InventoryError(
            "no `inventory` output with hosts in the stack outputs: was `pulumi up` run on this stack?"
        )
    if record.get("schema") != SCHEMA_VERSION:
        raise InventoryError(f"inventory schema {record.get('schema')!r} is not {SCHEMA_VERSION}: update the kit")
    fleet = record.get("fleet")
    if fleet is not None and not isinstance(fleet, dict):
        raise InventoryError(f"the inventory's `fleet` must be a mapping, got {fleet!r}")
    hosts: dict[str, Any] = {}
    groups: dict[str, dict[str, Any]] = {g: {"hosts": {}} for g in GROUPS}
    for entry in record["hosts"]:
        name, address, user, tier = (entry.get(k) for k in ("name", "host", "user", "hybrid_tier"))
        if not name or not isinstance(name, str):
            raise InventoryError(f"a host has no name: {entry!r}")
        if not address or not isinstance(address, str) or not _HOST.match(address):
            raise InventoryError(f"host {name}: no public address yet ({address!r}); is the box running?")
        if not user or not isinstance(user, str):
            raise InventoryError(f"host {name}: no SSH user")
        if tier not in (1, 2, 3, 4):
            raise InventoryError(f"host {name}: hybrid_tier must be 1..4, got {tier!r}")
        hostvars = {
            "ansible_host": address,
            "ansible_user": user,
            "ansible_python_interpreter": "/usr/bin/python3",
            "hybrid_tier": tier,
            "hybrid_cloud": entry.get("cloud"),
        }
        if fleet:
            # several hosts: each role listens on (and reaches the others at) the private address
            private = entry.get("private_ip")
            try:
                ipaddress.ip_address(str(private))
            except ValueError:
                raise InventoryError(
                    f"host {name}: no private address yet ({private!r}); is the box running?"
                ) from None
            hostvars["hybrid_private_address"] = private
        # on a single box the private address stays in the stack output only: every service
        # listens on loopback, and setting hybrid_private_address would make roles bind to it
        hosts[name] = hostvars
        for group in entry.get("groups") or GROUPS:
            if group not in groups:
                raise InventoryError(f"host {name}: unknown group {group!r}; known: {list(GROUPS)}")
            groups[group]["hosts"][name] = None
    if fleet:
        empty = [g for g, members in groups.items() if not members["hosts"]]
        if empty:
            raise InventoryError(f"a fleet needs a host in every group; none in {empty}")
    variables = dict(record.get("vars") or {})
    return {"all": {"vars": variables, "hosts": hosts, "children": groups}}


def render(outputs: dict[str, Any], stack: str) -> str:
    import yaml

    doc = hosts_document(outputs)
    record = _value(outputs, "inventory") if "inventory" in outputs else outputs
    url = record.get("gateway_url")
    header = (
        f"# Written from `pulumi stack output --json` of stack {stack}; rewritten by `make inventory STACK={stack}`.\n"
        "# Change the tier in the stack config (then `make deploy`), not here.\n"
    )
    if record.get("fleet"):
        header += f"# A fleet: the gateways answer behind the load balancer at {url}\n"
    return header + yaml.safe_dump(doc, sort_keys=False, default_flow_style=False)


def write_inventory(outputs: dict[str, Any], stack: str, out_dir: Path) -> Path:
    if not _STACK.match(stack):
        raise InventoryError(f"stack name {stack!r} must be letters, digits, '.', '_' or '-' (no org/ prefix)")
    text = render(outputs, stack)
    path = Path(out_dir) / stack / "hosts.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".yml.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    return path


def main(argv: list[str] | None = None) -> int:
    """Write inventories/<stack>/hosts.yml from `pulumi stack output --json` (a file or stdin)."""
    parser = argparse.ArgumentParser(prog="python -m hybrid_infra.inventory", description=main.__doc__)
    parser.add_argument("--stack", required=True, help="the stack's name, e.g. aws-tier2")
    parser.add_argument("--outputs", default="-", help="JSON file of the stack outputs ('-' = stdin, the default)")
    parser.add_argument("--out-dir", type=Path, default=Path("inventories"), help="default: inventories")
    args = parser.parse_args(argv)
    try:
        text = sys.stdin.read() if args.outputs == "-" else Path(args.outputs).read_text(encoding="utf-8")
        try:
            outputs = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InventoryError(f"stack outputs are not JSON ({exc}); pipe `pulumi stack output --json`") from None
        path = write_inventory(outputs, args.stack, args.out_dir)
    except (InventoryError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {path}")
    record = _value(outputs, "inventory") if "inventory" in outputs else outputs
    if isinstance(record, dict) and record.get("fleet"):
        print(f"gateway (load balancer): {record.get('gateway_url')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
