"""Every cloud x tier stack under Pulumi's mocks: sizes and GPU from tiers/, the only ways in,
encryption, IMDSv2, labels and the outputs (inventory included).

conftest.py has installed the mocks before this module (and so the program) is imported."""

from __future__ import annotations

import pulumi
import pytest
from hybrid_infra import program
from hybrid_infra.config import validate

from hybrid_ai.tiers import box_for, load_tier
from tests.pulumi.mocks import (
    ADMIN,
    AMI_ID,
    AWS_EIP,
    GATEWAY,
    GCP_ADDRESS,
    GCP_DISKS,
    GCP_IMAGE,
    PRIVATE_IP,
    base_config,
    install_mocks,
)

# the providers' SDKs warn about their own deprecated resources when first imported
pytestmark = pytest.mark.filterwarnings("ignore:.*deprecated in favor of:DeprecationWarning")

COMBOS = [(cloud, tier) for cloud in ("aws", "gcp") for tier in (1, 2, 3, 4)]
WORLD = {"0.0.0.0/0", "::/0"}


def run_stack(cloud: str, tier: int, stack: str | None = None, **overrides):
    """Build the program for one stack; return (recorder, resolved outputs, settings)."""
    stack = stack or f"{cloud}-tier{tier}"
    recorder = install_mocks(stack)
    settings = validate(base_config(cloud, tier, **overrides), stack=stack)
    resolved: dict = {}

    @pulumi.runtime.test
    def check():
        outputs = program.build(settings)
        keys = sorted(outputs)

        def verify(values):
            resolved.update(zip(keys, values, strict=True))
            inv = resolved["inventory"]
            # assertions on resolved outputs, inside the apply as Pulumi's unit tests do
            assert resolved["hybrid_tier"] == tier and inv["hybrid_tier"] == tier
            assert resolved["cloud"] == cloud and inv["cloud"] == cloud
            ip = AWS_EIP if cloud == "aws" else GCP_ADDRESS
            assert resolved["public_ip"] == ip
            assert resolved["gateway_url"] == f"http://{ip}:8080"
            assert inv["hosts"][0]["host"] == ip
            assert inv["hosts"][0]["user"] == settings.ssh_user
            assert inv["hosts"][0]["hybrid_tier"] == tier

        return pulumi.Output.all(*[outputs[k] for k in keys]).apply(verify)

    check()
    return recorder, resolved, settings


@pytest.mark.parametrize(("cloud", "tier"), COMBOS, ids=[f"{c}-tier{t}" for c, t in COMBOS])
def test_stack(cloud, tier):
    recorder, out, settings = run_stack(cloud, tier)
    box = box_for(tier, cloud)
    tier_data = load_tier(tier)
    assert out["size"] == box["size"]
    assert out["monthly_usd"] == box["monthly_usd"]
    inv = out["inventory"]
    assert inv["hosts"][0]["size"] == box["size"]
    assert inv["hosts"][0]["groups"] == ["gateway", "llm", "cache", "monitoring", "automation"]
    assert inv["vars"] == {"hybrid_admin_cidrs": [ADMIN], "hybrid_gateway_cidrs": [GATEWAY]}
    assert out["private_ip"] == PRIVATE_IP
    if cloud == "aws":
        check_aws(recorder, box, tier)
    else:
        check_gcp(recorder, box, tier, settings)
    # the GPU tier is the one the catalogue says has a GPU, on both clouds
    assert (box["gpu"] is not None) == (tier_data["box"]["gpu"] is not None)


def check_aws(recorder, box, tier):
    (instance,) = recorder.of_type("aws:ec2/instance:Instance")
    assert instance["instanceType"] == box["size"]
    if box["gpu"]:
        assert instance["instanceType"].startswith("g4dn."), "a T4 box on AWS is a g4dn"
    assert instance["ami"] == AMI_ID
    root = instance["rootBlockDevice"]
    assert root["volumeSize"] == box["disk_gb"]
    assert root["encrypted"] is True
    assert root["volumeType"] == "gp3"
    assert instance["metadataOptions"]["httpTokens"] == "required"
    assert instance["metadataOptions"]["httpPutResponseHopLimit"] == 1
    assert instance["associatePublicIpAddress"] is True  # until the Elastic IP replaces it
    assert "python3" in instance["userData"]
    assert instance["userData"].startswith("#cloud-config")

    # the only ways in
    (sg,) = recorder.of_type("aws:ec2/securityGroup:SecurityGroup")
    ingress = {
        (
            r["protocol"],
            r["fromPort"],
            r["toPort"],
            tuple(r.get("cidrBlocks") or ()),
            tuple(r.get("ipv6CidrBlocks") or ()),
        )
        for r in sg["ingress"]
    }
    assert ingress == {("tcp", 22, 22, (ADMIN,), ()), ("tcp", 8080, 8080, (GATEWAY,), ())}
    assert len(sg["ingress"]) == 2
    for typ in (
        "aws:ec2/securityGroupRule:SecurityGroupRule",
        "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
    ):
        assert recorder.of_type(typ) == [], f"no ingress may be added outside the group: {typ}"
    ssh_sources = {c for r in sg["ingress"] if r["fromPort"] <= 22 <= r["toPort"] for c in r.get("cidrBlocks", [])}
    assert not ssh_sources & WORLD

    (eip,) = recorder.of_type("aws:ec2/eip:Eip")
    assert eip["domain"] == "vpc" and eip["instance"]
    assert len(recorder.of_type("aws:ec2/vpc:Vpc")) == 1
    (key,) = recorder.of_type("aws:ec2/keyPair:KeyPair")
    assert key["publicKey"].startswith("ssh-ed25519 ")

    # tags on everything taggable carry the tier
    for typ, _, inputs in recorder.resources:
        if typ.startswith("aws:ec2/") and "tags" in inputs:
            assert inputs["tags"]["hybrid-ai-tier"] == str(tier), typ
            assert inputs["tags"]["managed-by"] == "pulumi"
    assert instance["tags"]["Name"] == f"hybrid-ai-aws-tier{tier}"

    (call,) = [a for t, a in recorder.calls if t == "aws:ec2/getAmi:getAmi"]
    assert call["owners"] == ["136693071363"]
    assert call["mostRecent"] is True
    names = [f["values"] for f in call["filters"] if f["name"] == "name"]
    assert names == [["debian-12-amd64-*"]]


def check_gcp(recorder, box, tier, settings):
    (instance,) = recorder.of_type("gcp:compute/instance:Instance")
    assert instance["machineType"] == box["size"]
    assert instance["zone"] == "us-central1-a"
    (disk,) = recorder.of_type("gcp:compute/disk:Disk")
    assert disk["size"] == box["disk_gb"]
    assert disk["image"] == GCP_IMAGE
    assert disk["type"] == "pd-balanced"
    assert disk["labels"]["hybrid-ai-tier"] == str(tier)
    # persistent disks are encrypted by Google by default; no CMEK unless diskKmsKey is set
    assert "diskEncryptionKey" not in disk
    assert instance["bootDisk"] == {"source": f"{GCP_DISKS}/hybrid-ai-gcp-tier{tier}-boot", "autoDelete": False}
    assert instance["labels"]["hybrid-ai-tier"] == str(tier)
    assert instance["labels"]["hybrid-ai-stack"] == f"gcp-tier{tier}"
    meta = instance["metadata"]
    assert meta["ssh-keys"] == f"{settings.ssh_user}:{settings.ssh_public_key}"
    assert meta["enable-oslogin"] == "FALSE"
    assert meta["block-project-ssh-keys"] == "TRUE"
    assert "python3" in instance["metadataStartupScript"]
    assert instance["allowStoppingForUpdate"] is True
    assert "serviceAccount" not in instance, "no service account (and so no cloud API scopes) on the box"
    gpu = box["gpu"]
    if gpu:
        (acc,) = instance["guestAccelerators"]
        assert acc == {"type": gpu["gcp_accelerator_type"], "count": gpu["count"]}
        assert acc["type"] == "nvidia-tesla-t4"
        assert instance["scheduling"]["onHostMaintenance"] == "TERMINATE"
    else:
        assert not instance.get("guestAccelerators")
        assert instance["scheduling"]["onHostMaintenance"] == "MIGRATE"
    (nic,) = instance["networkInterfaces"]
    assert nic["accessConfigs"][0]["natIp"] == GCP_ADDRESS

    tag = f"hybrid-ai-gcp-tier{tier}"
    assert instance["tags"] == [tag]
    rules = recorder.of_type("gcp:compute/firewall:Firewall")
    allowed = set()
    for rule in rules:
        assert rule["direction"] == "INGRESS"
        assert rule["targetTags"] == [tag], "every rule applies to this box only"
        for allow in rule.get("allows") or []:
            for port in allow["ports"]:
                allowed.add((allow["protocol"], port, tuple(rule["sourceRanges"])))
            assert allow["protocol"] == "tcp"
            assert rule["priority"] == 1000
        for deny in rule.get("denies") or []:
            assert deny["protocol"] == "all"
            assert set(rule["sourceRanges"]) <= WORLD
            assert rule["priority"] > 1000, "the deny rule must lose to the two allows"
            assert rule["priority"] < 65534, "and beat an existing network's default allows"
    assert allowed == {("tcp", "22", (ADMIN,)), ("tcp", "8080", (GATEWAY,))}
    denied = {tuple(r["sourceRanges"]) for r in rules if r.get("denies")}
    assert denied == {("0.0.0.0/0",), ("::/0",)}
    (address,) = recorder.of_type("gcp:compute/address:Address")
    assert address["addressType"] == "EXTERNAL" and address["region"] == "us-central1"
    assert address["labels"]["hybrid-ai-tier"] == str(tier)
    assert len(recorder.of_type("gcp:compute/network:Network")) == 1
    (call,) = [a for t, a in recorder.calls if t == "gcp:compute/getImage:getImage"]
    assert call == {"family": "debian-12", "project": "debian-cloud"}


def test_aws_existing_network_ipv6_and_cmek():
    recorder, _, _ = run_stack(
        "aws",
        2,
        vpcId="vpc-0123456789abcdef0",
        subnetId="subnet-0123456789abcdef0",
        adminCidrs=[ADMIN, "2001:4860:4860::8888/128"],
        diskKmsKey="arn:aws:kms:us-east-1:111122223333:key/abcd",
        image="ubuntu-2204",
    )
    assert recorder.of_type("aws:ec2/vpc:Vpc") == [] and recorder.of_type("aws:ec2/subnet:Subnet") == []
    (sg,) = recorder.of_type("aws:ec2/securityGroup:SecurityGroup")
    assert sg["vpcId"] == "vpc-0123456789abcdef0"
    ssh = next(r for r in sg["ingress"] if r["fromPort"] == 22)
    assert ssh["cidrBlocks"] == [ADMIN] and ssh["ipv6CidrBlocks"] == ["2001:4860:4860::8888/128"]
    (instance,) = recorder.of_type("aws:ec2/instance:Instance")
    assert instance["subnetId"] == "subnet-0123456789abcdef0"
    assert instance["rootBlockDevice"]["kmsKeyId"].startswith("arn:aws:kms:")
    (call,) = [a for t, a in recorder.calls if t == "aws:ec2/getAmi:getAmi"]
    assert call["owners"] == ["099720109477"]
    assert next(f["values"][0] for f in call["filters"] if f["name"] == "name").startswith(
        "ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-amd64"
    )


def test_gcp_existing_network_os_login_cmek_ubuntu():
    key = "projects/p/locations/us-central1/keyRings/r/cryptoKeys/k"
    recorder, out, _ = run_stack(
        "gcp", 3, network="default", osLogin="true", sshUser="alice_example_com", diskKmsKey=key, image="ubuntu-2204"
    )
    assert recorder.of_type("gcp:compute/network:Network") == []
    for rule in recorder.of_type("gcp:compute/firewall:Firewall"):
        assert rule["network"] == "default"
    (instance,) = recorder.of_type("gcp:compute/instance:Instance")
    (disk,) = recorder.of_type("gcp:compute/disk:Disk")
    assert disk["diskEncryptionKey"] == {"kmsKeySelfLink": key}
    assert instance["metadata"]["enable-oslogin"] == "TRUE"
    assert "ssh-keys" not in instance["metadata"]
    assert instance["networkInterfaces"][0]["network"] == "default"
    assert out["inventory"]["hosts"][0]["user"] == "alice_example_com"
    (call,) = [a for t, a in recorder.calls if t == "gcp:compute/getImage:getImage"]
    assert call == {"family": "ubuntu-2204-lts", "project": "ubuntu-os-cloud"}


def test_world_ssh_only_with_explicit_override():
    recorder, _, _ = run_stack("gcp", 1, adminCidrs=["0.0.0.0/0"], allowWorldSsh=True)
    ssh = [
        r
        for r in recorder.of_type("gcp:compute/firewall:Firewall")
        if r.get("allows") and "22" in r["allows"][0]["ports"]
    ]
    assert [r["sourceRanges"] for r in ssh] == [["0.0.0.0/0"]]


def test_gateway_defaults_to_admin_cidrs():
    recorder, out, _ = run_stack("aws", 1, gatewayCidrs=None)
    (sg,) = recorder.of_type("aws:ec2/securityGroup:SecurityGroup")
    assert {r["fromPort"]: r["cidrBlocks"] for r in sg["ingress"]} == {22: [ADMIN], 8080: [ADMIN]}
    assert out["inventory"]["vars"]["hybrid_gateway_cidrs"] == [ADMIN]


@pytest.mark.parametrize("cloud", ["aws", "gcp"])
def test_tier_change_resizes_the_same_box(cloud):
    """Same stack, tier 2 -> 4: every resource keeps its name (no replacement); sizes follow tiers/."""
    before, _, _ = run_stack(cloud, 2, stack=f"{cloud}-prod", zone="us-central1-a" if cloud == "gcp" else None)
    after, out, _ = run_stack(cloud, 4, stack=f"{cloud}-prod", zone="us-central1-a" if cloud == "gcp" else None)
    names = lambda rec: sorted((t, n) for t, n, _ in rec.resources)  # noqa: E731
    assert names(before) == names(after)
    kind = "aws:ec2/instance:Instance" if cloud == "aws" else "gcp:compute/instance:Instance"
    key = "instanceType" if cloud == "aws" else "machineType"
    (old,), (new,) = before.of_type(kind), after.of_type(kind)
    assert (old[key], new[key]) == (box_for(2, cloud)["size"], box_for(4, cloud)["size"])
    if cloud == "gcp":
        assert old["name"] == new["name"] == "hybrid-ai-gcp-prod"
        (d2,), (d4,) = before.of_type("gcp:compute/disk:Disk"), after.of_type("gcp:compute/disk:Disk")
        assert (d2["name"], d2["size"], d4["size"]) == ("hybrid-ai-gcp-prod-boot", box_for(2, cloud)["disk_gb"], 120)
        assert new["allowStoppingForUpdate"] is True
    assert out["inventory"]["hosts"][0]["hybrid_tier"] == 4


def test_disk_kept_bigger_after_a_downgrade():
    recorder, out, _ = run_stack("aws", 1, diskGb="120")
    (instance,) = recorder.of_type("aws:ec2/instance:Instance")
    assert instance["rootBlockDevice"]["volumeSize"] == 120
    assert instance["instanceType"] == box_for(1, "aws")["size"]
    assert out["inventory"]["hosts"][0]["disk_gb"] == 120
