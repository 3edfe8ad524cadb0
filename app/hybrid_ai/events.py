"""Events posted to n8n webhooks (budget thresholds crossed, a backend went down), off the
request path: a bounded queue and one daemon thread per worker; a failed post is logged and
dropped. Each event fires once across all workers (a Redis SET NX marker; per worker when
Redis is down)."""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Mapping
from typing import Any

from hybrid_ai.background import LazyThread
from hybrid_ai.store import PREFIX, Store

log = logging.getLogger(__name__)
BUDGET_STEPS = (50, 80, 100)  # percent of the monthly budget
BACKEND_DOWN_REPEAT_S = 300


class Events:
    def __init__(self, webhooks: Mapping[str, str], store: Store | None, timeout_s: float = 3.0) -> None:
        self.webhooks = dict(webhooks)
        self.store = store
        self.timeout_s = timeout_s
        self.queue: queue.Queue[tuple[str, dict[str, Any]]] = queue.Queue(maxsize=1000)
        self.sent = 0
        self.failed = 0
        self._seen: dict[str, float] = {}
        self._worker = LazyThread(self._loop, "n8n-events")
        self._lock = threading.Lock()

    def _once(self, marker: str, ttl_s: int) -> bool:
        """True the first time `marker` is seen (across workers while Redis is up)."""
        now = time.time()
        if self.store is not None:
            value, ok = self.store.run(lambda r: r.set(PREFIX + "event:" + marker, "1", nx=True, ex=ttl_s), None)
            if ok:
                return bool(value)
        with self._lock:
            if self._seen.get(marker, 0) > now:
                return False
            self._seen[marker] = now + ttl_s
        return True

    def emit(self, kind: str, payload: dict[str, Any]) -> None:
        url = self.webhooks.get(kind)
        if not url:
            return
        self._worker.ensure()
        try:
            self.queue.put_nowait((url, {"event": kind, "time": int(time.time()), **payload}))
        except queue.Full:
            self.failed += 1

    def budget(self, spent: float, budget: float, month: str) -> None:
        if budget <= 0 or "budget" not in self.webhooks:
            return
        pct = 100.0 * spent / budget
        for step in BUDGET_STEPS:
            if pct >= step and self._once(f"budget:{month}:{step}", 40 * 86400):
                self.emit(
                    "budget",
                    {"threshold_pct": step, "spent_usd": round(spent, 6), "budget_usd": budget, "month": month},
                )

    def backend_down(self, model: str, backend: str, reason: str) -> None:
        if "backend_down" in self.webhooks and self._once(f"down:{model}", BACKEND_DOWN_REPEAT_S):
            self.emit("backend_down", {"model": model, "backend": backend, "reason": reason})

    def _loop(self) -> None:
        import httpx

        with httpx.Client(timeout=self.timeout_s) as client:
            while True:
                url, body = self.queue.get()
                try:
                    client.post(url, json=body).raise_for_status()
                    self.sent += 1
                except httpx.HTTPError as exc:
                    self.failed += 1
                    log.warning("n8n webhook %s failed: %s", body.get("event"), exc)
