"""GcpTierBox: one Compute Engine VM sized by the tier, closed by default; GcpFleet: several behind
a regional external passthrough network load balancer."""

from __future__ import annotations

import pulumi
import pulumi_gcp as gcp

from . import GATEWAY_PORT, LABEL_ROLE
from .cloudinit import STARTUP_SCRIPT
from .config import StackSettings
from .fleet import GCP_HEALTH_CHECK_RANGES, PRIVATE_CIDR, PRIVATE_PORTS, health_check, plan

IMAGE_LOOKUP = {
    "debian-12": {"family": "debian-12", "project": "debian-cloud"},
    "ubuntu-2204": {"family": "ubuntu-2204-lts", "project": "ubuntu-os-cloud"},
}
SUBNET_CIDR = PRIVATE_CIDR  # 10.42.1.0/24
ALLOW_PRIORITY = 1000
# Beats the 65534-priority allow rules an existing network (e.g. "default") carries, such as
# default-allow-ssh from 0.0.0.0/0, so the box stays closed whichever network it joins.
DENY_PRIORITY = 2000


def firewall_rules(settings: StackSettings) -> list[dict]:
    """Allow the ways in (StackSettings.openings); deny every other way in.

    GCP does not mix IPv4 and IPv6 source ranges in one rule, so each family gets its own.
    """
    rules: list[dict] = []
    for o in settings.openings():
        for family, ranges in (("v4", o.v4), ("v6", o.v6)):
            if not ranges:
                continue
            rules.append(
                {
                    "suffix": f"allow-{o.name}-{family}",
                    "description": f"Hybrid AI Stack: {o.name} (tcp/{o.port})",
                    "priority": ALLOW_PRIORITY,
                    "allows": [{"protocol": "tcp", "ports": [str(o.port)]}],
                    "denies": [],
                    "source_ranges": list(ranges),
                }
            )
    for family, world in (("v4", "0.0.0.0/0"), ("v6", "::/0")):
        rules.append(
            {
                "suffix": f"deny-other-{family}",
                "description": "Hybrid AI Stack: nothing else reaches the box",
                "priority": DENY_PRIORITY,
                "allows": [],
                "denies": [{"protocol": "all"}],
                "source_ranges": [world],
            }
        )
    return rules


def _first_network_ip(nics) -> str:
    if not nics:
        return ""
    nic = nics[0]
    value = nic.get("network_ip") if isinstance(nic, dict) else getattr(nic, "network_ip", None)
    return value or ""


def new_network(name: str, settings: StackSettings, opts: pulumi.ResourceOptions):
    """A custom-mode VPC network with one subnet; returns (network id, subnetwork id)."""
    net = gcp.compute.Network(
        f"{name}-net",
        name=f"{settings.name}-net",
        auto_create_subnetworks=False,
        description="Hybrid AI Stack network",
        opts=opts,
    )
    sub = gcp.compute.Subnetwork(
        f"{name}-subnet",
        name=f"{settings.name}-subnet",
        network=net.id,
        region=settings.region,
        ip_cidr_range=SUBNET_CIDR,
        private_ip_google_access=True,
        opts=opts,
    )
    return net.id, sub.id


def find_image(settings: StackSettings, parent: pulumi.Resource, provider: gcp.Provider):
    """The newest image of settings.image's family (an invoke, no resource)."""
    lookup = IMAGE_LOOKUP[settings.image]
    return gcp.compute.get_image_output(
        family=lookup["family"],
        project=lookup["project"],
        opts=pulumi.InvokeOutputOptions(parent=parent, provider=provider),
    )


def provider_for(name: str, settings: StackSettings, parent: pulumi.Resource):
    """The stack's project, region and zone as an explicit provider; the options its children take."""
    provider = gcp.Provider(
        f"{name}-provider",
        project=settings.gcp_project,
        region=settings.region,
        zone=settings.zone,
        opts=pulumi.ResourceOptions(parent=parent),
    )
    return provider, pulumi.ResourceOptions(parent=parent, provider=provider)


def firewall(name: str, settings: StackSettings, network, rule: dict, target_tags: list, opts) -> gcp.compute.Firewall:
    """One ingress rule of `firewall_rules` / `fleet_firewall_rules` on the stack's network."""
    return gcp.compute.Firewall(
        f"{name}-{rule['suffix']}",
        name=f"{settings.name}-{rule['suffix']}",
        network=network,
        direction="INGRESS",
        description=rule["description"],
        priority=rule["priority"],
        allows=[gcp.compute.FirewallAllowArgs(**a) for a in rule["allows"]] or None,
        denies=[gcp.compute.FirewallDenyArgs(**d) for d in rule["denies"]] or None,
        source_ranges=rule["source_ranges"],
        destination_ranges=rule.get("destination_ranges"),
        target_tags=target_tags,
        opts=opts,
    )


def vm(
    name: str,
    vm_name: str,
    settings: StackSettings,
    image,
    network,
    subnetwork,
    tags: list[str],
    labels: dict[str, str],
    gpu: dict | None,
    parent: pulumi.Resource,
    provider: gcp.Provider,
):
    """One VM of the tier's machine type: static external address, its own boot disk, the GPU when
    given; returns (address, boot disk, instance)."""
    child = pulumi.ResourceOptions(parent=parent, provider=provider)
    address = gcp.compute.Address(
        f"{name}-ip",
        name=f"{vm_name}-ip",
        region=settings.region,
        address_type="EXTERNAL",
        labels=labels,
        opts=child,
    )

    metadata = {
        "enable-oslogin": "TRUE" if settings.os_login else "FALSE",
        "block-project-ssh-keys": "TRUE",
        "disable-legacy-endpoints": "TRUE",
    }
    if not settings.os_login:
        metadata["ssh-keys"] = f"{settings.ssh_user}:{settings.ssh_public_key}"

    # A disk of its own (not the instance's initialize_params) so a tier change grows it in
    # place; persistent disks are always encrypted at rest by Google, diskKmsKey adds a CMEK.
    boot = gcp.compute.Disk(
        f"{name}-boot",
        name=f"{vm_name}-boot",
        zone=settings.zone,
        image=image.self_link,
        size=settings.disk_gb,
        type="pd-balanced",
        labels=labels,
        disk_encryption_key=(
            gcp.compute.DiskDiskEncryptionKeyArgs(kms_key_self_link=settings.disk_kms_key)
            if settings.disk_kms_key
            else None
        ),
        # a newer image must not replace the disk (and its data); Ansible keeps packages current
        opts=pulumi.ResourceOptions(parent=parent, provider=provider, ignore_changes=["image"]),
    )

    instance = gcp.compute.Instance(
        f"{name}-vm",
        name=vm_name,
        machine_type=settings.box["size"],
        zone=settings.zone,
        boot_disk=gcp.compute.InstanceBootDiskArgs(source=boot.self_link, auto_delete=False),
        network_interfaces=[
            gcp.compute.InstanceNetworkInterfaceArgs(
                network=None if subnetwork else network,
                subnetwork=subnetwork,
                access_configs=[gcp.compute.InstanceNetworkInterfaceAccessConfigArgs(nat_ip=address.address)],
            )
        ],
        metadata=metadata,
        metadata_startup_script=STARTUP_SCRIPT,
        labels=labels,
        tags=tags,
        guest_accelerators=(
            [gcp.compute.InstanceGuestAcceleratorArgs(type=gpu["gcp_accelerator_type"], count=gpu["count"])]
            if gpu
            else None
        ),
        scheduling=gcp.compute.InstanceSchedulingArgs(
            # GPUs cannot live-migrate: GCE requires TERMINATE on host maintenance for them
            on_host_maintenance="TERMINATE" if gpu else "MIGRATE",
            automatic_restart=True,
            preemptible=False,
        ),
        shielded_instance_config=gcp.compute.InstanceShieldedInstanceConfigArgs(
            # the NVIDIA driver's DKMS module is unsigned, so Secure Boot stays off on GPU boxes
            enable_secure_boot=not gpu,
            enable_vtpm=True,
            enable_integrity_monitoring=True,
        ),
        allow_stopping_for_update=True,  # a tier change resizes the box in place
        opts=child,
    )
    return address, boot, instance


class GcpTierBox(pulumi.ComponentResource):
    """A tier's box on GCE: network (or the given one), firewall, static IP, GPU for tier 4."""

    public_ip: pulumi.Output[str]
    private_ip: pulumi.Output[str]
    instance_id: pulumi.Output[str]
    image: pulumi.Output[str]

    def __init__(self, name: str, settings: StackSettings, opts: pulumi.ResourceOptions | None = None):
        super().__init__("hybrid-ai:gcp:TierBox", name, None, opts)
        self.settings = settings
        box = settings.box
        gpu = box.get("gpu")
        labels = dict(settings.labels)
        tag = settings.name  # the network tag the firewall rules target
        provider, child = provider_for(name, settings, self)

        if settings.network:
            network: pulumi.Input[str] = settings.network
            subnetwork: pulumi.Input[str] | None = settings.subnetwork
        else:
            network, subnetwork = new_network(name, settings, child)

        for rule in firewall_rules(settings):
            firewall(name, settings, network, rule, [tag], child)

        image = find_image(settings, self, provider)
        address, boot, instance = vm(
            name, settings.name, settings, image, network, subnetwork, [tag], labels, gpu, self, provider
        )

        self.public_ip = address.address
        self.private_ip = instance.network_interfaces.apply(_first_network_ip)
        self.instance_id = instance.instance_id
        self.image = image.self_link
        self.boot_disk = boot.self_link
        self.register_outputs(
            {
                "boot_disk": self.boot_disk,
                "public_ip": self.public_ip,
                "private_ip": self.private_ip,
                "instance_id": self.instance_id,
                "image": self.image,
            }
        )


def fleet_firewall_rules(settings: StackSettings, lb_address) -> list[dict]:
    """A fleet's ways in, each rule for the boxes of one role (`targets`: all, gateway, model):

    SSH from adminCidrs to every box; the gateway port to the gateway boxes from gatewayCidrs
    only when addressed to the load balancer (a passthrough load balancer keeps the client's
    address, so the rule tells LB traffic from traffic to a box's own address by its destination),
    from Google's health checkers and from the private subnet (Prometheus); the internal ports
    from the private subnet; then a deny of everything else, as on the one box.
    """
    ssh = next(o for o in settings.openings() if o.name == "ssh")
    gateway = next(o for o in settings.openings() if o.name == "gateway")

    def allow(suffix, description, ports, sources, targets, destinations=None) -> dict:
        return {
            "suffix": suffix,
            "description": f"Hybrid AI Stack fleet: {description}",
            "priority": ALLOW_PRIORITY,
            "allows": [{"protocol": "tcp", "ports": [str(p) for p in ports]}],
            "denies": [],
            "source_ranges": list(sources),
            "destination_ranges": destinations,
            "targets": targets,
        }

    rules = [
        allow(f"allow-ssh-{family}", f"ssh (tcp/{ssh.port}) from adminCidrs", [ssh.port], ranges, "all")
        for family, ranges in (("v4", ssh.v4), ("v6", ssh.v6))
        if ranges
    ]
    # the load balancer's address is IPv4, so only IPv4 clients reach it
    rules.append(
        allow(
            "allow-gateway-lb-v4",
            f"gateway (tcp/{GATEWAY_PORT}) from gatewayCidrs through the load balancer",
            [GATEWAY_PORT],
            gateway.v4,
            "gateway",
            destinations=[pulumi.Output.from_input(lb_address).apply(lambda ip: f"{ip}/32")],
        )
    )
    rules.append(
        allow(
            "allow-gateway-health-v4",
            f"gateway (tcp/{GATEWAY_PORT}) from the load balancer's health checks",
            [GATEWAY_PORT],
            GCP_HEALTH_CHECK_RANGES,
            "gateway",
        )
    )
    rules.append(
        allow(
            "allow-gateway-private-v4",
            f"gateway (tcp/{GATEWAY_PORT}) from the private subnet (Prometheus)",
            [GATEWAY_PORT],
            [PRIVATE_CIDR],
            "gateway",
        )
    )
    rules.append(
        allow("allow-internal-v4", "internal ports from the private subnet", PRIVATE_PORTS, [PRIVATE_CIDR], "all")
    )
    for family, world in (("v4", "0.0.0.0/0"), ("v6", "::/0")):
        rules.append(
            {
                "suffix": f"deny-other-{family}",
                "description": "Hybrid AI Stack fleet: nothing else reaches the boxes",
                "priority": DENY_PRIORITY,
                "allows": [],
                "denies": [{"protocol": "all"}],
                "source_ranges": [world],
                "destination_ranges": None,
                "targets": "all",
            }
        )
    return rules


class GcpFleet(pulumi.ComponentResource):
    """A tier's fleet on GCE: gateway boxes in an instance group behind a regional external
    passthrough network load balancer (health check on /health), model boxes beside them (with
    the tier's GPU), one subnet; each box has a static address for SSH from adminCidrs only."""

    load_balancer: pulumi.Output[str]
    nodes: list[dict]  # per box: name, role, groups, public_ip, private_ip, instance_id

    def __init__(self, name: str, settings: StackSettings, opts: pulumi.ResourceOptions | None = None):
        super().__init__("hybrid-ai:gcp:Fleet", name, None, opts)
        self.settings = settings
        labels = dict(settings.labels)
        provider, child = provider_for(name, settings, self)
        network, subnetwork = new_network(name, settings, child)
        # network tags the firewall rules target: every box, and the boxes of each role
        tags = {"all": settings.name, "gateway": f"{settings.name}-gateway", "model": f"{settings.name}-model"}

        lb_ip = gcp.compute.Address(
            f"{name}-lb-ip",
            name=f"{settings.name}-lb-ip",
            region=settings.region,
            address_type="EXTERNAL",
            labels=labels,
            opts=child,
        )
        for rule in fleet_firewall_rules(settings, lb_ip.address):
            firewall(name, settings, network, rule, [tags[rule["targets"]]], child)

        image = find_image(settings, self, provider)
        gpu = settings.box.get("gpu")
        self.nodes = []
        gateway_vms = []
        for node in plan(settings):
            node_labels = {**labels, LABEL_ROLE: node.role}
            address, _, instance = vm(
                node.name,
                node.name,
                settings,
                image,
                network,
                subnetwork,
                [tags["all"], tags[node.role]],
                node_labels,
                gpu if node.gpu else None,
                self,
                provider,
            )
            if node.role == "gateway":
                gateway_vms.append(instance)
            self.nodes.append(
                {
                    "name": node.name,
                    "role": node.role,
                    "groups": list(node.groups),
                    "public_ip": address.address,
                    "private_ip": instance.network_interfaces.apply(_first_network_ip),
                    "instance_id": instance.instance_id,
                }
            )

        check = health_check()
        health = gcp.compute.RegionHealthCheck(
            f"{name}-health",
            name=f"{settings.name}-health",
            region=settings.region,
            http_health_check=gcp.compute.RegionHealthCheckHttpHealthCheckArgs(
                port=check["port"], request_path=check["path"]
            ),
            check_interval_sec=10,
            timeout_sec=5,
            healthy_threshold=2,
            unhealthy_threshold=3,
            opts=child,
        )
        group = gcp.compute.InstanceGroup(
            f"{name}-gateways",
            name=f"{settings.name}-gateways",
            zone=settings.zone,
            network=network,
            instances=[i.self_link for i in gateway_vms],
            opts=child,
        )
        backend = gcp.compute.RegionBackendService(
            f"{name}-backend",
            name=f"{settings.name}-backend",
            region=settings.region,
            protocol="TCP",
            load_balancing_scheme="EXTERNAL",
            health_checks=health.id,
            backends=[gcp.compute.RegionBackendServiceBackendArgs(group=group.self_link, balancing_mode="CONNECTION")],
            opts=child,
        )
        gcp.compute.ForwardingRule(
            f"{name}-lb",
            name=f"{settings.name}-lb",
            region=settings.region,
            ip_address=lb_ip.address,
            ip_protocol="TCP",
            ports=[str(GATEWAY_PORT)],
            load_balancing_scheme="EXTERNAL",
            backend_service=backend.id,
            labels=labels,
            opts=child,
        )

        self.load_balancer = lb_ip.address
        self.register_outputs({"load_balancer": self.load_balancer, "nodes": self.nodes})
