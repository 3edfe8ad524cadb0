"""API keys from a file (re-read on change) and the per-key rate limit."""

from __future__ import annotations

import os
import time

from hybrid_ai.auth import ApiKeys, RateLimiter, key_id, parse_keys
from hybrid_ai.store import Store


def test_parse_keys_skips_comments_and_blanks():
    assert parse_keys("# team\nkey-1\n\n  key-2  # ops\n#key-3\n") == {"key-1", "key-2"}


def test_check(tmp_path):
    f = tmp_path / "keys"
    f.write_text("alpha\nbeta\n")
    keys = ApiKeys(str(f))
    assert keys.check({"Authorization": "Bearer alpha"}) == (key_id("alpha"), "")
    assert keys.check({"Authorization": "bearer beta"})[0] == key_id("beta")
    assert "missing" in keys.check({})[1]
    assert "malformed" in keys.check({"Authorization": "Token alpha"})[1]
    assert keys.check({"Authorization": "Bearer gamma"}) == (None, "invalid API key")
    assert len(key_id("alpha")) == 16 and "alpha" not in key_id("alpha")


def test_missing_or_empty_file_refuses_all(tmp_path):
    assert ApiKeys(str(tmp_path / "none")).count == 0
    assert ApiKeys(str(tmp_path / "none")).check({"Authorization": "Bearer x"})[0] is None
    assert ApiKeys(None).count == 0


def test_key_file_change_is_picked_up(tmp_path):
    f = tmp_path / "keys"
    f.write_text("alpha\n")
    keys = ApiKeys(str(f), recheck_s=0)
    assert keys.check({"Authorization": "Bearer beta"})[0] is None
    f.write_text("alpha\nbeta\n")
    os.utime(f, (time.time() + 5, time.time() + 5))
    assert keys.check({"Authorization": "Bearer beta"})[0] == key_id("beta")


def test_rate_limit_falls_back_to_per_worker_counting_when_redis_is_down():
    limiter = RateLimiter(Store("redis://127.0.0.1:9/0"), per_minute=2)
    now = 60 * 16667 + 20.0  # 20 s into a window
    assert limiter.hit("k", now) == (True, 40)
    assert limiter.hit("k", now)[0] is True
    assert limiter.hit("k", now) == (False, 40)
    assert limiter.hit("other", now)[0] is True
    assert limiter.hit("k", now + 60)[0] is True  # next window


def test_zero_means_unlimited():
    limiter = RateLimiter(Store("redis://127.0.0.1:9/0"), per_minute=0)
    assert all(limiter.hit("k")[0] for _ in range(100))
