"""The Pulumi program: validated settings -> one tier box (or a fleet) -> outputs (inventory first)."""

from __future__ import annotations

from typing import Any

import pulumi

from . import GATEWAY_PORT
from .config import ConfigError, StackSettings, from_pulumi
from .inventory import fleet_output, inventory_output


def build(settings: StackSettings) -> dict[str, Any]:
    """Create the box for `settings` and return the stack outputs (also exported by run())."""
    if settings.is_fleet:
        return build_fleet(settings)
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


def build_fleet(settings: StackSettings) -> dict[str, Any]:
    """Create the fleet for `settings`: gateway and model boxes, the load balancer, the outputs."""
    if settings.cloud == "aws":
        from .aws import AwsFleet

        fleet: Any = AwsFleet(settings.name, settings)
    else:
        from .gcp import GcpFleet

        fleet = GcpFleet(settings.name, settings)

    def boxes(role: str) -> list[Any]:
        return [
            pulumi.Output.all(n["public_ip"], n["private_ip"]).apply(
                lambda ips, name=n["name"]: {"name": name, "public_ip": ips[0], "private_ip": ips[1]}
            )
            for n in fleet.nodes
            if n["role"] == role
        ]

    gateways, models = settings.fleet or (1, 1)
    return {
        "inventory": fleet_output(settings, fleet.load_balancer, fleet.nodes),
        "load_balancer": fleet.load_balancer,
        "gateway_url": fleet.load_balancer.apply(lambda lb: f"http://{lb}:{GATEWAY_PORT}"),
        "gateways": pulumi.Output.all(*boxes("gateway")),
        "model_boxes": pulumi.Output.all(*boxes("model")),
        "ssh_user": settings.ssh_user,
        "hybrid_tier": settings.tier,
        "cloud": settings.cloud,
        "size": settings.box["size"],
        "fleet": {"gateways": gateways, "models": models},
        "monthly_usd": round(settings.box["monthly_usd"] * (gateways + models), 2),
    }


def run() -> None:
    try:
        settings = from_pulumi()
    except ConfigError as exc:
        # a clean stop before any resource or cloud call, with every problem listed
        raise pulumi.RunError(str(exc)) from None
    for key, value in build(settings).items():
        pulumi.export(key, value)
