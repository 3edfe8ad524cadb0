"""Costs from real token counts, input and output priced separately; unknown price = error."""

from __future__ import annotations

import pytest

from hybrid_ai.costs import Price, PriceBook, UnknownPriceError, tokens_cost

SONNET = Price(3.0, 15.0)


def book():
    return PriceBook("claude-sonnet-4-6", SONNET, ["tinyllama", "phi-2"])


def test_tokens_cost_prices_in_and_out_separately():
    assert tokens_cost(1_000_000, 0, SONNET) == pytest.approx(3.0)
    assert tokens_cost(0, 1_000_000, SONNET) == pytest.approx(15.0)
    assert tokens_cost(1200, 300, SONNET) == pytest.approx((1200 * 3 + 300 * 15) / 1e6)
    with pytest.raises(ValueError):
        tokens_cost(-1, 0, SONNET)


def test_cloud_call_costs_what_it_costs():
    c = book().call("cloud", 100, 50)
    assert c.cost_usd == pytest.approx(0.00105) and c.cloud_equivalent_usd == c.cost_usd and c.savings_usd == 0
    assert book().call("claude-sonnet-4-6", 100, 50).cost_usd == c.cost_usd


def test_local_call_is_free_and_records_cloud_equivalent():
    c = book().call("tinyllama", 100, 50)
    assert c.cost_usd == 0.0 and c.cloud_equivalent_usd == pytest.approx(0.00105)
    assert c.savings_usd == pytest.approx(0.00105)


def test_cache_hit_costs_zero_but_counts_the_avoided_call():
    c = book().call("cloud", 100, 50, cached=True)
    assert c.cost_usd == 0.0 and c.cloud_equivalent_usd == pytest.approx(0.00105)


def test_unknown_model_is_an_error_not_zero():
    with pytest.raises(UnknownPriceError, match="mistral"):
        book().call("mistral", 1, 1)


def test_bad_prices_rejected():
    with pytest.raises(ValueError):
        Price(-1.0, 1.0)
    with pytest.raises(ValueError):
        Price(True, 1.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        PriceBook("tinyllama", SONNET, ["tinyllama"])


def test_from_config_and_estimate():
    cfg = {
        "cloud": {"model": "claude-haiku-4-5", "input_usd_per_mtok": 1.0, "output_usd_per_mtok": 5.0},
        "ladder": [{"model": "tinyllama", "max_complexity": 0.3}, {"model": "cloud"}],
    }
    b = PriceBook.from_config(cfg)
    assert b.price("tinyllama") == Price(0.0, 0.0)
    est = b.estimate("cloud", prompt_chars=400, max_tokens=100)
    assert est.cost_usd == pytest.approx((100 * 1.0 + 100 * 5.0) / 1e6)
