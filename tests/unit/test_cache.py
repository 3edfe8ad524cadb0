"""Cache keys: exact match on the normalised request and the chosen model; bypass headers."""

from __future__ import annotations

from hybrid_ai.cache import ERROR, MISS, AnswerCache, cache_key, wants_bypass
from hybrid_ai.store import Store

MSG = ({"role": "user", "content": "Hello   world\n"},)


def test_whitespace_is_normalised_but_content_matters():
    a = cache_key("tinyllama", MSG, None, 10, None)
    assert a == cache_key("tinyllama", ({"role": "user", "content": " Hello world"},), "", 10, None)
    assert a != cache_key("tinyllama", ({"role": "user", "content": "hello world"},), None, 10, None)
    assert a.startswith("hai:cache:")


def test_model_and_settings_are_part_of_the_key():
    a = cache_key("tinyllama", MSG, None, 10, None)
    assert a != cache_key("phi-2", MSG, None, 10, None)
    assert a != cache_key("tinyllama", MSG, "be brief", 10, None)
    assert a != cache_key("tinyllama", MSG, None, 11, None)
    assert a != cache_key("tinyllama", MSG, None, 10, 0.5)
    assert a != cache_key("tinyllama", ({"role": "assistant", "content": "Hello world"},), None, 10, None)


def test_bypass_headers():
    assert wants_bypass({"Cache-Control": "no-cache"})
    assert wants_bypass({"Cache-Control": "max-age=0, no-store"})
    assert wants_bypass({"X-Cache-Bypass": "1"}) and wants_bypass({"X-Cache-Bypass": "true"})
    assert not wants_bypass({"X-Cache-Bypass": "0"}) and not wants_bypass({})


def test_redis_down_is_a_miss_labelled_error_not_a_failure():
    store = Store("redis://127.0.0.1:9/0")  # nothing listens on the discard port
    cache = AnswerCache(store, 60)
    assert cache.get("hai:cache:x") == (None, ERROR)
    assert cache.put("hai:cache:x", {"text": "t"}) is False
    assert not store.available  # the breaker skips Redis for a moment: no timeout per request
    assert cache.get("hai:cache:x") == (None, ERROR)
    assert MISS != ERROR
