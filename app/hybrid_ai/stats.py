"""Usage statistics shared by every worker and kept across restarts: counters live in Redis
(hashes under hai:stats:, no TTL), so any worker answers /api/v1/stats with the same figures.

Redis down: each worker keeps its increments in memory and adds them to Redis as soon as it is
back (nothing is lost unless the worker dies first); meanwhile /api/v1/stats reports that
worker's unsynced figures with "complete": false. The monthly cloud spend used for the budget
is the last value read from Redis plus this worker's unsynced cloud spend.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from hybrid_ai.background import LazyThread
from hybrid_ai.store import PREFIX, Store

TOTAL = PREFIX + "stats:total"
MODELS = PREFIX + "stats:models"
INT_FIELDS = ("requests", "tokens_in", "tokens_out", "cache_hits", "cache_misses", "cache_bypass", "degraded")
FLOAT_FIELDS = ("cost_usd", "cloud_equivalent_usd")


def model_key(model: str) -> str:
    return f"{PREFIX}stats:model:{model}"


def month_key(month: str) -> str:
    return f"{PREFIX}stats:month:{month}"


def this_month(now: float | None = None) -> str:
    return datetime.fromtimestamp(now or time.time(), UTC).strftime("%Y-%m")


class Stats:
    def __init__(self, store: Store, clock: Callable[[], float] = time.time, batch_s: float = 0.02) -> None:
        self.store = store
        self.clock = clock
        self._lock = threading.Lock()
        self._pending: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
        self._known_month_cost: dict[str, float] = {}
        self._extra: list[Callable[[Any], Any]] = []
        self._flushing = threading.Lock()
        self.batch_s = batch_s
        self._last_flush = 0.0
        # a daemon thread per worker writes what a busy moment left pending (every batch_s)
        self._flusher = LazyThread(self._flush_loop, "stats-flush")

    def record(
        self,
        model: str,
        *,
        tokens_in: int,
        tokens_out: int,
        cost_usd: float,
        cloud_equivalent_usd: float,
        cache: str,
        degraded: bool,
        cloud_cost_usd: float,
        extra: list[Callable[[Any], Any]] | None = None,
        urgent: bool = False,
    ) -> None:
        """Count one answered request (model = who answered; cache = hit|miss|bypass|error).

        `extra` adds commands to the same Redis pipeline (one round trip for all bookkeeping).
        Under load, records are written at most every `batch_s` per worker (a busy worker sends
        one pipeline for many requests); `urgent` (a cache write) is sent at once."""
        delta = {
            "requests": 1,
            "tokens_in": tokens_in,
            "tokens_out": tokens_out,
            "cost_usd": cost_usd,
            "cloud_equivalent_usd": cloud_equivalent_usd,
            "cache_hits": 1 if cache == "hit" else 0,
            "cache_misses": 1 if cache in ("miss", "error") else 0,
            "cache_bypass": 1 if cache == "bypass" else 0,
            "degraded": 1 if degraded else 0,
        }
        with self._lock:
            for key in (TOTAL, model_key(model)):
                for name, value in delta.items():
                    if value:
                        self._pending[key][name] += value
            self._pending[MODELS]["+" + model] = 1
            if cloud_cost_usd:
                self._pending[month_key(this_month(self.clock()))]["cloud_cost_usd"] += cloud_cost_usd
            if extra:
                self._extra.extend(extra)
        now = time.monotonic()
        if urgent or now - self._last_flush >= self.batch_s:
            self.flush(wait=False)
        else:
            self._flusher.ensure()

    def _flush_loop(self) -> None:
        while True:
            time.sleep(self.batch_s)
            if self._pending or self._extra:
                self.flush(wait=True)

    def flush(self, wait: bool = True) -> bool:
        """Write what is pending in one pipeline. Group commit: when another thread of this worker
        is already writing, wait=False leaves the new items to it (it loops until nothing is
        left), so under load many requests share one Redis round trip."""
        while True:
            if not self._flushing.acquire(blocking=wait):
                return True
            try:
                ok = self._flush_once()
            finally:
                self._flushing.release()
            if not ok:
                return False
            with self._lock:
                if not self._pending and not self._extra:
                    return True

    def _flush_once(self) -> bool:
        self._last_flush = time.monotonic()
        with self._lock:
            if not self._pending and not self._extra:
                return True
            pending, self._pending = self._pending, defaultdict(lambda: defaultdict(float))
            extra, self._extra = self._extra, []

        def write(r: Any) -> bool:
            pipe = r.pipeline(transaction=False)
            for command in extra:
                command(pipe)
            for key, fields in pending.items():
                for name, value in fields.items():
                    if key == MODELS:
                        pipe.sadd(MODELS, name[1:])
                    elif name in FLOAT_FIELDS or name == "cloud_cost_usd":
                        pipe.hincrbyfloat(key, name, value)
                    else:
                        pipe.hincrby(key, name, int(value))
            pipe.execute()
            return True

        _, ok = self.store.run(write, False)
        if not ok:  # put the counters back (merged with anything recorded meanwhile); drop the extras
            with self._lock:
                for key, fields in pending.items():
                    for name, value in fields.items():
                        if key == MODELS:
                            self._pending[key][name] = 1
                        else:
                            self._pending[key][name] += value
        return ok

    def month_cloud_cost(self, month: str | None = None) -> float:
        """Cloud USD spent this month by all workers (for the budget)."""
        month = month or this_month(self.clock())
        self.flush()
        raw, ok = self.store.run(lambda r: r.hget(month_key(month), "cloud_cost_usd"), None)
        if ok:
            self._known_month_cost[month] = float(raw or 0.0)
        with self._lock:
            unsynced = self._pending.get(month_key(month), {}).get("cloud_cost_usd", 0.0)
        return self._known_month_cost.get(month, 0.0) + unsynced

    def snapshot(self) -> dict[str, Any]:
        self.flush()

        def read(r: Any) -> tuple[dict[str, str], dict[str, dict[str, str]]]:
            models = sorted(r.smembers(MODELS))
            pipe = r.pipeline(transaction=False)
            pipe.hgetall(TOTAL)
            for m in models:
                pipe.hgetall(model_key(m))
            results = pipe.execute()
            return results[0], dict(zip(models, results[1:], strict=True))

        data, ok = self.store.run(read, None)
        if ok and data is not None:
            total, by_model = data
            complete = True
        else:
            with self._lock:
                total = {k: str(v) for k, v in self._pending.get(TOTAL, {}).items()}
                by_model = {
                    name[1:]: {k: str(v) for k, v in self._pending.get(model_key(name[1:]), {}).items()}
                    for name in self._pending.get(MODELS, {})
                }
            complete = False
        out = _shape(total)
        out["by_model"] = {m: _shape(v) for m, v in by_model.items()}
        out["complete"] = complete
        out["month"] = this_month(self.clock())
        out["month_cloud_cost_usd"] = round(self.month_cloud_cost(), 9)
        return out


def _shape(raw: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {name: int(float(raw.get(name, 0) or 0)) for name in INT_FIELDS}
    for name in FLOAT_FIELDS:
        out[name] = float(raw.get(name, 0) or 0)
    out["savings_usd"] = out["cloud_equivalent_usd"] - out["cost_usd"]
    out["savings_pct"] = (
        round(100.0 * out["savings_usd"] / out["cloud_equivalent_usd"], 2) if out["cloud_equivalent_usd"] else 0.0
    )
    looked_up = out["cache_hits"] + out["cache_misses"]
    out["cache_hit_rate"] = round(out["cache_hits"] / looked_up, 4) if looked_up else 0.0
    return out
