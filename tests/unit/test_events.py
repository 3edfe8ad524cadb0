"""n8n events: which budget thresholds fire, once each; posting never blocks or raises."""

from __future__ import annotations

import time

from hybrid_ai.events import Events


def capture(events):
    sent = []
    events.emit = lambda kind, payload: sent.append((kind, payload))
    return sent


def test_budget_thresholds_fire_once_each():
    ev = Events({"budget": "http://127.0.0.1:9/hook"}, store=None)
    sent = capture(ev)
    ev.budget(10.0, 40.0, "2026-11")
    assert sent == []
    ev.budget(21.0, 40.0, "2026-11")
    assert [p["threshold_pct"] for _, p in sent] == [50]
    ev.budget(41.0, 40.0, "2026-11")
    assert [p["threshold_pct"] for _, p in sent] == [50, 80, 100]
    ev.budget(50.0, 40.0, "2026-11")
    assert len(sent) == 3
    ev.budget(21.0, 40.0, "2026-12")  # a new month starts over
    assert sent[-1][1] == {"threshold_pct": 50, "spent_usd": 21.0, "budget_usd": 40.0, "month": "2026-12"}


def test_no_webhook_no_event_and_backend_down_is_rate_limited():
    ev = Events({}, store=None)
    sent = capture(ev)
    ev.budget(100.0, 40.0, "2026-11")
    ev.backend_down("tinyllama", "ollama", "timeout")
    assert sent == []
    ev = Events({"backend_down": "http://127.0.0.1:9/hook"}, store=None)
    sent = capture(ev)
    ev.backend_down("tinyllama", "ollama", "timeout")
    ev.backend_down("tinyllama", "ollama", "timeout")
    ev.backend_down("phi-2", "ollama", "unreachable")
    assert [p["model"] for _, p in sent] == ["tinyllama", "phi-2"]


def test_failed_post_is_dropped_without_blocking():
    ev = Events({"backend_down": "http://127.0.0.1:9/hook"}, store=None, timeout_s=1)
    start = time.perf_counter()
    ev.backend_down("tinyllama", "ollama", "timeout")
    assert time.perf_counter() - start < 0.1
    end = time.monotonic() + 10
    while ev.failed == 0 and time.monotonic() < end:
        time.sleep(0.05)
    assert ev.failed == 1 and ev.sent == 0
