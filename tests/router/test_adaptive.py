"""The adaptive router's pure parts: quality estimate and calibration, the fit, the model's
serialised form, the shadow sampler and judge parsing, and `hybrid-ai router simulate`."""

from __future__ import annotations

import itertools
import json
import random

import pytest

from hybrid_ai.router import adaptive, quality
from hybrid_ai.router.metrics import apgr, quality_curve
from hybrid_ai.shadow import Sampler, local_quality, parse_verdict
from tests.router.conftest import REPO, run_cli

HELDOUT = REPO / "data" / "router" / "heldout"


def _brute_cut(scores, local, cloud, target, z):
    """The reference: every cut between distinct scores, the largest local share whose one-sided
    bound passes (computed directly, not with running sums)."""
    best = 0.0
    for cut in sorted({*scores, max(scores) + 1e-9}):
        routed = quality.routed_quality(scores, local, cloud, cut)
        _, low, _ = quality.ratio_interval(routed, cloud, 0.95, two_sided=False)
        if low >= target:
            best = max(best, cut)
    return best


@pytest.mark.parametrize("seed", range(6))
def test_calibration_matches_a_brute_force_search(seed):
    rng = random.Random(seed)
    n = rng.choice([30, 80, 200])
    scores = [round(rng.random(), 2) for _ in range(n)]  # ties on purpose
    local = [float(rng.random() < 0.3 + 0.6 * (1 - s)) for s in scores]
    cloud = [float(rng.random() < 0.9) for _ in scores]
    for target in (0.8, 0.9, 0.95):
        fast = quality.calibrate_cut(scores, local, cloud, target)
        slow = _brute_cut(scores, local, cloud, target, None)
        # the same requests stay local (a cut at or below the lowest score keeps none)
        assert [v < fast for v in scores] == [v < slow for v in scores], (target, fast, slow)


def test_the_bound_protects_the_target_on_new_traffic():
    """With a confidence bound the calibrated cut keeps the target on fresh draws of the same
    traffic far more often than the point estimate's cut does."""
    rng = random.Random(11)

    def draw(n):
        s = [rng.random() for _ in range(n)]
        loc = [float(rng.random() < 0.95 - 0.8 * v) for v in s]
        return s, loc, [1.0] * n

    kept_bound = kept_point = 0
    for _ in range(40):
        s, loc, cl = draw(300)
        bound = quality.calibrate_cut(s, loc, cl, 0.9, 0.95)
        point = quality.calibrate_cut(s, loc, cl, 0.9, 0.500001)
        ts, tl, tc = draw(3000)
        kept_bound += quality.estimate(ts, tl, tc, bound).ratio >= 0.9
        kept_point += quality.estimate(ts, tl, tc, point).ratio >= 0.9
    assert kept_bound >= 36 and kept_bound > kept_point, (kept_bound, kept_point)


def test_interval_and_thresholds():
    ratio, low, high = quality.ratio_interval([1, 0, 1, 1] * 25, [1.0] * 100)
    assert ratio == 0.75 and low < 0.75 < high and high - low < 0.2
    ladder = [{"model": "a", "max_complexity": 0.3}, {"model": "b", "max_complexity": 0.6}, {"model": "cloud"}]
    assert quality.thresholds_for_cut(ladder, 0.4) == {"a": 0.2, "b": 0.4}
    assert quality.random_share(0.95, 0.6, 0.9) == pytest.approx((0.95 * 0.9 - 0.6) / 0.3)
    with pytest.raises(ValueError):
        quality.calibrate_cut([0.1], [1.0], [1.0], 1.5)


def _toy(n, seed):
    """A topic the shipped model cannot see (same length and shape) decides who is right."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        hard = rng.random() < 0.5
        word = rng.choice(["ledger", "tax", "audit"] if hard else ["hello", "weather", "thanks"])
        out.append(adaptive.Example(f"Write a note about {word} for item {i}.", None, 0.0 if hard else 1.0, 1.0))
    return out


def test_the_fit_learns_what_the_shipped_model_cannot_see():
    train, test = _toy(300, 1), _toy(200, 2)
    model, report = adaptive.fit(train)
    scores = [model.score(e.prompt).value for e in test]
    local, cloud = [e.local for e in test], [e.cloud for e in test]
    oracle = apgr(quality_curve([c - q for q, c in zip(local, cloud, strict=True)], local, cloud))
    assert apgr(quality_curve(scores, local, cloud)) == pytest.approx(oracle)  # every hard one first
    shipped = adaptive.AdaptiveRouter()
    assert apgr(quality_curve([shipped.score(e.prompt).value for e in test], local, cloud)) < oracle - 0.05
    assert len(report["oof_scores"]) == 300 and all(0.0 <= s <= 1.0 for s in report["oof_scores"])
    # the serialised model scores identically after a round trip through text
    again = adaptive.Model.from_blob(model.to_blob())
    assert [again.score(e.prompt).value for e in test[:20]] == scores[:20]
    with pytest.raises(ValueError):
        adaptive.Model.from_blob("bm90IGEgbW9kZWw=")


def test_without_a_model_the_router_is_the_shipped_model_shifted():
    from hybrid_ai.router.learned import LearnedRouter

    r = adaptive.AdaptiveRouter()
    base = LearnedRouter.load()
    prompts = [json.loads(line)["prompt"] for line in (HELDOUT / "rb-mbpp.jsonl").read_text().splitlines()[:60]]
    ours = [r.score(p).value for p in prompts]
    theirs = [base.score(p).value for p in prompts]
    order = lambda v: sorted(range(len(v)), key=lambda i: (v[i], i))  # noqa: E731
    assert order(ours) == order(theirs)  # the same ranking, so the same APGR
    assert all(a <= b for a, b in zip(ours, theirs, strict=True))  # shifted down by SHIPPED_OFFSET


def test_the_shift_keeps_the_heuristics_cloud_share_at_the_first_threshold():
    """SHIPPED_OFFSET's definition: at 0.3 the shifted shipped model sends the same mean share of
    the held-out prompts to the cloud as the heuristic router (within a point)."""
    from hybrid_ai import router as routers

    heur, ada = routers.get_router("heuristic"), adaptive.AdaptiveRouter()
    shares = []
    for path in sorted(HELDOUT.glob("*.jsonl")):
        prompts = [json.loads(line)["prompt"] for line in path.read_text().splitlines() if line.strip()]
        shares.append(
            (
                sum(heur.score(p).value >= 0.3 for p in prompts) / len(prompts),
                sum(ada.score(p).value >= 0.3 for p in prompts) / len(prompts),
            )
        )
    h = sum(a for a, _ in shares) / len(shares)
    a = sum(b for _, b in shares) / len(shares)
    assert abs(h - a) < 0.01, (h, a)


def test_sampler_and_judge_verdicts():
    s = Sampler(0.05)
    picked = sum(s.pick(f"req-{i}") for i in range(20000))
    assert 800 < picked < 1200
    assert [Sampler(0.3).pick(f"r{i}") for i in range(50)] == [Sampler(0.3).pick(f"r{i}") for i in range(50)]
    assert not any(Sampler(0.0).pick(f"r{i}") for i in range(100))
    assert parse_verdict(" a ") == "A" and parse_verdict("TIE.") == "TIE" and parse_verdict("neither") is None
    # local first then cloud first: position-consistent verdicts and a position-biased judge
    cases = {("A", "B"): 1.0, ("B", "A"): 0.0, ("A", "A"): 0.5, ("TIE", "TIE"): 1.0, (None, "B"): 1.0}
    for (v1, v2), want in cases.items():
        assert local_quality(v1, v2) == want
    assert local_quality(None, None) is None


def test_simulate_command_prints_the_figures(tmp_path):
    rows = []
    for e in itertools.islice(_toy(600, 5), 600):
        rows.append({"prompt": e.prompt, "local": e.local, "cloud": e.cloud})
    data = tmp_path / "toy.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))

    def simulate(*extra):
        return run_cli("router", "simulate", "--data", str(data), "--labels", "200", "--seed", "3", "--json", *extra)

    out = simulate("--quality-target", "0.95")
    assert out.returncode == 0, out.stderr
    res = json.loads(out.stdout)
    assert res["labels"] == 200 and res["n_eval"] == 400
    assert res["apgr"] > 0.7 and res["quality_ratio"] >= 0.95  # 0.75 is a perfect router here
    assert res["cloud_share"] < 0.85 * res["random_cloud_share"]
    noisy = json.loads(simulate("--label-noise", "0.15").stdout)
    assert noisy["label_noise"] == 0.15 and noisy["apgr"] < res["apgr"] + 1e-9
    bad = run_cli("router", "simulate", "--data", str(data), "--labels", "600", "--json")
    assert bad.returncode == 2 and "--labels must be between" in bad.stderr


def test_sim_data_converts_the_held_out_sets(tmp_path):
    out = run_cli("router", "sim-data", "--heldout", str(HELDOUT), "--out", str(tmp_path))
    assert out.returncode == 0, out.stderr
    written = sorted(p.name for p in tmp_path.glob("*.jsonl"))
    assert written == sorted(p.name for p in HELDOUT.glob("*.jsonl"))
    first = json.loads((tmp_path / "rb-mbpp.jsonl").read_text().splitlines()[0])
    assert set(first) == {"prompt", "local", "cloud"}
