"""The Pulumi program: validated settings -> one tier box -> outputs (inventory first)."""

from __future__ import annotations

from typing import Any

import pulumi

from . import GATEWAY_PORT
from .config import ConfigError, StackSettings, from_pulumi
from .inventory import inventory_output


def build(settings: StackSettings) -> dict[str, Any]:
    """Create the box for `settings` and return the stack outputs (also exported by run())."""
    if settings.cloud == "aws":
        from .aws import AwsTierBox

        box: Any = AwsTierBox(settings.name, settings)
    else:
        from .gcp import GcpTierBox

        box = GcpTierBox(settings.name, settings)
    return {
        "inventory": inventory_output(settings, box.public_ip, box.private_ip),
        "public_ip": box.public_ip,
        "private_ip": box.private_ip,
        "instance_id": box.instance_id,
        "gateway_url": box.public_ip.apply(lambda ip: f"http://{ip}:{GATEWAY_PORT}"),
        "ssh_user": settings.ssh_user,
        "ssh": box.public_ip.apply(lambda ip: f"ssh {settings.ssh_user}@{ip}"),
        "hybrid_tier": settings.tier,
        "cloud": settings.cloud,
        "size": settings.box["size"],
        "monthly_usd": settings.box["monthly_usd"],
    }


def run() -> None:
    try:
        settings = from_pulumi()
    except ConfigError as exc:
        # a clean stop before any resource or cloud call, with every problem listed
        raise pulumi.RunError(str(exc)) from None
    for key, value in build(settings).items():
        pulumi.export(key, value)
