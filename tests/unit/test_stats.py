"""Stats when Redis is down: kept in memory, reported as incomplete, never an error."""

from __future__ import annotations

from hybrid_ai.stats import Stats, _shape
from hybrid_ai.store import Store


def test_unsynced_stats_when_redis_is_down():
    stats = Stats(Store("redis://127.0.0.1:9/0"))
    stats.record(
        "tinyllama",
        tokens_in=10,
        tokens_out=5,
        cost_usd=0.0,
        cloud_equivalent_usd=0.0001,
        cache="miss",
        degraded=False,
        cloud_cost_usd=0.0,
    )
    stats.record(
        "cloud",
        tokens_in=10,
        tokens_out=5,
        cost_usd=0.002,
        cloud_equivalent_usd=0.002,
        cache="hit",
        degraded=False,
        cloud_cost_usd=0.002,
    )
    snap = stats.snapshot()
    assert snap["complete"] is False and snap["requests"] == 2
    assert snap["by_model"]["cloud"]["cost_usd"] == 0.002 and snap["cache_hit_rate"] == 0.5
    assert stats.month_cloud_cost() == 0.002


def test_shape_derives_savings_and_hit_rate():
    s = _shape(
        {"requests": "4", "cost_usd": "1.0", "cloud_equivalent_usd": "4.0", "cache_hits": "1", "cache_misses": "3"}
    )
    assert s["savings_usd"] == 3.0 and s["savings_pct"] == 75.0 and s["cache_hit_rate"] == 0.25
    assert _shape({})["cache_hit_rate"] == 0.0
