"""API keys (Authorization: Bearer KEY) and a per-key rate limit.

Keys: one per line in auth.api_keys_file ('#' starts a comment); the file is re-read when it
changes, so adding a key needs no restart. An empty or missing file refuses every request.
Rate limit: a fixed one-minute window per key counted in Redis (shared by all workers); when
Redis is down each worker counts on its own (the limit then applies per worker).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from hybrid_ai.store import PREFIX, Store


def key_id(key: str) -> str:
    """A short, non-reversible id for a key: used in Redis keys and logs, never the key itself."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]


def parse_keys(text: str) -> frozenset[str]:
    keys = set()
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            keys.add(line)
    return frozenset(keys)


class ApiKeys:
    def __init__(self, path: str | None, *, recheck_s: float = 2.0) -> None:
        self.path = path
        self.recheck_s = recheck_s
        self._digests: frozenset[str] = frozenset()
        self._stamp: tuple[float, int] | None = None
        self._checked = 0.0
        self._lock = threading.Lock()
        self._reload()

    def _reload(self) -> None:
        try:
            st = os.stat(self.path) if self.path else None
        except OSError:
            st = None
        stamp = (st.st_mtime, st.st_size) if st else None
        if stamp == self._stamp and self._stamp is not None:
            return
        try:
            text = open(self.path, encoding="utf-8").read() if self.path and st else ""
        except OSError:
            text = ""
        self._digests = frozenset(hashlib.sha256(k.encode()).hexdigest() for k in parse_keys(text))
        self._stamp = stamp

    @property
    def count(self) -> int:
        self._maybe_reload()
        return len(self._digests)

    def _maybe_reload(self) -> None:
        now = time.monotonic()
        if now - self._checked >= self.recheck_s:
            with self._lock:
                self._checked = now
                self._reload()

    def check(self, headers: Mapping[str, str]) -> tuple[str | None, str]:
        """(key id, "") when the request carries a valid key, else (None, what to fix)."""
        self._maybe_reload()
        auth = headers.get("Authorization") or ""
        scheme, _, token = auth.partition(" ")
        if not auth:
            return None, "missing API key: send 'Authorization: Bearer <key>'"
        if scheme.lower() != "bearer" or not token.strip():
            return None, "malformed Authorization header: use 'Authorization: Bearer <key>'"
        token = token.strip()
        digest = hashlib.sha256(token.encode()).hexdigest()
        ok = False
        for known in self._digests:  # compare against every key: no early exit on a match
            ok |= hmac.compare_digest(known, digest)
        if not ok:
            return None, "invalid API key"
        return key_id(token), ""


class RateLimiter:
    def __init__(self, store: Store, per_minute: int) -> None:
        self.store = store
        self.per_minute = per_minute
        self._local: dict[tuple[str, int], int] = {}
        self._lock = threading.Lock()

    def hit(self, kid: str, now: float | None = None) -> tuple[bool, int]:
        """(allowed, seconds until the window resets)."""
        allowed, retry_after, _, _ = self.check(kid, [], now)
        return allowed, retry_after

    def check(
        self, kid: str, extra: list[Callable[[Any], Any]], now: float | None = None
    ) -> tuple[bool, int, list[Any], bool]:
        """Count one request and run `extra` commands in the same Redis round trip (the cache
        lookup rides along). Returns (allowed, retry_after, extra results, Redis answered)."""
        now = time.time() if now is None else now
        window = int(now // 60)
        retry_after = max(1, 60 - int(now % 60))
        limited = self.per_minute > 0
        key = f"{PREFIX}rl:{kid}:{window}"
        if not limited and not extra:
            return True, 0, [], True

        def run(r: Any) -> list[Any]:
            pipe = r.pipeline(transaction=False)
            if limited:
                pipe.incr(key)
                pipe.expire(key, 120)
            for command in extra:
                command(pipe)
            return pipe.execute()

        results, ok = self.store.run(run, [])
        if not limited:
            return True, 0, results, ok
        if ok:
            count = int(results[0])
            results = results[2:]
        else:
            with self._lock:
                for old in [k for k in self._local if k[1] < window]:
                    del self._local[old]
                count = self._local.get((kid, window), 0) + 1
                self._local[(kid, window)] = count
        return count <= self.per_minute, retry_after, results, ok
