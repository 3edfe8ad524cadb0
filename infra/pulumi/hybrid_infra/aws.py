"""AwsTierBox: one EC2 instance sized by the tier, closed by default."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from .cloudinit import CLOUD_CONFIG
from .config import StackSettings

# Official publishers' AWS accounts: Debian (cloud team) and Canonical.
AMI_LOOKUP = {
    "debian-12": {"owner": "136693071363", "name": "debian-12-amd64-*"},
    "ubuntu-2204": {"owner": "099720109477", "name": "ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-amd64-server-*"},
}
VPC_CIDR = "10.42.0.0/16"
SUBNET_CIDR = "10.42.1.0/24"


def ingress_rules(settings: StackSettings) -> list[dict]:
    """The only ways in (StackSettings.openings), one security group rule each."""
    return [
        {
            "description": o.description,
            "protocol": "tcp",
            "from_port": o.port,
            "to_port": o.port,
            "cidr_blocks": list(o.v4),
            "ipv6_cidr_blocks": list(o.v6),
        }
        for o in settings.openings()
    ]


class AwsTierBox(pulumi.ComponentResource):
    """A tier's box on EC2: network (or the given one), security group, encrypted disk, EIP."""

    public_ip: pulumi.Output[str]
    private_ip: pulumi.Output[str]
    instance_id: pulumi.Output[str]
    security_group_id: pulumi.Output[str]
    ami_id: pulumi.Output[str]

    def __init__(self, name: str, settings: StackSettings, opts: pulumi.ResourceOptions | None = None):
        super().__init__("hybrid-ai:aws:TierBox", name, None, opts)
        self.settings = settings
        box = settings.box
        tags = {"Name": settings.name, **settings.labels}
        provider = aws.Provider(f"{name}-provider", region=settings.region, opts=pulumi.ResourceOptions(parent=self))
        child = pulumi.ResourceOptions(parent=self, provider=provider)

        if settings.vpc_id:
            vpc_id: pulumi.Input[str] = settings.vpc_id
            subnet_id: pulumi.Input[str] = settings.subnet_id  # type: ignore[assignment]
        else:
            vpc = aws.ec2.Vpc(
                f"{name}-vpc",
                cidr_block=VPC_CIDR,
                enable_dns_hostnames=True,
                enable_dns_support=True,
                tags=tags,
                opts=child,
            )
            igw = aws.ec2.InternetGateway(f"{name}-igw", vpc_id=vpc.id, tags=tags, opts=child)
            subnet = aws.ec2.Subnet(
                f"{name}-subnet",
                vpc_id=vpc.id,
                cidr_block=SUBNET_CIDR,
                availability_zone=settings.zone,
                map_public_ip_on_launch=False,  # only this box, explicitly, gets a public address
                tags=tags,
                opts=child,
            )
            table = aws.ec2.RouteTable(
                f"{name}-rt",
                vpc_id=vpc.id,
                routes=[aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", gateway_id=igw.id)],
                tags=tags,
                opts=child,
            )
            aws.ec2.RouteTableAssociation(f"{name}-rta", subnet_id=subnet.id, route_table_id=table.id, opts=child)
            vpc_id, subnet_id = vpc.id, subnet.id

        sg = aws.ec2.SecurityGroup(
            f"{name}-sg",
            description=f"Hybrid AI Stack tier {settings.tier}: SSH from admins, gateway from clients; nothing else",
            vpc_id=vpc_id,
            ingress=[aws.ec2.SecurityGroupIngressArgs(**rule) for rule in ingress_rules(settings)],
            egress=[
                aws.ec2.SecurityGroupEgressArgs(
                    description="outbound: packages, model downloads, cloud API",
                    protocol="-1",
                    from_port=0,
                    to_port=0,
                    cidr_blocks=["0.0.0.0/0"],
                    ipv6_cidr_blocks=["::/0"],
                )
            ],
            tags=tags,
            opts=child,
        )

        lookup = AMI_LOOKUP[settings.image]
        ami = aws.ec2.get_ami_output(
            most_recent=True,
            owners=[lookup["owner"]],
            filters=[
                aws.ec2.GetAmiFilterArgs(name="name", values=[lookup["name"]]),
                aws.ec2.GetAmiFilterArgs(name="architecture", values=["x86_64"]),
                aws.ec2.GetAmiFilterArgs(name="virtualization-type", values=["hvm"]),
                aws.ec2.GetAmiFilterArgs(name="root-device-type", values=["ebs"]),
            ],
            opts=pulumi.InvokeOutputOptions(parent=self, provider=provider),
        )

        key = aws.ec2.KeyPair(f"{name}-key", public_key=settings.ssh_public_key, tags=tags, opts=child)

        instance = aws.ec2.Instance(
            f"{name}-vm",
            ami=ami.id,
            instance_type=box["size"],
            subnet_id=subnet_id,
            vpc_security_group_ids=[sg.id],
            key_name=key.key_name,
            # a public address from the first boot (cloud-init fetches packages); AWS swaps it
            # for the Elastic IP below as soon as that is associated
            associate_public_ip_address=True,
            root_block_device=aws.ec2.InstanceRootBlockDeviceArgs(
                volume_size=settings.disk_gb,
                volume_type="gp3",
                encrypted=True,
                kms_key_id=settings.disk_kms_key,
                delete_on_termination=True,
                tags=tags,
            ),
            metadata_options=aws.ec2.InstanceMetadataOptionsArgs(
                http_endpoint="enabled",
                http_tokens="required",  # IMDSv2 only
                http_put_response_hop_limit=1,
            ),
            user_data=CLOUD_CONFIG,
            tags=tags,
            volume_tags=None,
            # a newer image must not replace a running box; Ansible keeps packages current
            opts=pulumi.ResourceOptions(parent=self, provider=provider, ignore_changes=["ami"]),
        )
        eip = aws.ec2.Eip(f"{name}-eip", domain="vpc", instance=instance.id, tags=tags, opts=child)

        self.public_ip = eip.public_ip
        self.private_ip = instance.private_ip
        self.instance_id = instance.id
        self.security_group_id = sg.id
        self.ami_id = ami.id
        self.register_outputs(
            {
                "public_ip": self.public_ip,
                "private_ip": self.private_ip,
                "instance_id": self.instance_id,
                "security_group_id": self.security_group_id,
                "ami_id": self.ami_id,
            }
        )
