"""GcpTierBox: one Compute Engine VM sized by the tier, closed by default."""

from __future__ import annotations

import pulumi
import pulumi_gcp as gcp

from .cloudinit import STARTUP_SCRIPT
from .config import StackSettings

IMAGE_LOOKUP = {
    "debian-12": {"family": "debian-12", "project": "debian-cloud"},
    "ubuntu-2204": {"family": "ubuntu-2204-lts", "project": "ubuntu-os-cloud"},
}
SUBNET_CIDR = "10.42.1.0/24"
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
        provider = gcp.Provider(
            f"{name}-provider",
            project=settings.gcp_project,
            region=settings.region,
            zone=settings.zone,
            opts=pulumi.ResourceOptions(parent=self),
        )
        child = pulumi.ResourceOptions(parent=self, provider=provider)

        if settings.network:
            network: pulumi.Input[str] = settings.network
            subnetwork: pulumi.Input[str] | None = settings.subnetwork
        else:
            net = gcp.compute.Network(
                f"{name}-net",
                name=f"{settings.name}-net",
                auto_create_subnetworks=False,
                description="Hybrid AI Stack network",
                opts=child,
            )
            sub = gcp.compute.Subnetwork(
                f"{name}-subnet",
                name=f"{settings.name}-subnet",
                network=net.id,
                region=settings.region,
                ip_cidr_range=SUBNET_CIDR,
                private_ip_google_access=True,
                opts=child,
            )
            network, subnetwork = net.id, sub.id

        for rule in firewall_rules(settings):
            gcp.compute.Firewall(
                f"{name}-{rule['suffix']}",
                name=f"{settings.name}-{rule['suffix']}",
                network=network,
                direction="INGRESS",
                description=rule["description"],
                priority=rule["priority"],
                allows=[gcp.compute.FirewallAllowArgs(**a) for a in rule["allows"]] or None,
                denies=[gcp.compute.FirewallDenyArgs(**d) for d in rule["denies"]] or None,
                source_ranges=rule["source_ranges"],
                target_tags=[tag],
                opts=child,
            )

        lookup = IMAGE_LOOKUP[settings.image]
        image = gcp.compute.get_image_output(
            family=lookup["family"],
            project=lookup["project"],
            opts=pulumi.InvokeOutputOptions(parent=self, provider=provider),
        )
        address = gcp.compute.Address(
            f"{name}-ip",
            name=f"{settings.name}-ip",
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
            name=f"{settings.name}-boot",
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
            opts=pulumi.ResourceOptions(parent=self, provider=provider, ignore_changes=["image"]),
        )

        instance = gcp.compute.Instance(
            f"{name}-vm",
            name=settings.name,
            machine_type=box["size"],
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
            tags=[tag],
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
