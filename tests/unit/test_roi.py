"""`hybrid-ai roi`: numbers checked by hand from the formulas, break-even, bad input."""

from __future__ import annotations

import argparse
import json

import pytest

from hybrid_ai import roi
from hybrid_ai.tiers import cloud_models, load_tier

SONNET = {"input_usd_per_mtok": 3.0, "output_usd_per_mtok": 15.0}
LADDER_T1 = [{"model": "tinyllama", "max_complexity": 0.3}, {"model": "cloud"}]
LADDER_T3 = [
    {"model": "tinyllama", "max_complexity": 0.3},
    {"model": "phi-2", "max_complexity": 0.5},
    {"model": "mistral", "max_complexity": 0.7},
    {"model": "cloud"},
]


def test_cloud_cost_per_request_by_hand():
    # 500 in * $3/M + 300 out * $15/M = 0.0015 + 0.0045
    assert roi.cloud_cost_per_request(500, 300, SONNET) == pytest.approx(0.006)
    assert roi.cloud_cost_per_request(1_000_000, 0, SONNET) == pytest.approx(3.0)
    assert roi.cloud_cost_per_request(0, 1_000_000, SONNET) == pytest.approx(15.0)


def test_local_share_from_ladder_and_mix():
    mix = {"simple": 0.6, "medium": 0.3, "complex": 0.1}
    assert roi.local_share_from_mix(LADDER_T1, mix) == pytest.approx(0.6)  # simple only
    # ceiling 0.7: simple + medium + (0.7-0.6)/(1-0.6) of complex = 0.6 + 0.3 + 0.025
    assert roi.local_share_from_mix(LADDER_T3, mix) == pytest.approx(0.925)
    half = [{"model": "a", "max_complexity": 0.45}, {"model": "cloud"}]
    assert roi.local_share_from_mix(half, mix) == pytest.approx(0.6 + 0.3 * 0.5)
    assert roi.local_share_from_mix([{"model": "cloud"}], mix) == 0.0


def test_monthly_costs_and_break_even_by_hand():
    cloud_only, hybrid = roi.monthly_costs(100_000, 15.18, 0.006, 0.6)
    assert cloud_only == pytest.approx(600.0)
    assert hybrid == pytest.approx(15.18 + 100_000 * 0.4 * 0.006)  # 255.18
    assert roi.break_even_volume(15.18, 0.006, 0.6) == pytest.approx(15.18 / 0.0036)  # 4216.67
    # a cache halves what still goes to the cloud
    _, cached = roi.monthly_costs(100_000, 15.18, 0.006, 0.6, cache_hit_rate=0.5)
    assert cached == pytest.approx(15.18 + 120.0)
    assert roi.break_even_volume(15.18, 0.006, 0.6, 0.5) == pytest.approx(15.18 / (0.006 * 0.8))
    assert roi.break_even_volume(15.18, 0.006, 0.0) is None  # nothing local: never pays off


@pytest.mark.parametrize("tier", [1, 2, 3, 4])
@pytest.mark.parametrize("cloud", ["aws", "gcp"])
def test_break_even_is_where_the_costs_cross(tier, cloud):
    r = roi.tier_roi(tier, cloud=cloud, volume=1000)
    be = r.break_even_volume
    assert be is not None and be > 0
    at = roi.monthly_costs(be, r.box_monthly_usd, r.cloud_usd_per_request, r.local_share)
    assert at[0] == pytest.approx(at[1])
    below = roi.monthly_costs(be * 0.9, r.box_monthly_usd, r.cloud_usd_per_request, r.local_share)
    above = roi.monthly_costs(be * 1.1, r.box_monthly_usd, r.cloud_usd_per_request, r.local_share)
    assert below[0] < below[1], "below break-even, cloud-only is cheaper"
    assert above[0] > above[1], "above break-even, the box pays for itself"


def test_tier_roi_reads_prices_from_tiers():
    t1 = load_tier(1)
    box = t1["box"]["aws"]["monthly_usd"]
    r = roi.tier_roi(1, cloud="aws", volume=100_000, local_share=0.6)
    prices = cloud_models()[t1["cloud"]["model"]]
    per_request = (500 * prices["input_usd_per_mtok"] + 300 * prices["output_usd_per_mtok"]) / 1e6
    assert r.box == t1["box"]["aws"]["instance_type"]
    assert r.box_monthly_usd == box
    assert r.cloud_usd_per_request == pytest.approx(per_request)
    assert r.cloud_only_usd == pytest.approx(100_000 * per_request)
    assert r.hybrid_usd == pytest.approx(box + 100_000 * 0.4 * per_request)
    assert r.savings_usd == pytest.approx(r.cloud_only_usd - r.hybrid_usd)
    assert r.savings_pct == pytest.approx(100 * r.savings_usd / r.cloud_only_usd)
    gcp = roi.tier_roi(4, cloud="gcp", volume=0, box_price="reference")
    assert gcp.box_monthly_usd == load_tier(4)["box"]["reference_monthly_usd"]
    assert gcp.box == "n1-standard-4"
    assert gcp.cloud_only_usd == 0 and gcp.hybrid_usd == gcp.box_monthly_usd and gcp.savings_pct is None


def test_cloud_model_override_changes_the_price():
    haiku = cloud_models()["claude-haiku-4-5"]
    r = roi.tier_roi(2, cloud_model="claude-haiku-4-5", tokens_in=1000, tokens_out=0)
    assert r.cloud_usd_per_request == pytest.approx(1000 * haiku["input_usd_per_mtok"] / 1e6)
    assert r.cloud_model == "claude-haiku-4-5"


def test_compare_and_best():
    results = roi.compare(volume=100_000)
    assert [r.tier for r in results] == [1, 2, 3, 4]
    pick = roi.best(results)
    assert pick.hybrid_usd == min(r.hybrid_usd for r in results)
    # tiny volume: no box pays off; the table says so rather than recommend one
    small = roi.compare(volume=10)
    assert all(r.savings_usd < 0 for r in small)


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"volume": -1}, "volume must be"),
        ({"volume": float("nan")}, "volume must be"),
        ({"tokens_in": -5}, "tokens-in must be"),
        ({"tokens_in": 0, "tokens_out": 0}, "cannot both be 0"),
        ({"cloud": "azure"}, "cloud must be one of"),
        ({"local_share": 1.5}, "local-share must be between 0 and 1"),
        ({"cache_hit_rate": 1.0}, "cache-hit-rate must be in [0, 1)"),
        ({"box_price": "cheap"}, "box-price must be one of"),
        ({"cloud_model": "gpt-9"}, "has no prices in tiers/cloud_models.yml"),
        ({"mix": {"simple": 0.5, "medium": 0.1, "complex": 0.1}}, "add up to 1"),
    ],
)
def test_bad_input(kwargs, expected):
    with pytest.raises(roi.RoiError) as info:
        roi.tier_roi(1, **kwargs)
    assert expected in str(info.value)


def test_unknown_tier():
    with pytest.raises(roi.RoiError, match="tier must be one of"):
        roi.tier_roi(7)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("simple=60,medium=30,complex=10", "not percentages"),
        ("simple=0.5,medium=0.5,complex=0.5", "add up to 1, they add up to 1.5"),
        ("easy=1", "NAME one of"),
        ("simple=x", "not a number"),
        ("simple=0.5,simple=0.5", "given twice"),
        ("simple=-0.5,medium=1.5", "must be a share between 0 and 1"),
    ],
)
def test_bad_mix(text, expected):
    with pytest.raises(roi.RoiError) as info:
        roi.parse_mix(text)
    assert expected in str(info.value)


def test_mix_missing_bands_are_zero():
    assert roi.parse_mix("simple=1") == {"simple": 1.0, "medium": 0.0, "complex": 0.0}


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    roi.add_arguments(parser)
    return parser.parse_args(list(argv))


def test_cli_json(capsys):
    assert roi.run(_args("--volume", "100000", "--cloud", "gcp", "--tier", "2", "--json")) == 0
    out = json.loads(capsys.readouterr().out)
    (t2,) = out["tiers"]
    assert t2["tier"] == 2 and t2["cloud"] == "gcp" and t2["box"] == load_tier(2)["box"]["gcp"]["machine_type"]
    assert out["best_tier"] == 2
    assert out["inputs"]["mix"] == {"simple": 0.6, "medium": 0.3, "complex": 0.1}


def test_cli_table_and_errors(capsys):
    assert roi.run(_args("--volume", "100000")) == 0
    text = capsys.readouterr().out
    assert "break-even" in text and "cloud-only" in text and "cheapest at this volume: tier" in text
    assert roi.run(_args("--volume", "10")) == 0
    assert "cloud-only is cheaper" in capsys.readouterr().out
    assert roi.run(_args("--mix", "simple=2")) == 2
    assert "error: mix" in capsys.readouterr().err


def test_cli_plot(tmp_path, capsys):
    path = tmp_path / "roi.png"
    assert roi.run(_args("--volume", "50000", "--plot", str(path))) == 0
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
    assert f"plot: {path}" in capsys.readouterr().out
    assert roi.run(_args("--plot", str(tmp_path / "missing-dir" / "x.png"))) == 2
    assert "cannot write the plot" in capsys.readouterr().err
    assert not (tmp_path / "missing-dir").exists()


def test_plot_range_covers_every_break_even():
    results = roi.compare(volume=1000)
    volumes = roi.plot_volumes(results, 1000)
    assert volumes[0] == 0 and volumes[-1] >= max(r.break_even_volume for r in results)
