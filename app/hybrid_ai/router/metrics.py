"""Router quality metrics: APGR and CPT, with ties in score broken at random (in expectation).

Setting: each prompt i has a router score s_i and two qualities, weak_i (answer of the cheap
model) and strong_i (answer of the strong model). Sending the k highest-scored prompts to the
strong model gives a mean quality Q(k) = mean(weak) + sum of the k largest-score gains / N,
where gain_i = strong_i - weak_i. Prompts with equal scores are interchangeable to the router,
so inside a tie group the expected gain of sending m of its g prompts is m/g of the group's
total gain: Q(k) is computed exactly in expectation, no shuffling needed.

- APGR: area under Q over the share of strong calls x = k/N in [0, 1] (trapezoids), scaled
  so the weak model alone is 0 and the strong model alone is 1. A random router scores 0.5.
- CPT(p): the smallest share of strong calls whose expected quality recovers a fraction p
  of the gap between the weak and the strong model.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import groupby


@dataclass(frozen=True)
class Curve:
    """Expected mean quality after sending k = 0..N prompts to the strong model."""

    quality: list[float]
    weak: float
    strong: float

    @property
    def n(self) -> int:
        return len(self.quality) - 1


def quality_curve(scores: Sequence[float], weak: Sequence[float], strong: Sequence[float]) -> Curve:
    n = len(scores)
    if n == 0 or len(weak) != n or len(strong) != n:
        raise ValueError("scores, weak and strong must be non-empty and of equal length")
    order = sorted(range(n), key=lambda i: -scores[i])
    base = sum(weak) / n
    quality = [base]
    total = 0.0
    for _, group in groupby(order, key=lambda i: scores[i]):
        members = list(group)
        gain = sum(strong[i] - weak[i] for i in members) / len(members)
        for _ in members:
            total += gain
            quality.append(base + total / n)
    return Curve(quality=quality, weak=base, strong=sum(strong) / n)


def apgr(curve: Curve) -> float:
    """Average performance gap recovered (area under the curve, weak = 0, strong = 1)."""
    gap = curve.strong - curve.weak
    if gap == 0:
        raise ValueError("the two models have the same mean quality: APGR is undefined")
    q = curve.quality
    area = sum((q[k] + q[k + 1]) / 2 for k in range(curve.n)) / curve.n
    return (area - curve.weak) / gap


def cpt(curve: Curve, recovered: float) -> float:
    """Share of strong-model calls needed to recover `recovered` (0..1) of the quality gap."""
    target = curve.weak + recovered * (curve.strong - curve.weak)
    for k, value in enumerate(curve.quality):
        if value >= target - 1e-12:
            return k / curve.n
    return 1.0
