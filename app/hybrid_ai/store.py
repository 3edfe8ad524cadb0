"""The one Redis connection a worker uses, behind a breaker: when Redis is down, callers get
their fallback at once (no connect timeout per request) and Redis is retried a second later.

Keys (all under the `hai:` prefix; see docs/gateway.md):
  hai:cache:<sha256>          cached answers (TTL redis.cache_ttl_s)
  hai:stats:*                 shared counters (no TTL: they survive restarts)
  hai:rl:<key id>:<minute>    rate-limit windows (TTL 120 s)
  hai:decision:<request id>   routing decision records (TTL DECISION_TTL_S)
  hai:event:*                 once-only markers for n8n events
  hai:router:*                routing labels, the live adaptive-router model, quality estimate
  hai:shadow:*                shadow-judgement spend (per UTC day), counters, running jobs
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import redis

log = logging.getLogger(__name__)
T = TypeVar("T")
PREFIX = "hai:"


class Store:
    def __init__(self, url: str, password: str | None = None, *, retry_after_s: float = 1.0) -> None:
        self.url = url
        self.client = redis.Redis.from_url(
            url,
            password=password or None,
            socket_connect_timeout=0.25,
            socket_timeout=0.5,
            health_check_interval=0,
            decode_responses=True,
        )
        self.retry_after_s = retry_after_s
        self._down_until = 0.0
        self._lock = threading.Lock()
        self.on_change: Callable[[bool], None] | None = None
        self._up = True

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any]) -> Store:
        return cls(cfg["redis"]["url"], cfg["redis"].get("password"))

    @property
    def available(self) -> bool:
        return time.monotonic() >= self._down_until

    def _mark(self, up: bool) -> None:
        if up != self._up:
            self._up = up
            log.warning("redis %s", "back" if up else "unreachable: serving without cache, stats kept in memory")
            if self.on_change:
                self.on_change(up)

    def run(self, fn: Callable[[redis.Redis], T], fallback: T) -> tuple[T, bool]:
        """(fn(client), True), or (fallback, False) when Redis is down or fails."""
        if not self.available:
            return fallback, False
        try:
            value = fn(self.client)
        except (redis.RedisError, OSError) as exc:
            with self._lock:
                self._down_until = time.monotonic() + self.retry_after_s
            log.debug("redis call failed: %s", exc)
            self._mark(False)
            return fallback, False
        self._mark(True)
        return value, True

    def ping(self) -> bool:
        return self.run(lambda r: bool(r.ping()), False)[0]

    def close(self) -> None:
        self.client.close()


# Routing labels and the learning router's state (see hybrid_ai.labels, hybrid_ai.shadow,
# hybrid_ai.router.publish). Labels and models have no TTL: they are what the router learned.
LABELS = PREFIX + "router:labels"  # list of JSON labels, newest last (LABELS_MAX kept)
LABEL_SOURCES = PREFIX + "router:labels:sources"  # hash: source -> labels ever stored
ROUTER_MODEL = PREFIX + "router:model"  # the live adaptive-router state (zlib JSON)
ROUTER_PREVIOUS = PREFIX + "router:model:previous"  # the one it replaced (for rollback)
ROUTER_VERSION = PREFIX + "router:model:version"  # version string of the live state
ROUTER_QUALITY = PREFIX + "router:quality"  # JSON: the quality estimate of the last refit
SHADOW_STATS = PREFIX + "shadow:stats"  # hash: calls, labels, failures, skipped_*, cost_usd
SHADOW_INFLIGHT = PREFIX + "shadow:inflight"  # sorted set of running shadow jobs (leases)


def shadow_day_key(day: str) -> str:
    """USD reserved or spent by shadow judgements on a UTC day (YYYY-MM-DD)."""
    return f"{PREFIX}shadow:spend:{day}"
