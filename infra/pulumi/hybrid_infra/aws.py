"""AwsTierBox: one EC2 instance sized by the tier, closed by default; AwsFleet: several behind an NLB."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from . import GATEWAY_PORT, LABEL_ROLE
from .cloudinit import CLOUD_CONFIG
from .config import StackSettings
from .fleet import PRIVATE_CIDR, PRIVATE_PORTS, health_check, plan

# Official publishers' AWS accounts: Debian (cloud team) and Canonical.
AMI_LOOKUP = {
    "debian-12": {"owner": "136693071363", "name": "debian-12-amd64-*"},
    "ubuntu-2204": {"owner": "099720109477", "name": "ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-amd64-server-*"},
}
VPC_CIDR = "10.42.0.0/16"
SUBNET_CIDR = PRIVATE_CIDR  # 10.42.1.0/24


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


def new_network(name: str, settings: StackSettings, tags: dict, opts: pulumi.ResourceOptions):
    """A VPC with one subnet routed to an internet gateway; returns (vpc id, subnet id)."""
    vpc = aws.ec2.Vpc(
        f"{name}-vpc",
        cidr_block=VPC_CIDR,
        enable_dns_hostnames=True,
        enable_dns_support=True,
        tags=tags,
        opts=opts,
    )
    igw = aws.ec2.InternetGateway(f"{name}-igw", vpc_id=vpc.id, tags=tags, opts=opts)
    subnet = aws.ec2.Subnet(
        f"{name}-subnet",
        vpc_id=vpc.id,
        cidr_block=SUBNET_CIDR,
        availability_zone=settings.zone,
        map_public_ip_on_launch=False,  # only the boxes, explicitly, get a public address
        tags=tags,
        opts=opts,
    )
    table = aws.ec2.RouteTable(
        f"{name}-rt",
        vpc_id=vpc.id,
        routes=[aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", gateway_id=igw.id)],
        tags=tags,
        opts=opts,
    )
    aws.ec2.RouteTableAssociation(f"{name}-rta", subnet_id=subnet.id, route_table_id=table.id, opts=opts)
    return vpc.id, subnet.id


def open_egress() -> list[aws.ec2.SecurityGroupEgressArgs]:
    """A box's way out: packages, model downloads and the cloud API."""
    return [
        aws.ec2.SecurityGroupEgressArgs(
            description="outbound: packages, model downloads, cloud API",
            protocol="-1",
            from_port=0,
            to_port=0,
            cidr_blocks=["0.0.0.0/0"],
            ipv6_cidr_blocks=["::/0"],
        )
    ]


def find_ami(settings: StackSettings, parent: pulumi.Resource, provider: aws.Provider):
    """The newest official image of settings.image (an invoke, no resource)."""
    lookup = AMI_LOOKUP[settings.image]
    return aws.ec2.get_ami_output(
        most_recent=True,
        owners=[lookup["owner"]],
        filters=[
            aws.ec2.GetAmiFilterArgs(name="name", values=[lookup["name"]]),
            aws.ec2.GetAmiFilterArgs(name="architecture", values=["x86_64"]),
            aws.ec2.GetAmiFilterArgs(name="virtualization-type", values=["hvm"]),
            aws.ec2.GetAmiFilterArgs(name="root-device-type", values=["ebs"]),
        ],
        opts=pulumi.InvokeOutputOptions(parent=parent, provider=provider),
    )


def instance_args(settings: StackSettings, ami_id, subnet_id, security_group_ids, key_name, tags: dict) -> dict:
    """An EC2 instance of the tier's type: encrypted gp3 root disk, IMDSv2 only, cloud-init for python3."""
    return {
        "ami": ami_id,
        "instance_type": settings.box["size"],
        "subnet_id": subnet_id,
        "vpc_security_group_ids": security_group_ids,
        "key_name": key_name,
        # a public address from the first boot (cloud-init fetches packages); AWS swaps it
        # for the Elastic IP as soon as that is associated
        "associate_public_ip_address": True,
        "root_block_device": aws.ec2.InstanceRootBlockDeviceArgs(
            volume_size=settings.disk_gb,
            volume_type="gp3",
            encrypted=True,
            kms_key_id=settings.disk_kms_key,
            delete_on_termination=True,
            tags=tags,
        ),
        "metadata_options": aws.ec2.InstanceMetadataOptionsArgs(
            http_endpoint="enabled",
            http_tokens="required",  # IMDSv2 only
            http_put_response_hop_limit=1,
        ),
        "user_data": CLOUD_CONFIG,
        "tags": tags,
        "volume_tags": None,
    }


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
        tags = {"Name": settings.name, **settings.labels}
        provider = aws.Provider(f"{name}-provider", region=settings.region, opts=pulumi.ResourceOptions(parent=self))
        child = pulumi.ResourceOptions(parent=self, provider=provider)

        if settings.vpc_id:
            vpc_id: pulumi.Input[str] = settings.vpc_id
            subnet_id: pulumi.Input[str] = settings.subnet_id  # type: ignore[assignment]
        else:
            vpc_id, subnet_id = new_network(name, settings, tags, child)

        sg = aws.ec2.SecurityGroup(
            f"{name}-sg",
            description=f"Hybrid AI Stack tier {settings.tier}: SSH from admins, gateway from clients; nothing else",
            vpc_id=vpc_id,
            ingress=[aws.ec2.SecurityGroupIngressArgs(**rule) for rule in ingress_rules(settings)],
            egress=open_egress(),
            tags=tags,
            opts=child,
        )

        ami = find_ami(settings, self, provider)

        key = aws.ec2.KeyPair(f"{name}-key", public_key=settings.ssh_public_key, tags=tags, opts=child)

        instance = aws.ec2.Instance(
            f"{name}-vm",
            **instance_args(settings, ami.id, subnet_id, [sg.id], key.key_name, tags),
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


def _lb_name(base: str, suffix: str) -> str:
    """Load balancer and target group names: at most 32 letters, digits and hyphens."""
    return f"{base[: 31 - len(suffix)].rstrip('-')}-{suffix}"


def _port_rule(description: str, port: int, v4=(), v6=(), security_groups=None) -> aws.ec2.SecurityGroupIngressArgs:
    return aws.ec2.SecurityGroupIngressArgs(
        description=description,
        protocol="tcp",
        from_port=port,
        to_port=port,
        cidr_blocks=list(v4),
        ipv6_cidr_blocks=list(v6),
        security_groups=security_groups,
    )


def fleet_ingress(settings: StackSettings, role: str, lb_security_group=None) -> list[aws.ec2.SecurityGroupIngressArgs]:
    """A fleet box's ways in: SSH from adminCidrs; the internal ports from the private subnet;
    on a gateway box the gateway port from the load balancer (its security group) and the subnet."""
    ssh = next(o for o in settings.openings() if o.name == "ssh")
    rules = [_port_rule(ssh.description, ssh.port, ssh.v4, ssh.v6)]
    if role == "gateway":
        rules.append(_port_rule("gateway from the load balancer", GATEWAY_PORT, security_groups=[lb_security_group]))
        rules.append(_port_rule("gateway: health checks, Prometheus (private subnet)", GATEWAY_PORT, [PRIVATE_CIDR]))
    rules += [_port_rule(f"internal tcp/{p} (private subnet)", p, [PRIVATE_CIDR]) for p in PRIVATE_PORTS]
    return rules


class AwsFleet(pulumi.ComponentResource):
    """A tier's fleet on EC2: gateway boxes behind a network load balancer, model boxes beside
    them, one VPC subnet; each box has an Elastic IP for SSH from adminCidrs only."""

    load_balancer: pulumi.Output[str]
    nodes: list[dict]  # per box: name, role, groups, public_ip, private_ip, instance_id

    def __init__(self, name: str, settings: StackSettings, opts: pulumi.ResourceOptions | None = None):
        super().__init__("hybrid-ai:aws:Fleet", name, None, opts)
        self.settings = settings
        tags = {"Name": settings.name, **settings.labels}
        provider = aws.Provider(f"{name}-provider", region=settings.region, opts=pulumi.ResourceOptions(parent=self))
        child = pulumi.ResourceOptions(parent=self, provider=provider)
        vpc_id, subnet_id = new_network(name, settings, tags, child)

        gateway = next(o for o in settings.openings() if o.name == "gateway")
        lb_sg = aws.ec2.SecurityGroup(
            f"{name}-lb-sg",
            description="Hybrid AI Stack load balancer: the gateway port from gatewayCidrs, to the gateway boxes",
            vpc_id=vpc_id,
            ingress=[_port_rule(gateway.description, GATEWAY_PORT, gateway.v4, gateway.v6)],
            egress=[
                aws.ec2.SecurityGroupEgressArgs(
                    description="to the gateway boxes (traffic and health checks)",
                    protocol="tcp",
                    from_port=GATEWAY_PORT,
                    to_port=GATEWAY_PORT,
                    cidr_blocks=[PRIVATE_CIDR],
                )
            ],
            tags=tags,
            opts=child,
        )
        egress = open_egress()
        groups = {
            role: aws.ec2.SecurityGroup(
                f"{name}-{role}-sg",
                description=f"Hybrid AI Stack tier {settings.tier} {role} boxes: SSH from admins, "
                + ("gateway from the load balancer, " if role == "gateway" else "")
                + "internal ports from the private subnet",
                vpc_id=vpc_id,
                ingress=fleet_ingress(settings, role, lb_sg.id),
                egress=egress,
                tags=tags,
                opts=child,
            )
            for role in ("gateway", "model")
        }

        ami = find_ami(settings, self, provider)
        key = aws.ec2.KeyPair(f"{name}-key", public_key=settings.ssh_public_key, tags=tags, opts=child)
        self.nodes = []
        for node in plan(settings):
            node_tags = {**tags, "Name": node.name, LABEL_ROLE: node.role}
            instance = aws.ec2.Instance(
                f"{node.name}-vm",
                **instance_args(settings, ami.id, subnet_id, [groups[node.role].id], key.key_name, node_tags),
                opts=pulumi.ResourceOptions(parent=self, provider=provider, ignore_changes=["ami"]),
            )
            eip = aws.ec2.Eip(f"{node.name}-eip", domain="vpc", instance=instance.id, tags=node_tags, opts=child)
            self.nodes.append(
                {
                    "name": node.name,
                    "role": node.role,
                    "groups": list(node.groups),
                    "public_ip": eip.public_ip,
                    "private_ip": instance.private_ip,
                    "instance_id": instance.id,
                }
            )

        lb = aws.lb.LoadBalancer(
            f"{name}-nlb",
            name=_lb_name(settings.name, "nlb"),
            load_balancer_type="network",
            internal=False,
            ip_address_type="ipv4",
            subnets=[subnet_id],
            security_groups=[lb_sg.id],
            tags=tags,
            opts=child,
        )
        check = health_check()
        target_group = aws.lb.TargetGroup(
            f"{name}-tg",
            name=_lb_name(settings.name, "gw"),
            port=GATEWAY_PORT,
            protocol="TCP",
            target_type="instance",
            vpc_id=vpc_id,
            health_check=aws.lb.TargetGroupHealthCheckArgs(
                enabled=True,
                protocol=check["protocol"],
                port=str(check["port"]),
                path=check["path"],
                matcher="200",
                interval=10,
                healthy_threshold=3,
                unhealthy_threshold=3,
            ),
            tags=tags,
            opts=child,
        )
        aws.lb.Listener(
            f"{name}-listener",
            load_balancer_arn=lb.arn,
            port=GATEWAY_PORT,
            protocol="TCP",
            default_actions=[aws.lb.ListenerDefaultActionArgs(type="forward", target_group_arn=target_group.arn)],
            tags=tags,
            opts=child,
        )
        for node in self.nodes:
            if node["role"] == "gateway":
                aws.lb.TargetGroupAttachment(
                    f"{node['name']}-target",
                    target_group_arn=target_group.arn,
                    target_id=node["instance_id"],
                    port=GATEWAY_PORT,
                    opts=child,
                )

        self.load_balancer = lb.dns_name
        self.register_outputs({"load_balancer": self.load_balancer, "nodes": self.nodes})
