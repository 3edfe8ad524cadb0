"""Stack settings, checked before any cloud call.

`validate(raw)` is a pure function over the stack's config values (as `pulumi config` holds
them, or as a committed Pulumi.<stack>.yaml states them) and returns StackSettings or raises
ConfigError listing every problem at once, each with what to set. The program calls it first,
`make deploy-aws|deploy-gcp` calls it (through `python -m hybrid_infra.config`) before
`pulumi up`, and the tests call it directly.
"""

from __future__ import annotations

import argparse
import base64
import ipaddress
import json
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hybrid_ai.tiers import CLOUDS, TierError, box_for, parse_tier_number

from . import GATEWAY_PORT, PROJECT, SSH_PORT

IMAGES = ("debian-12", "ubuntu-2204")
DEFAULT_USERS = {("aws", "debian-12"): "admin", ("aws", "ubuntu-2204"): "ubuntu"}
GCP_DEFAULT_USER = "hybrid"
SSH_KEY_TYPES = (
    "ssh-ed25519",
    "ssh-rsa",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "sk-ssh-ed25519@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com",
)
KNOWN_KEYS = {
    "cloud",
    "tier",
    "region",
    "availabilityZone",
    "zone",
    "gcpProject",
    "image",
    "sshPublicKey",
    "sshUser",
    "adminCidrs",
    "gatewayCidrs",
    "allowWorldSsh",
    "vpcId",
    "subnetId",
    "network",
    "subnetwork",
    "osLogin",
    "diskKmsKey",
    "diskGb",
    "namePrefix",
    "fleet",
}
FLEET_KEYS = ("gateways", "models")
FLEET_MAX = 20  # boxes per role: a small fleet, not a cluster manager
_AWS_REGION = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$")
_AWS_AZ = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d[a-z]$")
_GCP_ZONE = re.compile(r"^[a-z]+-[a-z]+\d+-[a-z]$")
_GCP_PROJECT = re.compile(r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$")
_USER = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")
_PREFIX = re.compile(r"^[a-z][a-z0-9-]{0,20}$")
# documentation ranges (RFC 5737, RFC 3849): the committed examples use them, so an unedited
# example stack stops here instead of opening the box to nobody (or to someone else)
_DOC_NETS = tuple(
    ipaddress.ip_network(n) for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32")
)
_GCP_NAME = re.compile(r"^(projects/[^\s]+|[a-z]([-a-z0-9]{0,61}[a-z0-9])?)$")


class ConfigError(ValueError):
    """The stack config is wrong; the message lists each problem and what to set."""

    def __init__(self, problems: Sequence[str]):
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"stack config has {len(self.problems)} problem(s):\n{lines}")


@dataclass(frozen=True)
class Opening:
    """One way into the box: a TCP port from some networks, split by IP family for the clouds."""

    name: str  # short name for rule names: ssh, gateway
    port: int
    description: str
    v4: tuple[str, ...]
    v6: tuple[str, ...]


@dataclass(frozen=True)
class StackSettings:
    cloud: str
    tier: int
    stack: str
    box: dict[str, Any]  # hybrid_ai.tiers.box_for(tier, cloud): size, disk, gpu, price
    region: str
    zone: str | None
    ssh_public_key: str
    ssh_user: str
    admin_cidrs: tuple[str, ...]
    gateway_cidrs: tuple[str, ...]
    image: str = "debian-12"
    allow_world_ssh: bool = False
    gcp_project: str | None = None
    vpc_id: str | None = None
    subnet_id: str | None = None
    network: str | None = None
    subnetwork: str | None = None
    os_login: bool = False
    disk_kms_key: str | None = None
    name_prefix: str = "hybrid-ai"
    labels: dict[str, str] = field(default_factory=dict)
    disk_gb_override: int | None = None
    fleet: tuple[int, int] | None = None  # (gateway boxes, model boxes); None = the one box

    @property
    def is_fleet(self) -> bool:
        """More than one box: gateways behind the cloud's load balancer, model boxes beside them.
        1x1 is the one box that holds every role (no load balancer), as without `fleet`."""
        return self.fleet is not None and self.fleet != (1, 1)

    def openings(self) -> list[Opening]:
        """The only ways in, for every cloud: SSH from adminCidrs, the gateway from gatewayCidrs."""
        out = []
        for name, port, cidrs, description in (
            ("ssh", SSH_PORT, self.admin_cidrs, "SSH from the operator (adminCidrs)"),
            ("gateway", GATEWAY_PORT, self.gateway_cidrs, "hybrid-ai gateway (gatewayCidrs)"),
        ):
            nets = [ipaddress.ip_network(c) for c in cidrs]
            v4 = tuple(c for c, n in zip(cidrs, nets, strict=True) if n.version == 4)
            v6 = tuple(c for c, n in zip(cidrs, nets, strict=True) if n.version == 6)
            out.append(Opening(name, port, description, v4, v6))
        return out

    @property
    def disk_gb(self) -> int:
        """The tier's disk, or the larger size an operator keeps after a downgrade (disks never shrink)."""
        return self.disk_gb_override or int(self.box["disk_gb"])

    @property
    def name(self) -> str:
        """The box's name, from the stack (not the tier, so a tier change resizes the same box
        instead of replacing it): lowercase, short enough for GCP names with their suffixes."""
        slug = re.sub(r"[^a-z0-9-]+", "-", self.stack.lower()).strip("-") or "stack"
        return f"{self.name_prefix}-{slug}"[:40].rstrip("-")


def _as_list(value: Any) -> list[Any] | None:
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                value = json.loads(text)
            except json.JSONDecodeError:
                return None
        else:
            value = [v.strip() for v in text.split(",") if v.strip()]
    if isinstance(value, list | tuple):
        return list(value)
    return None


def _as_bool(value: Any, key: str, problems: list[str]) -> bool:
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "yes", "1"):
        return True
    if text in ("false", "no", "0", ""):
        return False
    problems.append(f"{key} must be true or false, got {value!r}")
    return False


def parse_cidrs(value: Any, key: str, problems: list[str], *, required: bool) -> list[str]:
    """CIDRs in canonical form; malformed ones (or host bits set) are reported, not guessed."""
    items = _as_list(value)
    if items is None:
        if value is None and not required:
            return []
        if value is None:
            problems.append(f'{key} is required: a list of CIDRs, e.g. ["<your address>/32"]')
        else:
            problems.append(f"{key} must be a list of CIDRs, got {value!r}")
        return []
    if required and not items:
        problems.append(f'{key} must name at least one CIDR, e.g. ["<your address>/32"]')
    out: list[str] = []
    for item in items:
        text = str(item).strip()
        if "/" not in text:
            problems.append(f"{key}: {text!r} is not a CIDR (write the prefix length, e.g. {text}/32)")
            continue
        try:
            net = ipaddress.ip_network(text, strict=True)
        except ValueError as exc:
            problems.append(f"{key}: {text!r} is not a valid CIDR ({exc})")
            continue
        if any(net.version == doc.version and net.subnet_of(doc) for doc in _DOC_NETS):  # type: ignore[arg-type]
            problems.append(f"{key}: {text} is an example address from the docs; put your own address there")
            continue
        if str(net) not in out:
            out.append(str(net))
    return out


def is_world(cidr: str) -> bool:
    return ipaddress.ip_network(cidr).prefixlen == 0


def check_ssh_key(key: str | None, problems: list[str]) -> str:
    if key is None or not str(key).strip():
        problems.append('sshPublicKey is required: `pulumi config set sshPublicKey "$(cat ~/.ssh/id_ed25519.pub)"`')
        return ""
    key = " ".join(str(key).split())
    parts = key.split(" ")
    if len(parts) < 2 or parts[0] not in SSH_KEY_TYPES:
        problems.append(f"sshPublicKey must be an OpenSSH public key starting with one of {list(SSH_KEY_TYPES)}")
        return key
    try:
        blob = base64.b64decode(parts[1], validate=True)
    except ValueError:
        problems.append("sshPublicKey: the key data is not base64 (paste the whole .pub line)")
        return key
    # the blob starts with the key type as an SSH string: uint32 length + name
    name_len = int.from_bytes(blob[:4], "big") if len(blob) >= 4 else -1
    if blob[4 : 4 + name_len].decode("ascii", "replace") != parts[0]:
        problems.append("sshPublicKey: the key data does not match its type (paste the whole .pub line)")
    if "PRIVATE KEY" in key:
        problems.append("sshPublicKey looks like a private key: give the .pub file's content")
    return key


def _count(value: Any, key: str, problems: list[str]) -> int | None:
    """A whole number of boxes from 1 to FLEET_MAX (an int, or its digits as text)."""
    hint = f"{key} must be a whole number of boxes from 1 to {FLEET_MAX}"
    if value is None:
        problems.append(f"{hint}; it is missing")
        return None
    if isinstance(value, bool) or isinstance(value, float):
        problems.append(f"{hint}, got {value!r}")
        return None
    if isinstance(value, str):
        text = value.strip()
        if not re.fullmatch(r"[+-]?\d+", text):
            problems.append(f"{hint}, got {value!r}")
            return None
        value = int(text)
    if not isinstance(value, int):
        problems.append(f"{hint}, got {value!r}")
        return None
    if not 1 <= value <= FLEET_MAX:
        problems.append(f"{hint}, got {value}")
        return None
    return value


def parse_fleet(value: Any, problems: list[str]) -> tuple[int, int] | None:
    """`fleet`: {gateways: N, models: M} (a mapping, its JSON, or "NxM"); None when not set."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    example = "{gateways: 2, models: 3} (or 2x3)"
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("{"):
            try:
                value = json.loads(text)
            except json.JSONDecodeError:
                problems.append(f"fleet must be a mapping such as {example}, got {text!r}")
                return None
        else:
            match = re.fullmatch(r"(\S+?)\s*[xX]\s*(\S+)", text)
            if not match:
                problems.append(f"fleet must be a mapping such as {example}, got {text!r}")
                return None
            value = {"gateways": match[1], "models": match[2]}
    if not isinstance(value, Mapping):
        problems.append(f"fleet must be a mapping such as {example}, got {value!r}")
        return None
    unknown = sorted(str(k) for k in value if k not in FLEET_KEYS)
    if unknown:
        problems.append(f"fleet has unknown key(s) {unknown}; known: {list(FLEET_KEYS)}")
    counts = [_count(value.get(k), f"fleet.{k}", problems) for k in FLEET_KEYS]
    if unknown or None in counts:
        return None
    return counts[0], counts[1]  # type: ignore[return-value]


def _gcp_region(zone: str) -> str:
    return zone.rsplit("-", 1)[0]


def validate(raw: Mapping[str, Any], stack: str = "dev") -> StackSettings:
    """Check every setting; return StackSettings or raise ConfigError naming each problem."""
    problems: list[str] = []
    values = {(k.split(":", 1)[1] if k.startswith(f"{PROJECT}:") else k): v for k, v in raw.items()}
    unknown = sorted(k for k in values if ":" not in k and k not in KNOWN_KEYS)
    if unknown:
        problems.append(f"unknown setting(s) {unknown}; known: {sorted(KNOWN_KEYS)}")

    cloud = str(values.get("cloud") or "").strip().lower()
    if cloud not in CLOUDS:
        problems.append(f"cloud must be one of {list(CLOUDS)}, got {values.get('cloud')!r}")
    tier: int | None = None
    try:
        tier = parse_tier_number(values.get("tier"))
    except TierError as exc:
        problems.append(str(exc))

    image = str(values.get("image") or "debian-12")
    if image not in IMAGES:
        problems.append(f"image must be one of {list(IMAGES)}, got {image!r}")

    ssh_key = check_ssh_key(values.get("sshPublicKey"), problems)
    admin = parse_cidrs(values.get("adminCidrs"), "adminCidrs", problems, required=True)
    gateway_raw = values.get("gatewayCidrs")
    gateway = parse_cidrs(gateway_raw, "gatewayCidrs", problems, required=False) if gateway_raw is not None else []
    if gateway_raw is None:
        gateway = list(admin)  # closed by default: only the operator reaches the gateway
    allow_world_ssh = _as_bool(values.get("allowWorldSsh"), "allowWorldSsh", problems)
    world = [c for c in admin if is_world(c)]
    if world and not allow_world_ssh:
        problems.append(
            f"adminCidrs {world} opens SSH to the whole internet; give your own address as a /32 "
            "or, if you really mean it, set allowWorldSsh: true"
        )

    prefix = str(values.get("namePrefix") or "hybrid-ai")
    if not _PREFIX.match(prefix):
        problems.append(f"namePrefix must match {_PREFIX.pattern} (lowercase, short), got {prefix!r}")

    os_login = _as_bool(values.get("osLogin"), "osLogin", problems)
    user = values.get("sshUser")
    if user is None:
        user = DEFAULT_USERS.get((cloud, image), GCP_DEFAULT_USER)
        if cloud == "gcp" and os_login:
            problems.append(
                "osLogin: true needs sshUser: the POSIX name OS Login gives your account (e.g. alice_example_com)"
            )
    user = str(user)
    if not _USER.match(user) or user == "root":
        problems.append(f"sshUser must be a plain login name (not root), got {user!r}")

    region = zone = None
    gcp_project = values.get("gcpProject")
    vpc_id, subnet_id = values.get("vpcId"), values.get("subnetId")
    network, subnetwork = values.get("network"), values.get("subnetwork")
    if cloud == "aws":
        region = str(values.get("region") or values.get("aws:region") or "")
        if not _AWS_REGION.match(region):
            problems.append(f"region must be an AWS region such as us-east-1, got {region or None!r}")
        zone = values.get("availabilityZone")
        if zone is not None and not (_AWS_AZ.match(str(zone)) and str(zone).startswith(region)):
            problems.append(f"availabilityZone must be a zone of {region}, e.g. {region}a, got {zone!r}")
        if bool(vpc_id) != bool(subnet_id):
            problems.append("an existing network needs both vpcId and subnetId (or neither, to create one)")
        for key, val in (("vpcId", vpc_id), ("subnetId", subnet_id)):
            if val and not re.match(rf"^{'vpc' if key == 'vpcId' else 'subnet'}-[0-9a-f]{{8,17}}$", str(val)):
                problems.append(f"{key} {val!r} does not look like an AWS id")
        if network or subnetwork or gcp_project:
            problems.append("network, subnetwork and gcpProject are GCP settings; on AWS use vpcId/subnetId")
    elif cloud == "gcp":
        zone = str(values.get("zone") or values.get("gcp:zone") or "")
        if not _GCP_ZONE.match(zone):
            problems.append(f"zone must be a GCP zone such as us-central1-a, got {zone or None!r}")
        region = _gcp_region(zone) if zone else ""
        gcp_project = gcp_project or values.get("gcp:project")
        if gcp_project and not _GCP_PROJECT.match(str(gcp_project)):
            problems.append(f"gcpProject {gcp_project!r} is not a GCP project id")
        if subnetwork and not network:
            problems.append("subnetwork needs network (the existing VPC network it belongs to)")
        for key, val in (("network", network), ("subnetwork", subnetwork)):
            if val and not _GCP_NAME.match(str(val)):
                problems.append(f"{key} {val!r} is not a GCP resource name or self link")
        if vpc_id or subnet_id or values.get("availabilityZone"):
            problems.append("vpcId, subnetId and availabilityZone are AWS settings; on GCP use network/subnetwork/zone")

    fleet = parse_fleet(values.get("fleet"), problems)
    if fleet and fleet != (1, 1) and (vpc_id or subnet_id or network or subnetwork):
        problems.append(
            "fleet builds its own private network (for the load balancer and the internal ports); "
            "vpcId/subnetId and network/subnetwork are for the one box: remove them or the fleet"
        )
    if fleet and fleet != (1, 1) and gateway and not any(ipaddress.ip_network(c).version == 4 for c in gateway):
        problems.append(
            f"fleet: the load balancer has an IPv4 address, but gatewayCidrs {gateway} names no IPv4 network"
        )

    disk_override: int | None = None
    box: dict[str, Any] = {}
    if tier is not None and cloud in CLOUDS:
        box = box_for(tier, cloud)
        if values.get("diskGb") not in (None, ""):
            try:
                disk_override = int(str(values["diskGb"]))
            except ValueError:
                disk_override = -1
            if disk_override < box["disk_gb"] or disk_override > 65536:
                problems.append(
                    f"diskGb must be a whole number of GB from tier {tier}'s {box['disk_gb']} up, "
                    f"got {values['diskGb']!r} (it exists to keep a bigger disk after a downgrade: disks cannot shrink)"
                )
        gpu = box.get("gpu")
        if gpu and cloud == "gcp" and zone:
            zones = gpu.get("gcp_zones") or []
            if zone not in zones:
                problems.append(
                    f"tier {tier} needs a {gpu['gcp_accelerator_type']} GPU, which zone {zone} does not offer; "
                    f"pick one of {zones}"
                )

    if problems:
        raise ConfigError(problems)
    assert tier is not None and region is not None
    labels = {"hybrid-ai-tier": str(tier), "hybrid-ai-stack": _label_value(stack), "managed-by": "pulumi"}
    return StackSettings(
        cloud=cloud,
        tier=tier,
        stack=stack,
        box=box,
        region=region,
        zone=str(zone) if zone else None,
        ssh_public_key=ssh_key,
        ssh_user=user,
        admin_cidrs=tuple(admin),
        gateway_cidrs=tuple(gateway),
        image=image,
        allow_world_ssh=allow_world_ssh,
        gcp_project=str(gcp_project) if gcp_project else None,
        vpc_id=vpc_id or None,
        subnet_id=subnet_id or None,
        network=network or None,
        subnetwork=subnetwork or None,
        os_login=os_login,
        disk_kms_key=values.get("diskKmsKey") or None,
        name_prefix=prefix,
        labels=labels,
        disk_gb_override=disk_override,
        fleet=fleet,
    )


def _label_value(text: str) -> str:
    """GCP label values: lowercase letters, digits, - and _, at most 63 characters."""
    return re.sub(r"[^a-z0-9_-]", "-", text.lower())[:63]


def from_pulumi() -> StackSettings:
    """Read this stack's config through the Pulumi SDK and validate it."""
    import pulumi
    import pulumi.config

    cfg = pulumi.Config()
    raw: dict[str, Any] = {}
    for key in KNOWN_KEYS:
        if key in ("adminCidrs", "gatewayCidrs", "fleet"):
            try:
                value = cfg.get_object(key)
            except (ValueError, pulumi.config.ConfigTypeError):
                value = cfg.get(key)  # plain text, e.g. "a/32,b/32" or "2x3": validate() reads it
        else:
            value = cfg.get(key)
        if value is not None:
            raw[key] = value
    for key, ns in (("region", "aws"), ("zone", "gcp"), ("gcpProject", "gcp")):
        if key not in raw:
            other = pulumi.Config(ns).get("project" if key == "gcpProject" else key)
            if other:
                raw[key] = other
    return validate(raw, stack=pulumi.get_stack())


def read_stack_file(path: Path) -> dict[str, Any]:
    """The `config:` mapping of a Pulumi.<stack>.yaml, for checking it without the CLI."""
    import yaml

    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    config = data.get("config") or {}
    if not isinstance(config, dict):
        raise ConfigError([f"{path.name}: `config:` must be a mapping"])
    out: dict[str, Any] = {}
    for key, value in config.items():
        if isinstance(value, dict) and "secure" in value:
            continue  # encrypted values are checked by the program at `pulumi up`
        if key.startswith(f"{PROJECT}:"):
            out[key.split(":", 1)[1]] = value
        elif key in ("aws:region", "gcp:zone", "gcp:project"):
            out[key] = value
    return out


def main(argv: list[str] | None = None) -> int:
    """`python -m hybrid_infra.config`: check a stack file, or values given as KEY=VALUE."""
    parser = argparse.ArgumentParser(prog="python -m hybrid_infra.config", description=main.__doc__)
    parser.add_argument("--stack-file", type=Path, help="a Pulumi.<stack>.yaml to check")
    parser.add_argument("--stack", default=None, help="stack name (default: from the file name)")
    parser.add_argument("settings", nargs="*", metavar="KEY=VALUE", help="settings that override the file's")
    args = parser.parse_args(argv)
    raw: dict[str, Any] = {}
    stack = args.stack or "dev"
    try:
        if args.stack_file:
            if not args.stack_file.is_file():
                raise ConfigError([f"{args.stack_file} does not exist"])
            raw.update(read_stack_file(args.stack_file))
            if args.stack is None:
                stack = args.stack_file.name.removeprefix("Pulumi.").removesuffix(".yaml")
        for item in args.settings:
            key, sep, value = item.partition("=")
            if not sep:
                raise ConfigError([f"{item!r}: expected KEY=VALUE"])
            raw[key] = value
        settings = validate(raw, stack=stack)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    box = settings.box
    gpu = f", GPU {box['gpu']['model']}" if box.get("gpu") else ""
    if settings.is_fleet:
        assert settings.fleet is not None
        gateways, models = settings.fleet
        if gpu:  # a g4dn carries its T4 on board; on GCP the GPU is attached to the model boxes only
            gpu = f", GPU {box['gpu']['model']} " + (
                "on board every box" if settings.cloud == "aws" else "on each model box"
            )
        print(
            f"ok: stack {stack}: {settings.cloud} tier {settings.tier} fleet -> {gateways} gateway + {models} model "
            f"box(es), each {box['size']}, {settings.disk_gb} GB disk{gpu}, "
            f"~${round(box['monthly_usd'] * (gateways + models), 2)}/month for the boxes (plus the load balancer); "
            f"SSH from {list(settings.admin_cidrs)}, gateway :8080 through the load balancer from "
            f"{list(settings.gateway_cidrs)}"
        )
        return 0
    print(
        f"ok: stack {stack}: {settings.cloud} tier {settings.tier} -> {box['size']}, {settings.disk_gb} GB disk"
        f"{gpu}, ~${box['monthly_usd']}/month; "
        f"SSH from {list(settings.admin_cidrs)}, gateway :8080 from {list(settings.gateway_cidrs)}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
