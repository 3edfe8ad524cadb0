"""One ladder model served by several model servers (replicas): `models.<name>.url` as a list.

Each request goes to the healthy replica with the fewest requests in flight from this worker
(least outstanding requests; ties go round-robin), so a slow or busy replica gets less. Health:
  * passive: a replica that cannot be reached, times out or answers 5xx is taken out for
    EJECT_S seconds; a request that could not reach its replica (nothing was sent, or the
    connection broke before an answer) is tried on the next one at once, so a replica that
    dies loses no request that another replica can answer;
  * active: a background thread per worker probes every replica each PROBE_S seconds and puts
    one back as soon as it answers (and takes out one that stopped answering).
When every replica is out, requests still try them (the earliest to come back first), and the
rung fails over as before. /health lists each replica with its state, requests in flight and
latency; /metrics has api_gateway_replica_up, api_gateway_replica_requests_total and
api_gateway_replica_latency_seconds by model and replica.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from hybrid_ai.background import LazyThread
from hybrid_ai.providers import ERROR, TIMEOUT, UNREACHABLE, ChatInput, Completion, Delta, ProviderError

log = logging.getLogger(__name__)
EJECT_S = 10.0
PROBE_S = 2.0
RETRY_ON = frozenset({UNREACHABLE})  # nothing usable came back: safe to send again elsewhere
EJECT_ON = frozenset({UNREACHABLE, TIMEOUT, ERROR})
CANCELLED = "cancelled"  # a stream its reader closed early: not the replica's fault


@dataclass
class Replica:
    url: str
    engine: Any
    outstanding: int = 0
    down_until: float = 0.0
    up: bool = True
    requests: int = 0
    failures: int = 0
    latency_ms: float = 0.0  # moving average of answered calls

    def available(self, now: float) -> bool:
        return self.up or now >= self.down_until


class ReplicatedEngine:
    """The Provider interface over several engines of one class, one per URL."""

    def __init__(
        self,
        name: str,
        engines: list[Any],
        metrics: Any = None,
        clock: Callable[[], float] = time.monotonic,
        probe_s: float = PROBE_S,
    ) -> None:
        self.name = name
        self.backend = engines[0].backend
        self.upstream_model = engines[0].upstream_model
        self.replicas = [Replica(e.url, e) for e in engines]
        self.metrics = metrics
        self.clock = clock
        self.probe_s = probe_s
        self._lock = threading.Lock()
        self._rr = itertools.count()
        self._prober = LazyThread(self._probe_loop, f"replica-probe-{name}")
        self._closed = threading.Event()
        if metrics is not None:
            for r in self.replicas:
                metrics.replica_up.labels(name, r.url).set(1)

    # ---- choosing ---------------------------------------------------------------------------

    def order(self) -> list[Replica]:
        """Replicas in the order to try: available ones by fewest in flight (round-robin among
        equals), then the ones taken out, the earliest to come back first."""
        self._prober.ensure()
        now = self.clock()
        start = next(self._rr)
        n = len(self.replicas)
        with self._lock:
            ring = [self.replicas[(start + i) % n] for i in range(n)]
            ready = sorted((r for r in ring if r.available(now)), key=lambda r: r.outstanding)
            out = sorted((r for r in ring if not r.available(now)), key=lambda r: r.down_until)
        return ready + out

    def _begin(self, r: Replica) -> None:
        with self._lock:
            r.outstanding += 1

    def _end(self, r: Replica, ok: bool, elapsed_ms: float, reason: str | None = None) -> None:
        with self._lock:
            r.outstanding -= 1
            r.requests += 1
            if ok:
                r.latency_ms = elapsed_ms if r.latency_ms == 0 else 0.8 * r.latency_ms + 0.2 * elapsed_ms
                if not r.up or r.down_until:  # back from being taken out (no metric write otherwise)
                    self._set_up(r, True)
            elif reason in EJECT_ON:
                r.failures += 1
                r.down_until = self.clock() + EJECT_S
                self._set_up(r, False)
        if self.metrics is not None:
            self.metrics.replica_requests.labels(self.name, r.url, "ok" if ok else (reason or "error")).inc()
            if ok:
                self.metrics.replica_latency.labels(self.name, r.url).observe(elapsed_ms / 1000)

    def _failed(self, r: Replica, err: ProviderError) -> bool:
        """Count a failed call before any answer; True when the next replica may be tried."""
        self._end(r, False, 0.0, err.reason)
        return err.reason in RETRY_ON

    def _set_up(self, r: Replica, up: bool) -> None:
        r.up = up
        if up:
            r.down_until = 0.0
        if self.metrics is not None:
            self.metrics.replica_up.labels(self.name, r.url).set(1 if up else 0)

    # ---- the Provider interface -------------------------------------------------------------

    def complete(self, req: ChatInput) -> Completion:
        last: ProviderError | None = None
        for r in self.order():
            self._begin(r)
            started = time.perf_counter()
            try:
                result: Completion = r.engine.complete(req)
            except ProviderError as err:
                if self._failed(r, err):
                    last = err
                    continue
                raise
            self._end(r, True, (time.perf_counter() - started) * 1000)
            return result
        assert last is not None
        raise last

    def stream(self, req: ChatInput) -> Iterator[Delta]:
        """Fails over to the next replica until the first piece has arrived (as the rungs do)."""
        last: ProviderError | None = None
        for r in self.order():
            self._begin(r)
            started = time.perf_counter()
            gen = r.engine.stream(req)
            try:
                first = next(gen)
            except StopIteration:
                self._end(r, True, (time.perf_counter() - started) * 1000)
                return
            except ProviderError as err:
                gen.close()
                if self._failed(r, err):
                    last = err
                    continue
                raise
            ok, reason = False, CANCELLED  # the reader may stop early (a client that went away)
            try:
                yield first
                yield from gen
                ok = True
            except ProviderError as err:
                reason = err.reason
                raise
            finally:
                gen.close()
                self._end(r, ok, (time.perf_counter() - started) * 1000, None if ok else reason)
            return
        assert last is not None
        raise last

    def ping(self) -> bool:
        """Probe every replica now (updates their state); True when any answers."""
        return any([self._probe(r) for r in self.replicas])

    def _probe(self, r: Replica) -> bool:
        up = bool(r.engine.ping())
        with self._lock:
            if up != r.up or (up and r.down_until):
                self._set_up(r, up)
            if not up:
                r.down_until = max(r.down_until, self.clock() + self.probe_s)
        return up

    def _probe_loop(self) -> None:
        while not self._closed.wait(self.probe_s):
            for r in self.replicas:
                try:
                    self._probe(r)
                except Exception:  # a probe must never end the thread
                    log.exception("probe of %s replica %s failed", self.name, r.url)

    def health(self) -> list[dict[str, Any]]:
        now = self.clock()
        with self._lock:
            return [
                {
                    "url": r.url,
                    "up": r.up,
                    "taken_out_for_s": round(max(0.0, r.down_until - now), 1) if not r.up else 0.0,
                    "in_flight": r.outstanding,
                    "requests": r.requests,
                    "failures": r.failures,
                    "latency_ms": round(r.latency_ms, 3),
                }
                for r in self.replicas
            ]

    def close(self) -> None:
        self._closed.set()
        for r in self.replicas:
            r.engine.close()
