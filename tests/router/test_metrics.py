"""APGR and CPT against small cases computed by hand."""

from __future__ import annotations

import random

import pytest

from hybrid_ai.router.metrics import apgr, cpt, quality_curve


def test_perfect_router_one_of_three_gains():
    # only prompt 0 gains (0 -> 1); sending it first: Q = 0, 1/3, 1/3, 1/3
    c = quality_curve([3, 2, 1], [0, 0, 0], [1, 0, 0])
    assert c.quality == pytest.approx([0, 1 / 3, 1 / 3, 1 / 3])
    # area = (1/6 + 1/3 + 1/3) / 3 = 5/18; gap 1/3 -> APGR 5/6
    assert apgr(c) == pytest.approx(5 / 6)
    assert cpt(c, 0.5) == pytest.approx(1 / 3)
    assert cpt(c, 0.8) == pytest.approx(1 / 3)


def test_worst_router():
    c = quality_curve([1, 2, 3], [0, 0, 0], [1, 0, 0])
    assert c.quality == pytest.approx([0, 0, 0, 1 / 3])
    assert apgr(c) == pytest.approx(1 / 6)
    assert cpt(c, 0.5) == 1.0


def test_ties_count_as_random_in_expectation():
    c = quality_curve([1, 1, 1], [0, 0, 0], [1, 0, 0])
    assert c.quality == pytest.approx([0, 1 / 9, 2 / 9, 1 / 3])
    assert apgr(c) == pytest.approx(0.5)
    assert cpt(c, 0.5) == pytest.approx(2 / 3)


def test_expectation_matches_many_shuffles():
    rng = random.Random(7)
    scores = [rng.choice([0.1, 0.5, 0.9]) for _ in range(40)]
    weak = [rng.random() for _ in scores]
    strong = [w + rng.random() for w in weak]
    exact = apgr(quality_curve(scores, weak, strong))
    total = 0.0
    for _ in range(400):
        jitter = [s + rng.random() * 1e-6 for s in scores]  # one random tie-break
        total += apgr(quality_curve(jitter, weak, strong))
    assert total / 400 == pytest.approx(exact, abs=0.01)


def test_random_router_is_one_half_and_negative_gains_allowed():
    c = quality_curve([0.5] * 4, [1, 0, 1, 0], [0, 1, 1, 1])
    assert apgr(c) == pytest.approx(0.5)
    # a router that sends the one losing prompt last beats the ceiling of 1
    c2 = quality_curve([0, 3, 2, 1], [1, 0, 1, 0], [0, 1, 1, 1])
    assert apgr(c2) > 1.0


def test_bad_input():
    with pytest.raises(ValueError):
        quality_curve([], [], [])
    with pytest.raises(ValueError):
        apgr(quality_curve([1, 2], [1, 1], [1, 1]))
