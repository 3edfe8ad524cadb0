"""Exact-match answer cache in Redis: key = hash of the normalised request + the chosen model.

A hit costs 0 and is counted. Bypass per request with `Cache-Control: no-cache` (or no-store)
or `X-Cache-Bypass: 1`. Redis down: every lookup is a miss ("error"), the request is served.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from hybrid_ai.store import PREFIX, Store

HIT, MISS, BYPASS, ERROR = "hit", "miss", "bypass", "error"


def _norm(text: str | None) -> str:
    return " ".join((text or "").split())


def cache_key(
    model: str, messages: Sequence[Mapping[str, str]], system: str | None, max_tokens: int, temperature: float | None
) -> str:
    """Whitespace-normalised messages, system prompt, generation settings and the model."""
    payload = {
        "m": model,
        "s": _norm(system),
        "msg": [[m["role"], _norm(m["content"])] for m in messages],
        "max": max_tokens,
        "t": temperature,
    }
    blob = json.dumps(payload, separators=(",", ":"), ensure_ascii=False, sort_keys=True)
    return PREFIX + "cache:" + hashlib.sha256(blob.encode("utf-8")).hexdigest()


def wants_bypass(headers: Mapping[str, str]) -> bool:
    cc = (headers.get("Cache-Control") or "").lower()
    flag = (headers.get("X-Cache-Bypass") or "").strip().lower()
    return "no-cache" in cc or "no-store" in cc or flag in ("1", "true", "yes")


class AnswerCache:
    def __init__(self, store: Store, ttl_s: int) -> None:
        self.store = store
        self.ttl_s = ttl_s

    def get(self, key: str) -> tuple[dict[str, Any] | None, str]:
        raw, ok = self.store.run(lambda r: r.get(key), None)
        return self.decode(raw) if ok else (None, ERROR)

    @staticmethod
    def decode(raw: str | None) -> tuple[dict[str, Any] | None, str]:
        if raw is None:
            return None, MISS
        try:
            value = json.loads(raw)
        except ValueError:
            return None, MISS
        return (value, HIT) if isinstance(value, dict) else (None, MISS)

    def put(self, key: str, value: Mapping[str, Any]) -> bool:
        return self.store.run(self.put_command(key, value), False)[1]

    def put_command(self, key: str, value: Mapping[str, Any]) -> Callable[[Any], Any]:
        """The SET as a callable on a client or pipeline (batched with the request's bookkeeping)."""
        blob = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
        return lambda r: r.set(key, blob, ex=self.ttl_s)
