"""How much quality routing keeps, measured on labelled traffic, and thresholds chosen from a
quality target. Pure functions (no I/O), shared by the gateway's refit, its stats and
`hybrid-ai router simulate`.

A label is a request whose answers from both sides were judged: `local` and `cloud` in [0, 1]
(from a shadow judgement, a user's rating or a cascade escalation). Routing with a cut c sends
the requests scored >= c to the cloud, so a labelled request contributes `cloud` when its score
is >= c and `local` otherwise. The quality ratio is mean(routed) / mean(cloud-only): 1.0 means
routing lost nothing the labels can see.

The interval is the delta method's for a ratio of paired means (normal approximation), which
is accurate from a few dozen labels; calibration uses its one-sided lower bound, so the target
holds on new traffic of the same kind, not just on the labels it was fitted on.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any


@dataclass(frozen=True)
class Estimate:
    ratio: float
    low: float
    high: float
    n: int
    local_share: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "ratio": round(self.ratio, 4),
            "low": round(self.low, 4),
            "high": round(self.high, 4),
            "labels": self.n,
            "local_share": round(self.local_share, 4),
        }


def _z(confidence: float, two_sided: bool) -> float:
    if not 0.5 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0.5, 1), got {confidence}")
    tail = (1.0 - confidence) / (2.0 if two_sided else 1.0)
    return NormalDist().inv_cdf(1.0 - tail)


def ratio_interval(
    routed: Sequence[float], cloud: Sequence[float], confidence: float = 0.95, two_sided: bool = True
) -> tuple[float, float, float]:
    """(ratio of means, lower, upper) for paired samples; the bounds are clipped to [0, inf)."""
    n = len(routed)
    if n == 0 or n != len(cloud):
        raise ValueError("routed and cloud must be non-empty and of equal length")
    mc = sum(cloud) / n
    mr = sum(routed) / n
    if mc <= 0:
        return (1.0, 1.0, 1.0) if mr <= 0 else (math.inf, math.inf, math.inf)
    ratio = mr / mc
    if n < 2:
        return ratio, 0.0, math.inf
    resid = [r - ratio * c for r, c in zip(routed, cloud, strict=True)]
    mean_resid = sum(resid) / n
    var = sum((e - mean_resid) ** 2 for e in resid) / (n - 1)
    se = math.sqrt(var / n) / mc
    z = _z(confidence, two_sided)
    return ratio, max(0.0, ratio - z * se), ratio + z * se


def routed_quality(scores: Sequence[float], local: Sequence[float], cloud: Sequence[float], cut: float) -> list[float]:
    return [c if s >= cut else q for s, q, c in zip(scores, local, cloud, strict=True)]


def estimate(
    scores: Sequence[float], local: Sequence[float], cloud: Sequence[float], cut: float, confidence: float = 0.95
) -> Estimate:
    """The quality ratio at a cut, with its two-sided interval, on labelled requests."""
    routed = routed_quality(scores, local, cloud, cut)
    ratio, low, high = ratio_interval(routed, cloud, confidence, two_sided=True)
    share = sum(1 for s in scores if s < cut) / len(scores)
    return Estimate(ratio, low, high, len(scores), share)


def calibrate_cut(
    scores: Sequence[float],
    local: Sequence[float],
    cloud: Sequence[float],
    target: float,
    confidence: float = 0.95,
) -> float:
    """The cut that keeps the most requests local while the one-sided lower confidence bound of
    the quality ratio stays >= target. Cuts fall between distinct scores (ties cannot split);
    when no cut passes, everything goes to the cloud (cut 0)."""
    if not 0.0 < target <= 1.0:
        raise ValueError(f"quality target must be in (0, 1], got {target}")
    n = len(scores)
    if n == 0 or len(local) != n or len(cloud) != n:
        raise ValueError("scores, local and cloud must be non-empty and of equal length")
    order = sorted(range(n), key=lambda i: scores[i])
    z = _z(confidence, two_sided=False)
    mc = sum(cloud) / n
    if mc <= 0:
        return 1.0 + 1e-9  # the cloud never answers well: nothing to protect, all local
    # Walk the cut up from 0 (all cloud) one tie group at a time; keep running sums of the routed
    # quality so each candidate's bound is O(1): routed_i = local_i below the cut, cloud_i above.
    sum_r = sum(cloud)
    sum_r2 = sum(c * c for c in cloud)
    sum_rc = sum(c * c for c in cloud)
    sum_c = sum(cloud)
    sum_c2 = sum(c * c for c in cloud)
    best = 0.0
    i = 0
    while i < n:
        j = i
        while j < n and scores[order[j]] == scores[order[i]]:
            k = order[j]
            sum_r += local[k] - cloud[k]
            sum_r2 += local[k] ** 2 - cloud[k] ** 2
            sum_rc += local[k] * cloud[k] - cloud[k] ** 2
            j += 1
        cut = scores[order[j]] if j < n else scores[order[-1]] + 1e-9
        ratio = sum_r / sum_c
        # variance of r - ratio * c from the running sums
        mean_e = (sum_r - ratio * sum_c) / n
        ss = sum_r2 - 2 * ratio * sum_rc + ratio * ratio * sum_c2
        var = max(0.0, (ss - n * mean_e * mean_e) / max(1, n - 1))
        low = ratio - z * math.sqrt(var / n) / mc
        if low >= target:
            best = cut
        i = j
    return best


def thresholds_for_cut(ladder: Sequence[Mapping[str, Any]], cut: float) -> dict[str, float]:
    """Local rungs' max_complexity for a cloud cut, every band scaled by the same factor (as
    `router calibrate` does), so the relative widths of the local bands are kept."""
    local = [r for r in ladder if r.get("max_complexity") is not None]
    if not local:
        raise ValueError("the ladder has no local rung")
    cut = min(max(cut, 1e-6), 1.0)
    top = float(local[-1]["max_complexity"])
    return {str(r["model"]): round(max(float(r["max_complexity"]) * cut / top, 1e-6), 6) for r in local}


def random_share(target: float, local_mean: float, cloud_mean: float) -> float:
    """The cloud share a random router needs to reach `target` of the cloud-only quality:
    c = (Q*S - W) / (S - W), clipped to [0, 1]."""
    if cloud_mean == local_mean:
        return 0.0
    return min(1.0, max(0.0, (target * cloud_mean - local_mean) / (cloud_mean - local_mean)))
