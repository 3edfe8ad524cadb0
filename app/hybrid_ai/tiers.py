"""The tier catalogue loader: the one way any part of the kit reads tiers/.

Pulumi (box sizes), Ansible (models, services, limits), the gateway's rendered config
(ladder, prices) and the ROI calculator all read through here, so a tier is stated once.
"""

from __future__ import annotations

import copy
import json
import os
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml

TIER_NUMBERS = (1, 2, 3, 4)
CLOUD_RUNG = "cloud"
CLOUDS = ("aws", "gcp")


class TierError(ValueError):
    """The catalogue (or a request for a tier) is wrong; the message says what to fix."""


def tiers_dir() -> Path:
    """Where the catalogue lives: $HYBRID_AI_TIERS_DIR, else the repository's tiers/."""
    env = os.environ.get("HYBRID_AI_TIERS_DIR")
    if env:
        path = Path(env)
        if not (path / "tier1.yml").is_file():
            raise TierError(f"HYBRID_AI_TIERS_DIR={env} does not hold tier1.yml")
        return path
    for parent in Path(__file__).resolve().parents:
        candidate = parent / "tiers"
        if (candidate / "tier1.yml").is_file() and (candidate / "schema.json").is_file():
            return candidate
    raise TierError("tier catalogue not found: set HYBRID_AI_TIERS_DIR to the kit's tiers/ folder")


def _read_yaml(path: Path) -> Any:
    with path.open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)


@cache
def _schema(directory: str) -> dict[str, Any]:
    with open(Path(directory) / "schema.json", encoding="utf-8") as fh:
        return json.load(fh)


@cache
def cloud_models(directory: str | None = None) -> dict[str, dict[str, Any]]:
    """Paid models and their per-million-token prices (tiers/cloud_models.yml)."""
    d = Path(directory) if directory else tiers_dir()
    data = _read_yaml(d / "cloud_models.yml") or {}
    models = data.get("models") or {}
    for name, spec in models.items():
        for key in ("input_usd_per_mtok", "output_usd_per_mtok"):
            value = spec.get(key)
            if not isinstance(value, int | float) or value < 0:
                raise TierError(f"cloud_models.yml: {name}.{key} must be a non-negative number")
    return models


def validate_tier(data: dict[str, Any], directory: Path, source: str) -> None:
    """Schema plus the rules a schema cannot say: ladder order, known models, priced cloud."""
    try:
        jsonschema.validate(data, _schema(str(directory)))
    except jsonschema.ValidationError as exc:
        where = "/".join(str(p) for p in exc.absolute_path) or "(top level)"
        raise TierError(f"{source}: {where}: {exc.message}") from None
    names = [m["name"] for m in data["models"]]
    if len(names) != len(set(names)):
        raise TierError(f"{source}: model names must be unique, got {names}")
    ladder = data["routing"]["ladder"]
    if ladder[-1]["model"] != CLOUD_RUNG or "max_complexity" in ladder[-1]:
        raise TierError(f"{source}: the last ladder rung must be {{model: cloud}} with no max_complexity")
    previous = 0.0
    for rung in ladder[:-1]:
        if rung["model"] not in names:
            raise TierError(f"{source}: ladder model {rung['model']!r} is not one of the tier's models {names}")
        if "max_complexity" not in rung:
            raise TierError(f"{source}: ladder rung {rung['model']!r} needs max_complexity")
        if rung["max_complexity"] <= previous:
            raise TierError(f"{source}: ladder thresholds must increase, {rung['model']!r} breaks the order")
        previous = rung["max_complexity"]
    priced = cloud_models(str(directory))
    if data["cloud"]["model"] not in priced:
        raise TierError(
            f"{source}: cloud model {data['cloud']['model']!r} has no prices in cloud_models.yml "
            f"(priced: {sorted(priced)})"
        )
    if ("nvidia" in data["services"]) != (data["box"]["gpu"] is not None):
        raise TierError(f"{source}: the nvidia service goes with a box that has a gpu, and only then")
    needed = sum(m["ram_mb"] for m in data["models"][: data["limits"]["llm_max_loaded_models"]])
    if data["box"]["gpu"] is None and needed > data["box"]["ram_gb"] * 1024:
        raise TierError(f"{source}: loaded models need {needed} MB, more than the box's RAM")


@cache
def _load(number: int, directory: str) -> dict[str, Any]:
    path = Path(directory) / f"tier{number}.yml"
    if not path.is_file():
        raise TierError(f"no tier file {path.name} in {directory}")
    data = _read_yaml(path)
    if not isinstance(data, dict):
        raise TierError(f"{path.name}: expected a mapping at the top level")
    validate_tier(data, Path(directory), path.name)
    if data["tier"] != number:
        raise TierError(f"{path.name}: says tier {data['tier']}, expected {number}")
    data["cloud"].update(cloud_models(directory)[data["cloud"]["model"]])
    return data


def parse_tier_number(value: Any) -> int:
    """Accept 1..4 as int or string; anything else is a clear error."""
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        raise TierError(f"tier must be one of {list(TIER_NUMBERS)}, got {value!r}") from None
    if number not in TIER_NUMBERS:
        raise TierError(f"tier must be one of {list(TIER_NUMBERS)}, got {value!r}")
    return number


def load_tier(tier: Any, directory: str | Path | None = None) -> dict[str, Any]:
    """A validated tier (a fresh copy, so callers may change it); cloud prices resolved."""
    number = parse_tier_number(tier)
    d = Path(directory) if directory else tiers_dir()
    return copy.deepcopy(_load(number, str(d.resolve())))


def load_all(directory: str | Path | None = None) -> dict[int, dict[str, Any]]:
    return {n: load_tier(n, directory) for n in TIER_NUMBERS}


def box_for(tier: Any, cloud: str) -> dict[str, Any]:
    """The cloud-specific box of a tier: instance/machine type, disk, GPU, monthly price."""
    if cloud not in CLOUDS:
        raise TierError(f"cloud must be one of {list(CLOUDS)}, got {cloud!r}")
    data = load_tier(tier)
    box = data["box"]
    return {
        "tier": data["tier"],
        "cloud": cloud,
        "size": box[cloud]["instance_type" if cloud == "aws" else "machine_type"],
        "monthly_usd": box[cloud]["monthly_usd"],
        "disk_gb": box["disk_gb"],
        "ram_gb": box["ram_gb"],
        "vcpus": box["vcpus"],
        "gpu": box["gpu"],
    }


def main(argv: list[str] | None = None) -> int:
    """`python -m hybrid_ai.tiers [N]`: print a tier (or all) as JSON, for Ansible and scripts."""
    import sys

    args = sys.argv[1:] if argv is None else argv
    try:
        out: Any = load_tier(args[0]) if args else load_all()
    except TierError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(out, indent=2, sort_keys=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
