"""Pulumi unit tests: the program runs against mocks, no CLI, plugins or cloud account.

The mocks are installed before the program's modules are imported (Pulumi's testing
pattern); each test installs a fresh Recorder so it sees only its own resources.
"""

from __future__ import annotations

import base64
import os
import sys
from pathlib import Path

import pulumi

ROOT = Path(__file__).resolve().parents[2]
PULUMI_DIR = ROOT / "infra" / "pulumi"
PROJECT = "hybrid-ai-stack"
AMI_ID = "ami-0fedcba9876543210"
GCP_IMAGE = "https://www.googleapis.com/compute/v1/projects/debian-cloud/global/images/debian-12-bookworm-v20261101"
GCP_DISKS = "https://www.googleapis.com/compute/v1/projects/hybrid-test-123/zones/us-central1-a/disks"
AWS_EIP = "198.18.0.10"
GCP_ADDRESS = "198.18.0.20"
PRIVATE_IP = "10.42.1.10"


class Recorder(pulumi.runtime.Mocks):
    """Records every resource and invoke; answers the image lookups like the clouds would."""

    def __init__(self) -> None:
        self.resources: list[tuple[str, str, dict]] = []
        self.calls: list[tuple[str, dict]] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        inputs = dict(args.inputs)
        self.resources.append((args.typ, args.name, inputs))
        outputs = dict(inputs)
        if args.typ == "aws:ec2/eip:Eip":
            outputs["publicIp"] = AWS_EIP
        elif args.typ == "aws:ec2/instance:Instance":
            outputs["privateIp"] = PRIVATE_IP
        elif args.typ == "aws:ec2/keyPair:KeyPair":
            outputs["keyName"] = f"{args.name}-generated"
        elif args.typ == "gcp:compute/disk:Disk":
            outputs["selfLink"] = f"{GCP_DISKS}/{inputs.get('name', args.name)}"
        elif args.typ == "gcp:compute/address:Address":
            outputs["address"] = GCP_ADDRESS
        elif args.typ == "gcp:compute/instance:Instance":
            outputs["instanceId"] = "1234567890123456789"
            nics = [dict(n, networkIp=PRIVATE_IP) for n in inputs.get("networkInterfaces", [])]
            outputs["networkInterfaces"] = nics
        return [f"{args.name}-id", outputs]

    def call(self, args: pulumi.runtime.MockCallArgs):
        self.calls.append((args.token, dict(args.args)))
        if args.token == "aws:ec2/getAmi:getAmi":
            return {"id": AMI_ID, "imageId": AMI_ID, "name": "debian-12-amd64-20261101-1234", "architecture": "x86_64"}
        if args.token == "gcp:compute/getImage:getImage":
            return {"selfLink": GCP_IMAGE, "name": "debian-12-bookworm-v20261101", "family": args.args.get("family")}
        raise AssertionError(f"unexpected invoke {args.token}")

    def of_type(self, typ: str) -> list[dict]:
        return [inputs for t, _, inputs in self.resources if t == typ]


def install_mocks(stack: str = "test") -> Recorder:
    recorder = Recorder()
    pulumi.runtime.set_mocks(recorder, project=PROJECT, stack=stack, preview=False)
    return recorder


install_mocks()
if str(PULUMI_DIR) not in sys.path:
    sys.path.insert(0, str(PULUMI_DIR))
os.environ.setdefault("HYBRID_AI_TIERS_DIR", str(ROOT / "tiers"))


def fake_public_key(seed: int = 7) -> str:
    """A well-formed ed25519 public key (the SSH wire format), no ssh-keygen needed."""
    name = b"ssh-ed25519"
    blob = len(name).to_bytes(4, "big") + name + (32).to_bytes(4, "big") + bytes((seed + i) % 256 for i in range(32))
    return f"ssh-ed25519 {base64.b64encode(blob).decode()} operator@example"


ADMIN = "198.18.5.7/32"
GATEWAY = "198.18.0.0/24"


def base_config(cloud: str, tier: int, **overrides) -> dict:
    raw = {
        "cloud": cloud,
        "tier": str(tier),
        "sshPublicKey": fake_public_key(),
        "adminCidrs": [ADMIN],
        "gatewayCidrs": [GATEWAY],
    }
    if cloud == "aws":
        raw["region"] = "us-east-1"
    else:
        raw["zone"] = "us-central1-a"
        raw["gcpProject"] = "hybrid-test-123"
    raw.update(overrides)
    return {k: v for k, v in raw.items() if v is not None}


class FleetRecorder(Recorder):
    """A Recorder whose boxes get addresses of their own (a fleet's inventory must tell them
    apart), with the load balancers' ids and addresses the clouds would report."""

    LB_DNS = "hybrid-ai-nlb-0123456789.elb.us-east-1.amazonaws.com"

    def __init__(self) -> None:
        super().__init__()
        self.public: dict[str, str] = {}  # resource name -> public address it was given
        self.private: dict[str, str] = {}  # instance resource name -> private address

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        rid, outputs = super().new_resource(args)
        n = len(self.resources)
        if args.typ in ("aws:ec2/eip:Eip", "gcp:compute/address:Address"):
            ip = f"198.18.{1 if args.typ.startswith('aws') else 2}.{n}"
            outputs["publicIp" if args.typ.startswith("aws") else "address"] = ip
            self.public[args.name] = ip
        elif args.typ == "aws:ec2/instance:Instance":
            outputs["privateIp"] = self.private[args.name] = f"10.42.1.{100 + n}"
        elif args.typ == "gcp:compute/instance:Instance":
            ip = self.private[args.name] = f"10.42.1.{100 + n}"
            outputs["networkInterfaces"] = [dict(nic, networkIp=ip) for nic in outputs["networkInterfaces"]]
            outputs["selfLink"] = f"{GCP_DISKS.rsplit('/', 1)[0]}/instances/{args.inputs['name']}"
            outputs["instanceId"] = f"{1000 + n}"
        elif args.typ.startswith("aws:lb/"):
            outputs["arn"] = f"arn:aws:elasticloadbalancing:us-east-1:111122223333:{args.name}"
            if args.typ == "aws:lb/loadBalancer:LoadBalancer":
                outputs["dnsName"] = self.LB_DNS
        elif args.typ == "aws:ec2/securityGroup:SecurityGroup":
            rid = f"sg-{args.name}"
        elif args.typ.startswith("gcp:compute/"):
            outputs.setdefault("selfLink", f"https://www.googleapis.com/compute/v1/{args.name}")
        return [rid, outputs]


def install_fleet_mocks(stack: str = "test") -> FleetRecorder:
    recorder = FleetRecorder()
    pulumi.runtime.set_mocks(recorder, project=PROJECT, stack=stack, preview=False)
    return recorder
