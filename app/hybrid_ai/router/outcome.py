"""Fit the `outcome` router: the learned router's explainable features, with weights fitted to
public per-prompt model outcomes (public_data.py) instead of hand-written labels alone.

Two choices, both settled by leave-one-benchmark-out validation on the training split (never
on the dev folder or the held-out sets):
- one intercept per training benchmark, dropped at inference: benchmarks label on different
  scales (a judge's preference on open-ended writing, 0/1 correctness on multiple choice), so
  without it the weights learn "looks like benchmark X" instead of "is harder";
- an L2 prior that pulls the weights towards the hand-made exemplar model (learned_model.py):
  the public outcomes say how difficulty varies inside a task type, the exemplars what the
  task types are; `prior` sets how far the data may move the weights.

Hashed word n-grams were tried on the same validation and added nothing (see docs/router.md),
so the shipped model stays 14 weights, scored in pure Python.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hybrid_ai.router.features import FEATURE_NAMES, extract
from hybrid_ai.router.metrics import apgr, quality_curve

PRIORS = (1e-4, 1e-3, 1e-2, 1e-1, 1.0)
BOOTSTRAP = 200  # resamples for the standard error of the validation score


def read_corpus(path: str | Path) -> list[dict[str, Any]]:
    with Path(path).open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def _features(prompts: Sequence[str]) -> list[list[float]]:
    return [[f[k] for k in FEATURE_NAMES] for f in (extract(p) for p in prompts)]


def fit_grouped(
    xs: Sequence[Sequence[float]],
    ys: Sequence[float],
    groups: Sequence[int],
    prior_weights: Sequence[float],
    prior: float,
    *,
    epochs: int = 4000,
    lr: float = 4.0,
) -> tuple[list[float], list[float]]:
    """Logistic fit with one intercept per group and an L2 pull towards prior_weights; each group
    weighs the same in total. Returns (weights, intercepts)."""
    import numpy as np

    x = np.asarray(xs, dtype=np.float64)
    y = np.asarray(ys, dtype=np.float64)
    g = np.asarray(groups, dtype=np.int64)
    ng = int(g.max()) + 1
    counts = np.bincount(g, minlength=ng).astype(np.float64)
    w = 1.0 / counts[g]
    w /= w.sum()
    w0 = np.asarray(prior_weights, dtype=np.float64)
    wt = w0.copy()
    mean = np.bincount(g, weights=y, minlength=ng) / np.maximum(counts, 1)
    b = np.log(np.clip(mean, 1e-3, 1 - 1e-3) / np.clip(1 - mean, 1e-3, 1))
    for _ in range(epochs):
        z = b[g] + x @ wt
        err = (1.0 / (1.0 + np.exp(-z)) - y) * w
        b -= lr * np.bincount(g, weights=err, minlength=ng) * ng
        # proximal step for the prior: stable for any prior strength
        wt = (wt - lr * (x.T @ err) + lr * prior * w0) / (1.0 + lr * prior)
    return wt.tolist(), b.tolist()


def _apgr_of(scores: Sequence[float], rows: Sequence[dict[str, Any]]) -> float:
    weak = [r["weak"] if r.get("weak") is not None else 1.0 - r["label"] for r in rows]
    strong = [r["strong"] if r.get("strong") is not None else 1.0 for r in rows]
    return apgr(quality_curve(list(scores), weak, strong))


def _bootstrap_se(folds: Sequence[tuple[list[float], list[dict[str, Any]]]], seed: int = 7) -> float:
    """Standard error of the mean per-fold APGR, resampling each fold's prompts."""
    import random

    rng = random.Random(seed)
    means = []
    for _ in range(BOOTSTRAP):
        vals = []
        for scores, rows in folds:
            idx = [rng.randrange(len(rows)) for _ in rows]
            try:
                vals.append(_apgr_of([scores[i] for i in idx], [rows[i] for i in idx]))
            except ValueError:  # a resample without any quality gap
                continue
        means.append(sum(vals) / len(vals))
    mu = sum(means) / len(means)
    return (sum((m - mu) ** 2 for m in means) / (len(means) - 1)) ** 0.5


def _dot(w: Sequence[float], x: Sequence[float]) -> float:
    return sum(a * b for a, b in zip(w, x, strict=True))


def train(corpus: Sequence[dict[str, Any]], base: dict[str, Any], log=print) -> dict[str, Any]:
    """Tune `prior` by leave-one-benchmark-out APGR on the training split, then fit on all of it.

    The choice follows the one-standard-error rule: the strongest prior (the model closest to
    the exemplars) whose mean validation APGR is within one bootstrap standard error of the best,
    since differences smaller than that are noise of the validation prompts."""
    train_rows = [r for r in corpus if r["split"] == "train"]
    if not train_rows:
        raise ValueError("the corpus has no training rows")
    benches = sorted({r["benchmark"] for r in train_rows})
    gid = [benches.index(r["benchmark"]) for r in train_rows]
    xs = _features([r["prompt"] for r in train_rows])
    ys = [float(r["label"]) for r in train_rows]
    w0 = [float(base["weights"][k]) for k in FEATURE_NAMES]
    results: dict[float, dict[str, float]] = {}
    errors: dict[float, float] = {}
    for prior in PRIORS:
        per: dict[str, float] = {}
        folds = []
        for b, name in enumerate(benches):
            keep = [i for i, gg in enumerate(gid) if gg != b]
            out = [i for i, gg in enumerate(gid) if gg == b]
            # renumber the remaining groups 0..k-1
            remap = {gg: j for j, gg in enumerate(sorted({gid[i] for i in keep}))}
            wt, _ = fit_grouped([xs[i] for i in keep], [ys[i] for i in keep], [remap[gid[i]] for i in keep], w0, prior)
            scores, rows = [_dot(wt, xs[i]) for i in out], [train_rows[i] for i in out]
            folds.append((scores, rows))
            per[name] = round(_apgr_of(scores, rows), 4)
        results[prior] = per
        errors[prior] = _bootstrap_se(folds)
        mean = sum(per.values()) / len(per)
        log(f"  prior={prior:g}: leave-one-benchmark-out APGR {per} mean {mean:.3f} (se {errors[prior]:.3f})")
    mean_of = {p: sum(results[p].values()) / len(benches) for p in PRIORS}
    top = max(PRIORS, key=lambda p: mean_of[p])
    best = max(p for p in PRIORS if mean_of[p] >= mean_of[top] - errors[top])
    wt, _ = fit_grouped(xs, ys, gid, w0, best)
    # The intercept stays the exemplar model's, so thresholds calibrated on it stay in range.
    log(f"chose prior={best:g}: the strongest within one standard error of the best mean (prior={top:g})")
    return {
        "bias": round(float(base["bias"]), 5),
        "weights": {k: round(v, 5) for k, v in zip(FEATURE_NAMES, wt, strict=True)},
        "words": {},
        "_validation": {
            "prior": best,
            "leave_one_benchmark_out": {str(p): results[p] for p in PRIORS},
            "standard_error": {str(p): round(errors[p], 4) for p in PRIORS},
        },
    }
