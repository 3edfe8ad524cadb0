"""The stack's `inventory` output, and the Ansible inventory written from it.

The program exports `inventory` (a plain JSON structure, see inventory_record); after
`pulumi up`, `pulumi stack output --json | python -m hybrid_infra.inventory --stack NAME`
writes inventories/<stack>/hosts.yml for the site playbook. Pure functions do the work so
the tests check them without the Pulumi CLI.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

from . import GATEWAY_PORT
from .config import StackSettings

SCHEMA_VERSION = 1
GROUPS = ("gateway", "llm", "cache", "monitoring", "automation")
_STACK = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
_HOST = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.:-]*$")


class InventoryError(ValueError):
    """The stack outputs cannot become an inventory; the message says why."""


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
        "schema": SCHEMA_VERSION,
        "stack": settings.stack,
        "cloud": settings.cloud,
        "region": settings.region,
        "zone": settings.zone,
        "hybrid_tier": settings.tier,
        "hosts": [host],
        "vars": {
            "hybrid_admin_cidrs": list(settings.admin_cidrs),
            "hybrid_gateway_cidrs": list(settings.gateway_cidrs),
        },
        "gateway_url": f"http://{public_ip}:{GATEWAY_PORT}" if public_ip else None,
        "ssh": f"ssh {settings.ssh_user}@{public_ip}" if public_ip else None,
    }


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
        # the private address stays in the stack output only: on a single box every service
        # listens on loopback, and setting hybrid_private_address would make roles bind to it
        hosts[name] = hostvars
        for group in entry.get("groups") or GROUPS:
            if group not in groups:
                raise InventoryError(f"host {name}: unknown group {group!r}; known: {list(GROUPS)}")
            groups[group]["hosts"][name] = None
    variables = dict(record.get("vars") or {})
    return {"all": {"vars": variables, "hosts": hosts, "children": groups}}


def render(outputs: dict[str, Any], stack: str) -> str:
    import yaml

    doc = hosts_document(outputs)
    header = (
        f"# Written from `pulumi stack output --json` of stack {stack}; rewritten by `make inventory STACK={stack}`.\n"
        "# Change the tier in the stack config (then `make deploy`), not here.\n"
    )
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
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
