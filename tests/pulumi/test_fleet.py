"""A fleet (stack setting `fleet: {gateways: N, models: M}`) under Pulumi's mocks, on both clouds:
boxes per role and their sizes, the load balancer in front of exactly the gateway boxes with its
health check on /health, the only ways in, the private network, the outputs and the inventory."""

from __future__ import annotations

import ipaddress
import json

import pulumi
import pytest
import yaml
from hybrid_infra import program
from hybrid_infra.config import ConfigError, from_pulumi, main, validate
from hybrid_infra.fleet import GCP_HEALTH_CHECK_RANGES, PRIVATE_CIDR, PRIVATE_PORTS
from hybrid_infra.inventory import hosts_document

from hybrid_ai.tiers import box_for
from tests.pulumi.mocks import (
    ADMIN,
    GATEWAY,
    GCP_DISKS,
    FleetRecorder,
    base_config,
    fake_public_key,
    install_fleet_mocks,
    install_mocks,
)

pytestmark = pytest.mark.filterwarnings("ignore:.*deprecated in favor of:DeprecationWarning")

WORLD = {"0.0.0.0/0", "::/0"}
# (tier, gateways, models): the 2x3, the GPU tier, one gateway over two model servers, 3x1
SHAPES = [(2, 2, 3), (4, 2, 3), (1, 1, 2), (3, 3, 1)]
CASES = [(cloud, *shape) for cloud in ("aws", "gcp") for shape in SHAPES]
IDS = [f"{c}-tier{t}-{g}x{m}" for c, t, g, m in CASES]


def resolve(settings) -> dict:
    resolved: dict = {}

    @pulumi.runtime.test
    def check():
        outputs = program.build(settings)
        keys = sorted(outputs)
        return pulumi.Output.all(*[outputs[k] for k in keys]).apply(
            lambda v: resolved.update(zip(keys, v, strict=True))
        )

    check()
    return resolved


def run_fleet(cloud: str, tier: int, gateways: int, models: int, **overrides):
    stack = f"{cloud}-tier{tier}"
    recorder = install_fleet_mocks(stack)
    settings = validate(base_config(cloud, tier, fleet={"gateways": gateways, "models": models}, **overrides), stack)
    return recorder, resolve(settings), settings


def names(prefix: str, gateways: int, models: int) -> tuple[list[str], list[str]]:
    return [f"{prefix}-gw{i}" for i in range(1, gateways + 1)], [f"{prefix}-m{i}" for i in range(1, models + 1)]


@pytest.mark.parametrize(("cloud", "tier", "gateways", "models"), CASES, ids=IDS)
def test_fleet(cloud, tier, gateways, models):
    recorder, out, settings = run_fleet(cloud, tier, gateways, models)
    gw_names, model_names = names(settings.name, gateways, models)
    if cloud == "aws":
        public, private = check_aws(recorder, settings, gw_names, model_names)
        lb = FleetRecorder.LB_DNS
    else:
        public, private, lb = check_gcp(recorder, settings, gw_names, model_names)
    check_outputs(out, settings, gw_names, model_names, public, private, lb)


def check_aws(recorder: FleetRecorder, settings, gw_names, model_names):
    box = box_for(settings.tier, "aws")
    instances = {n.removesuffix("-vm"): i for t, n, i in recorder.resources if t == "aws:ec2/instance:Instance"}
    assert sorted(instances) == sorted(gw_names + model_names)
    roles = {n: i["tags"]["hybrid-ai-role"] for n, i in instances.items()}
    assert sorted(n for n, r in roles.items() if r == "gateway") == sorted(gw_names)  # registration order varies
    assert sorted(n for n, r in roles.items() if r == "model") == sorted(model_names)
    for name, inst in instances.items():
        assert inst["instanceType"] == box["size"], name  # a tier-4 box is a g4dn: the T4 is on board
        assert inst["tags"]["Name"] == name and inst["tags"]["hybrid-ai-tier"] == str(settings.tier)
        assert inst["rootBlockDevice"]["encrypted"] is True
        assert inst["metadataOptions"]["httpTokens"] == "required"
    eips = {n.removesuffix("-eip"): e for t, n, e in recorder.resources if t == "aws:ec2/eip:Eip"}
    assert sorted(eips) == sorted(instances)
    for name, eip in eips.items():
        assert eip["instance"] == f"{name}-vm-id"

    # the private network
    (vpc,) = recorder.of_type("aws:ec2/vpc:Vpc")
    (subnet,) = recorder.of_type("aws:ec2/subnet:Subnet")
    assert vpc["cidrBlock"] == "10.42.0.0/16" and subnet["cidrBlock"] == PRIVATE_CIDR
    assert subnet["mapPublicIpOnLaunch"] is False
    assert all(i["subnetId"] == f"{settings.name}-subnet-id" for i in instances.values())

    # security groups: one for the load balancer, one per role, each box in its role's only
    groups = {n: g for t, n, g in recorder.resources if t == "aws:ec2/securityGroup:SecurityGroup"}
    lb_sg_id, gw_sg_id, model_sg_id = (f"sg-{settings.name}-{r}-sg" for r in ("lb", "gateway", "model"))
    assert sorted(f"sg-{n}" for n in groups) == sorted([lb_sg_id, gw_sg_id, model_sg_id])
    for name, inst in instances.items():
        assert inst["vpcSecurityGroupIds"] == [gw_sg_id if roles[name] == "gateway" else model_sg_id]
    for typ in (
        "aws:ec2/securityGroupRule:SecurityGroupRule",
        "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
    ):
        assert recorder.of_type(typ) == [], f"no ingress may be added outside the groups: {typ}"

    def ingress(group) -> set:
        return {
            (
                r["fromPort"],
                r["toPort"],
                tuple(r.get("cidrBlocks") or ()),
                tuple(r.get("ipv6CidrBlocks") or ()),
                tuple(r.get("securityGroups") or ()),
            )
            for r in group["ingress"]
        }

    internal = {(p, p, (PRIVATE_CIDR,), (), ()) for p in PRIVATE_PORTS}
    ssh = (22, 22, (ADMIN,), (), ())
    lb_sg, gw_sg, model_sg = (groups[f"{settings.name}-{r}-sg"] for r in ("lb", "gateway", "model"))
    assert ingress(lb_sg) == {(8080, 8080, (GATEWAY,), (), ())}, "clients reach the load balancer only"
    assert [(e["protocol"], e["fromPort"], e["cidrBlocks"]) for e in lb_sg["egress"]] == [("tcp", 8080, [PRIVATE_CIDR])]
    assert ingress(gw_sg) == {
        ssh,
        (8080, 8080, (), (), (lb_sg_id,)),  # from the load balancer
        (8080, 8080, (PRIVATE_CIDR,), (), ()),  # health checks from its nodes in the subnet, Prometheus
        *internal,
    }
    assert ingress(model_sg) == {ssh, *internal}, "a model box has no gateway port"
    for group in (gw_sg, model_sg):
        for rule in group["ingress"]:
            sources = set(rule.get("cidrBlocks") or ()) | set(rule.get("ipv6CidrBlocks") or ())
            assert not sources & WORLD, rule
            if rule["fromPort"] != 22:
                assert sources <= {PRIVATE_CIDR}, f"only the private subnet reaches tcp/{rule['fromPort']}"

    # the load balancer in front of exactly the gateway boxes
    (lb,) = recorder.of_type("aws:lb/loadBalancer:LoadBalancer")
    assert lb["loadBalancerType"] == "network" and lb["internal"] is False
    assert lb["subnets"] == [f"{settings.name}-subnet-id"] and lb["securityGroups"] == [lb_sg_id]
    assert len(lb["name"]) <= 32
    (tg,) = recorder.of_type("aws:lb/targetGroup:TargetGroup")
    assert (tg["port"], tg["protocol"], tg["targetType"]) == (8080, "TCP", "instance")
    hc = tg["healthCheck"]
    assert (hc["protocol"], hc["path"], hc["port"], hc["matcher"]) == ("HTTP", "/health", "8080", "200")
    tg_arn = f"arn:aws:elasticloadbalancing:us-east-1:111122223333:{settings.name}-tg"
    (listener,) = recorder.of_type("aws:lb/listener:Listener")
    assert (listener["port"], listener["protocol"]) == (8080, "TCP")
    assert listener["loadBalancerArn"].endswith(f"{settings.name}-nlb")
    assert listener["defaultActions"] == [{"type": "forward", "targetGroupArn": tg_arn}]
    attachments = recorder.of_type("aws:lb/targetGroupAttachment:TargetGroupAttachment")
    assert sorted(a["targetId"] for a in attachments) == sorted(f"{n}-vm-id" for n in gw_names)
    assert all(a["targetGroupArn"] == tg_arn and a["port"] == 8080 for a in attachments)

    public = {n: recorder.public[f"{n}-eip"] for n in instances}
    private = {n: recorder.private[f"{n}-vm"] for n in instances}
    return public, private


def check_gcp(recorder: FleetRecorder, settings, gw_names, model_names):
    box = box_for(settings.tier, "gcp")
    instances = {i["name"]: i for i in recorder.of_type("gcp:compute/instance:Instance")}
    assert sorted(instances) == sorted(gw_names + model_names)
    tags = {"all": settings.name, "gateway": f"{settings.name}-gateway", "model": f"{settings.name}-model"}
    for name, inst in instances.items():
        role = "gateway" if name in gw_names else "model"
        assert inst["labels"]["hybrid-ai-role"] == role
        assert inst["machineType"] == box["size"]
        assert inst["tags"] == [tags["all"], tags[role]]
        assert inst["bootDisk"]["source"].endswith(f"/{name}-boot")
        gpu = box["gpu"] if role == "model" else None  # the GPU goes where the models run
        if gpu:
            assert inst["guestAccelerators"] == [{"type": gpu["gcp_accelerator_type"], "count": gpu["count"]}]
            assert inst["scheduling"]["onHostMaintenance"] == "TERMINATE"
        else:
            assert not inst.get("guestAccelerators"), name
            assert inst["scheduling"]["onHostMaintenance"] == "MIGRATE"
    disks = recorder.of_type("gcp:compute/disk:Disk")
    assert sorted(d["name"] for d in disks) == sorted(f"{n}-boot" for n in instances)
    assert all(d["size"] == box["disk_gb"] for d in disks)

    (subnet,) = recorder.of_type("gcp:compute/subnetwork:Subnetwork")
    assert subnet["ipCidrRange"] == PRIVATE_CIDR
    addresses = {a["name"]: recorder.public[n] for t, n, a in recorder.resources if t == "gcp:compute/address:Address"}
    assert sorted(addresses) == sorted([*(f"{n}-ip" for n in instances), f"{settings.name}-lb-ip"])
    lb_ip = addresses[f"{settings.name}-lb-ip"]

    # firewall: (ports, sources, destinations, target tag) of every allow rule
    rules = recorder.of_type("gcp:compute/firewall:Firewall")
    allows = set()
    for rule in rules:
        assert rule["direction"] == "INGRESS" and len(rule["targetTags"]) == 1
        assert rule["targetTags"][0] in tags.values()
        for allow in rule.get("allows") or []:
            assert allow["protocol"] == "tcp" and rule["priority"] == 1000
            allows.add(
                (
                    tuple(allow["ports"]),
                    tuple(rule["sourceRanges"]),
                    tuple(rule.get("destinationRanges") or ()),
                    rule["targetTags"][0],
                )
            )
        for deny in rule.get("denies") or []:
            assert deny["protocol"] == "all" and 1000 < rule["priority"] < 65534
            assert rule["targetTags"] == [tags["all"]] and set(rule["sourceRanges"]) <= WORLD
    assert allows == {
        (("22",), (ADMIN,), (), tags["all"]),
        (("8080",), (GATEWAY,), (f"{lb_ip}/32",), tags["gateway"]),  # clients: through the LB only
        (("8080",), GCP_HEALTH_CHECK_RANGES, (), tags["gateway"]),
        (("8080",), (PRIVATE_CIDR,), (), tags["gateway"]),
        (tuple(str(p) for p in PRIVATE_PORTS), (PRIVATE_CIDR,), (), tags["all"]),
    }
    for ports, sources, destinations, _ in allows:
        assert not set(sources) & WORLD
        if ports != ("22",) and not destinations:
            assert set(sources) <= {PRIVATE_CIDR, *GCP_HEALTH_CHECK_RANGES}
    assert {tuple(r["sourceRanges"]) for r in rules if r.get("denies")} == {("0.0.0.0/0",), ("::/0",)}

    # the load balancer: health check, instance group of exactly the gateways, backend, address
    (hc,) = recorder.of_type("gcp:compute/regionHealthCheck:RegionHealthCheck")
    assert hc["httpHealthCheck"] == {"port": 8080, "requestPath": "/health"}
    (group,) = recorder.of_type("gcp:compute/instanceGroup:InstanceGroup")
    zone_url = GCP_DISKS.rsplit("/", 1)[0]
    assert sorted(group["instances"]) == sorted(f"{zone_url}/instances/{n}" for n in gw_names)
    assert group["zone"] == settings.zone
    (backend,) = recorder.of_type("gcp:compute/regionBackendService:RegionBackendService")
    assert (backend["loadBalancingScheme"], backend["protocol"]) == ("EXTERNAL", "TCP")
    assert backend["healthChecks"] == f"{settings.name}-health-id"
    assert [b["group"] for b in backend["backends"]] == [
        f"https://www.googleapis.com/compute/v1/{settings.name}-gateways"
    ]
    (rule,) = recorder.of_type("gcp:compute/forwardingRule:ForwardingRule")
    assert (rule["ipAddress"], rule["ports"], rule["ipProtocol"]) == (lb_ip, ["8080"], "TCP")
    assert rule["loadBalancingScheme"] == "EXTERNAL" and rule["backendService"] == f"{settings.name}-backend-id"

    public = {n: recorder.public[f"{n}-ip"] for n in instances}
    private = {n: recorder.private[f"{n}-vm"] for n in instances}
    return public, private, lb_ip


def check_outputs(out, settings, gw_names, model_names, public, private, lb):
    assert out["load_balancer"] == lb
    assert out["gateway_url"] == f"http://{lb}:8080"
    assert out["fleet"] == {"gateways": len(gw_names), "models": len(model_names)}
    assert out["gateways"] == [{"name": n, "public_ip": public[n], "private_ip": private[n]} for n in gw_names]
    assert out["model_boxes"] == [{"name": n, "public_ip": public[n], "private_ip": private[n]} for n in model_names]
    assert out["monthly_usd"] == round(settings.box["monthly_usd"] * (len(gw_names) + len(model_names)), 2)
    assert len(set(public.values())) == len(public) and len(set(private.values())) == len(private)

    inv = out["inventory"]
    assert inv["gateway_url"] == f"http://{lb}:8080" and inv["fleet"]["load_balancer"] == lb
    doc = hosts_document({"inventory": inv})["all"]
    assert list(doc["hosts"]) == gw_names + model_names, "gateways first: the first holds the shared parts"
    for name, hostvars in doc["hosts"].items():
        assert hostvars["ansible_host"] == public[name]
        assert hostvars["hybrid_private_address"] == private[name]
        assert ipaddress.ip_address(private[name]) in ipaddress.ip_network(PRIVATE_CIDR)
        assert hostvars["hybrid_tier"] == settings.tier and hostvars["ansible_user"] == settings.ssh_user
    children = {g: list(c["hosts"]) for g, c in doc["children"].items()}
    assert children == {
        "gateway": gw_names,
        "llm": model_names,
        "cache": gw_names[:1],
        "monitoring": gw_names[:1],
        "automation": gw_names[:1],
    }
    assert doc["vars"]["hybrid_private_cidrs"] == [PRIVATE_CIDR]
    assert doc["vars"]["hybrid_admin_cidrs"] == [ADMIN]
    health = list(GCP_HEALTH_CHECK_RANGES) if settings.cloud == "gcp" else []
    assert doc["vars"]["hybrid_gateway_cidrs"] == [GATEWAY, *health, PRIVATE_CIDR]
    gpus = {h["name"]: h["gpu"] for h in inv["hosts"]}
    if settings.box["gpu"]:
        assert all(gpus[n] == "T4" for n in model_names)
        assert all(gpus[n] == ("T4" if settings.cloud == "aws" else None) for n in gw_names)
    else:
        assert set(gpus.values()) == {None}


@pytest.mark.parametrize("cloud", ["aws", "gcp"])
def test_one_by_one_is_the_one_box(cloud):
    """`fleet: {gateways: 1, models: 1}` builds exactly what a stack without `fleet` builds."""

    def build(**overrides):
        recorder = install_mocks(f"{cloud}-tier2")
        out = resolve(validate(base_config(cloud, 2, **overrides), f"{cloud}-tier2"))
        return sorted((t, n, json.dumps(i, sort_keys=True)) for t, n, i in recorder.resources), out

    without, out_without = build()
    one, out_one = build(fleet={"gateways": 1, "models": 1})
    assert one == without and out_one == out_without
    assert not [t for t, _, _ in one if t.startswith(("aws:lb/", "gcp:compute/forwardingRule"))]
    assert out_one["inventory"]["hosts"][0]["groups"] == ["gateway", "llm", "cache", "monitoring", "automation"]
    assert "load_balancer" not in out_one


@pytest.mark.parametrize("cloud", ["aws", "gcp"])
def test_world_open_gateway_reaches_the_load_balancer_only(cloud):
    recorder, out, settings = run_fleet(cloud, 2, 2, 2, gatewayCidrs=["0.0.0.0/0"])
    if cloud == "aws":
        groups = {n: g for t, n, g in recorder.resources if t == "aws:ec2/securityGroup:SecurityGroup"}
        world = [
            (n, r["fromPort"])
            for n, g in groups.items()
            for r in g["ingress"]
            if "0.0.0.0/0" in r.get("cidrBlocks", [])
        ]
        assert world == [(f"{settings.name}-lb-sg", 8080)]
    else:
        world = [
            (r["name"], r.get("destinationRanges"))
            for r in recorder.of_type("gcp:compute/firewall:Firewall")
            if r.get("allows") and "0.0.0.0/0" in r["sourceRanges"]
        ]
        assert world == [(f"{settings.name}-allow-gateway-lb-v4", [f"{out['load_balancer']}/32"])]


def test_gcp_fleet_ssh_over_ipv6_too():
    recorder, _, _ = run_fleet("gcp", 1, 2, 1, adminCidrs=[ADMIN, "2001:4860:4860::8888/128"])
    ssh = sorted(
        tuple(r["sourceRanges"])
        for r in recorder.of_type("gcp:compute/firewall:Firewall")
        if r.get("allows") and r["allows"][0]["ports"] == ["22"]
    )
    assert ssh == [("198.18.5.7/32",), ("2001:4860:4860::8888/128",)]


def test_fleet_keeps_its_resource_names_when_the_tier_changes():
    """Tier 2 -> 3 on the same stack and shape: the same resources (resized), nothing replaced."""

    def resources(tier):
        recorder = install_fleet_mocks("aws-prod")
        resolve(validate(base_config("aws", tier, fleet="2x2"), "aws-prod"))
        return recorder

    before, after = resources(2), resources(3)
    assert sorted((t, n) for t, n, _ in before.resources) == sorted((t, n) for t, n, _ in after.resources)
    sizes = {i["instanceType"] for i in after.of_type("aws:ec2/instance:Instance")}
    assert sizes == {box_for(3, "aws")["size"]}


def test_growing_the_fleet_adds_boxes_and_keeps_the_others():
    def resources(shape):
        recorder = install_fleet_mocks("gcp-prod")
        resolve(validate(base_config("gcp", 2, fleet=shape), "gcp-prod"))
        return {(t, n) for t, n, _ in recorder.resources}

    small, big = resources("2x2"), resources("3x4")
    assert small < big
    added = sorted(n for t, n in big - small if t == "gcp:compute/instance:Instance")
    assert added == ["hybrid-ai-gcp-prod-gw3-vm", "hybrid-ai-gcp-prod-m3-vm", "hybrid-ai-gcp-prod-m4-vm"]


# ---- the stack setting ----


def fleet_problems(value, cloud: str = "aws", **overrides) -> list[str]:
    with pytest.raises(ConfigError) as info:
        validate(base_config(cloud, 2, fleet=value, **overrides), "t")
    return info.value.problems


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"gateways": 0, "models": 3}, "fleet.gateways must be a whole number of boxes from 1 to 20, got 0"),
        ({"gateways": 2, "models": -1}, "fleet.models must be a whole number of boxes from 1 to 20, got -1"),
        ({"gateways": 21, "models": 1}, "fleet.gateways must be a whole number of boxes from 1 to 20, got 21"),
        ({"gateways": 2, "models": 2.5}, "fleet.models must be a whole number of boxes from 1 to 20, got 2.5"),
        ({"gateways": "two", "models": 1}, "fleet.gateways must be a whole number of boxes from 1 to 20, got 'two'"),
        ({"gateways": True, "models": 1}, "fleet.gateways must be a whole number of boxes from 1 to 20, got True"),
        ({"gateways": 2}, "fleet.models must be a whole number of boxes from 1 to 20; it is missing"),
        ({"gateways": 2, "models": 2, "routers": 1}, "fleet has unknown key(s) ['routers']"),
        ("0x3", "fleet.gateways must be a whole number of boxes from 1 to 20, got 0"),
        ("2x100", "fleet.models must be a whole number of boxes from 1 to 20, got 100"),
        ("2x", "fleet must be a mapping such as {gateways: 2, models: 3} (or 2x3), got '2x'"),
        ("lots", "fleet must be a mapping such as {gateways: 2, models: 3} (or 2x3), got 'lots'"),
        ('{"gateways": 2,', "fleet must be a mapping such as"),
        ([2, 3], "fleet must be a mapping such as"),
    ],
)
def test_bad_fleet(value, expected):
    found = fleet_problems(value)
    assert len(found) == 1 and expected in found[0], found


@pytest.mark.parametrize(
    ("value", "shape"),
    [
        ({"gateways": 2, "models": 3}, (2, 3)),
        ({"gateways": "2", "models": "3"}, (2, 3)),  # `pulumi config set --path fleet.gateways 2` may keep text
        ('{"gateways": 20, "models": 1}', (20, 1)),  # the structured value as JSON text
        ("2x3", (2, 3)),
        (" 1 X 4 ", (1, 4)),
    ],
)
def test_good_fleet(value, shape):
    settings = validate(base_config("gcp", 2, fleet=value), "t")
    assert settings.fleet == shape and settings.is_fleet


def test_no_fleet_or_one_by_one_is_one_box():
    assert validate(base_config("aws", 1), "t").fleet is None
    assert not validate(base_config("aws", 1), "t").is_fleet
    one = validate(base_config("aws", 1, fleet="1x1"), "t")
    assert one.fleet == (1, 1) and not one.is_fleet


def test_fleet_builds_its_own_network():
    (msg,) = fleet_problems("2x2", vpcId="vpc-0123456789abcdef0", subnetId="subnet-0123456789abcdef0")
    assert "fleet builds its own private network" in msg and "vpcId/subnetId" in msg
    (msg,) = fleet_problems("2x2", cloud="gcp", network="default")
    assert "fleet builds its own private network" in msg
    # the one box keeps its existing-network settings
    assert validate(base_config("gcp", 2, fleet="1x1", network="default"), "t").network == "default"


def test_fleet_needs_an_ipv4_client_network():
    (msg,) = fleet_problems("2x2", gatewayCidrs=["2001:4860:4860::/48"])
    assert "load balancer has an IPv4 address" in msg and "gatewayCidrs" in msg


def test_fleet_problems_are_listed_with_the_others():
    with pytest.raises(ConfigError) as info:
        validate(base_config("aws", 2, fleet={"gateways": 0, "models": 99}) | {"tier": "9"}, "t")
    found = info.value.problems
    text = "\n".join(found)
    assert "fleet.gateways" in text and "fleet.models" in text and "tier must be one of" in text


def test_from_pulumi_reads_the_fleet_as_object_or_text():
    for value, shape in ((json.dumps({"gateways": 3, "models": 2}), (3, 2)), ("2x4", (2, 4))):
        install_mocks("aws-tier2")
        pulumi.runtime.set_all_config(
            {
                "hybrid-ai-stack:cloud": "aws",
                "hybrid-ai-stack:tier": "2",
                "hybrid-ai-stack:region": "us-east-1",
                "hybrid-ai-stack:sshPublicKey": fake_public_key(),
                "hybrid-ai-stack:adminCidrs": json.dumps([ADMIN]),
                "hybrid-ai-stack:fleet": value,
            }
        )
        try:
            settings = from_pulumi()
        finally:
            pulumi.runtime.set_all_config({})
        assert settings.fleet == shape


def test_stack_file_cli_prints_the_fleet(tmp_path, capsys):
    stack = tmp_path / "Pulumi.gcp-fleet.yaml"
    config = {
        "hybrid-ai-stack:cloud": "gcp",
        "hybrid-ai-stack:tier": "4",
        "hybrid-ai-stack:zone": "us-central1-a",
        "hybrid-ai-stack:sshPublicKey": fake_public_key(),
        "hybrid-ai-stack:adminCidrs": [ADMIN],
        "hybrid-ai-stack:fleet": {"gateways": 2, "models": 3},
    }
    stack.write_text(yaml.safe_dump({"config": config}))
    assert main(["--stack-file", str(stack)]) == 0
    out = capsys.readouterr().out
    assert "fleet -> 2 gateway + 3 model box(es), each n1-standard-4" in out
    assert "GPU T4 on each model box" in out
    assert f"~${round(box_for(4, 'gcp')['monthly_usd'] * 5, 2)}/month" in out
    assert main(["--stack-file", str(stack), "fleet=0x3"]) == 2
    assert "fleet.gateways must be a whole number" in capsys.readouterr().err
