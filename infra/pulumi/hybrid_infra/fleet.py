"""The shape of a fleet, the same on both clouds: which boxes, which Ansible groups, which ports.

A fleet (stack setting `fleet: {gateways: N, models: M}`) is N gateway boxes behind the cloud's
load balancer and M model boxes, all on one private subnet. The first gateway box also holds
Redis, Prometheus and n8n (groups cache, monitoring, automation), so the gateways share one
cache and one Prometheus scrapes them all; the model boxes (group llm) serve the models, and
every gateway spreads each model over all of them. Every box has the tier's size (the playbook
checks the tier's RAM on every host); the GPU, where it is a separate part (GCP), goes on the
model boxes only.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import GATEWAY_PORT
from .config import StackSettings

PRIVATE_CIDR = "10.42.1.0/24"  # the boxes' subnet, and the only source of the internal ports
# The ports one box opens to the others (the firewall role's firewall_private_ports): Ollama,
# llama.cpp's server, Redis, node and Redis exporters, PostgreSQL.
PRIVATE_PORTS = (11434, 8081, 6379, 9100, 9121, 5432)
# Where Google's health checks for an external passthrough network load balancer come from
# (35.191.0.0/16 with 130.211.0.0/22 is the set for Google's proxy load balancers, not this one).
GCP_HEALTH_CHECK_RANGES = ("35.191.0.0/16", "209.85.152.0/22", "209.85.204.0/22")
HEALTH_PATH = "/health"  # answers 200 without a key while the gateway process serves
FIRST_GATEWAY_GROUPS = ("gateway", "cache", "monitoring", "automation")
GATEWAY_GROUPS = ("gateway",)
MODEL_GROUPS = ("llm",)


@dataclass(frozen=True)
class Node:
    """One box of the fleet."""

    name: str  # <stack box name>-gw1, -m1, ...: also the Ansible host name
    role: str  # gateway | model
    groups: tuple[str, ...]
    gpu: bool  # the tier's GPU is attached to this box (GCP model boxes of a GPU tier)


def plan(settings: StackSettings) -> list[Node]:
    """The boxes of a fleet, gateways first (the first one holds cache, monitoring, automation)."""
    if not settings.is_fleet or settings.fleet is None:
        raise ValueError("plan() is for a fleet; one box is built by the tier box components")
    gateways, models = settings.fleet
    has_gpu = bool(settings.box.get("gpu"))
    nodes = [
        Node(f"{settings.name}-gw{i}", "gateway", FIRST_GATEWAY_GROUPS if i == 1 else GATEWAY_GROUPS, False)
        for i in range(1, gateways + 1)
    ]
    nodes += [Node(f"{settings.name}-m{i}", "model", MODEL_GROUPS, has_gpu) for i in range(1, models + 1)]
    return nodes


def health_check() -> dict:
    """What both clouds' load balancers probe on every gateway box."""
    return {"protocol": "HTTP", "port": GATEWAY_PORT, "path": HEALTH_PATH}
