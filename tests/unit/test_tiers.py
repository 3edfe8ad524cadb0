"""The tier catalogue: schema, cross-field rules and the brief's defaults."""

import shutil
from pathlib import Path

import pytest
import yaml

from hybrid_ai import tiers

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def catalogue(tmp_path):
    """A writable copy of tiers/ to break on purpose."""
    dest = tmp_path / "tiers"
    shutil.copytree(ROOT / "tiers", dest)
    return dest


def edit(directory: Path, number: int, change) -> None:
    path = directory / f"tier{number}.yml"
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data))


def test_all_tiers_load_and_prices_resolved():
    all_tiers = tiers.load_all()
    assert sorted(all_tiers) == [1, 2, 3, 4]
    for n, t in all_tiers.items():
        assert t["tier"] == n
        assert t["cloud"]["input_usd_per_mtok"] > 0
        assert t["cloud"]["output_usd_per_mtok"] > t["cloud"]["input_usd_per_mtok"]


def test_brief_defaults():
    def ladder(n):
        return [(r["model"], r.get("max_complexity")) for r in tiers.load_tier(n)["routing"]["ladder"]]

    assert ladder(1) == [("tinyllama", 0.3), ("cloud", None)]
    assert ladder(2) == [("tinyllama", 0.3), ("phi-2", 0.6), ("cloud", None)]
    l3 = ladder(3)
    assert l3[-2][0] == "mistral" and l3[-1] == ("cloud", None)
    t4 = tiers.load_tier(4)
    assert t4["box"]["gpu"]["model"] == "T4"
    assert max(m["ram_mb"] for m in t4["models"]) > max(m["ram_mb"] for m in tiers.load_tier(3)["models"])
    assert [tiers.load_tier(n)["box"]["reference_monthly_usd"] for n in (1, 2, 3, 4)] == [26, 52, 120, 310]


def test_tiers_grow_monotonically():
    all_tiers = tiers.load_all()
    for n in (2, 3, 4):
        lo, hi = all_tiers[n - 1], all_tiers[n]
        assert hi["box"]["ram_gb"] > lo["box"]["ram_gb"]
        assert hi["limits"]["redis_maxmemory_mb"] >= lo["limits"]["redis_maxmemory_mb"]
        assert set(lo["services"]) <= set(hi["services"])


def test_box_for_each_cloud():
    assert tiers.box_for(1, "aws")["size"] == "t3.small"
    assert tiers.box_for(4, "gcp")["gpu"]["gcp_accelerator_type"] == "nvidia-tesla-t4"
    with pytest.raises(tiers.TierError, match="cloud must be one of"):
        tiers.box_for(1, "azure")


@pytest.mark.parametrize("bad", [0, 5, "two", None, "1.5"])
def test_bad_tier_number(bad):
    with pytest.raises(tiers.TierError, match="tier must be one of"):
        tiers.load_tier(bad)


def test_string_tier_number_accepted():
    assert tiers.load_tier("3")["tier"] == 3


def test_load_returns_a_copy():
    t = tiers.load_tier(1)
    t["models"].clear()
    assert tiers.load_tier(1)["models"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["routing"]["ladder"].pop(), "last ladder rung must be"),
        (lambda d: d["routing"]["ladder"].insert(0, {"model": "gpt-9", "max_complexity": 0.1}), "not one of"),
        (lambda d: d["routing"]["ladder"][1].update(max_complexity=0.2), "must increase"),
        (lambda d: d["cloud"].update(model="claude-unpriced"), "no prices"),
        (lambda d: d["box"].pop("aws"), "'aws' is a required property"),
        (lambda d: d["limits"].update(redis_maxmemory_mb="lots"), "redis_maxmemory_mb"),
        (lambda d: d["services"].append("nvidia"), "nvidia service"),
        (lambda d: d["models"].append(dict(d["models"][0])), "unique"),
    ],
)
def test_invalid_catalogue_rejected(catalogue, change, message):
    edit(catalogue, 2, change)
    with pytest.raises(tiers.TierError, match=message):
        tiers.load_tier(2, catalogue)


def test_negative_price_rejected(catalogue):
    path = catalogue / "cloud_models.yml"
    path.write_text(path.read_text().replace("output_usd_per_mtok: 15.00", "output_usd_per_mtok: -1"))
    with pytest.raises(tiers.TierError, match="non-negative"):
        tiers.load_tier(1, catalogue)


def test_env_override(catalogue, monkeypatch):
    edit(catalogue, 1, lambda d: d["limits"].update(redis_maxmemory_mb=99))
    monkeypatch.setenv("HYBRID_AI_TIERS_DIR", str(catalogue))
    assert tiers.tiers_dir() == catalogue
    assert tiers.load_tier(1)["limits"]["redis_maxmemory_mb"] == 99


def test_cli_prints_json(capsys):
    assert tiers.main(["2"]) == 0
    assert '"tier": 2' in capsys.readouterr().out
    assert tiers.main(["9"]) == 2
    assert "tier must be one of" in capsys.readouterr().err
