"""Prometheus metrics, correct across gunicorn workers (prometheus_client multiprocess mode).

`hybrid-ai serve` sets PROMETHEUS_MULTIPROC_DIR (wiped at start) before any worker imports
prometheus_client; /metrics then sums every worker's files. Without that variable (a single
process, e.g. tests with Flask's client) the default registry is used.
"""

from __future__ import annotations

import os
import threading
from typing import Any

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, float("inf"))
COMPLEXITY_BUCKETS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, float("inf"))


class Metrics:
    def __init__(self) -> None:
        from prometheus_client import Counter, Gauge, Histogram

        self.requests = Counter(
            "api_gateway_requests_total",
            "Requests answered, by model, backend and HTTP status",
            ["model", "backend", "status"],
        )
        self.duration = Histogram(
            "api_gateway_request_duration_seconds", "Request latency by backend", ["backend"], buckets=LATENCY_BUCKETS
        )
        self.cost = Counter("api_gateway_cost_total", "USD actually spent, by model", ["model"])
        self.cloud_equivalent = Counter(
            "api_gateway_cloud_equivalent_cost_total", "USD the same tokens would cost on the cloud model", ["model"]
        )
        self.cache = Counter("api_gateway_cache_total", "Cache lookups by result", ["result"])
        self.tokens = Counter("api_gateway_tokens_total", "Tokens by model and direction", ["model", "direction"])
        self.fallbacks = Counter(
            "api_gateway_fallbacks_total", "Fallbacks and escalations", ["from_model", "to_model", "reason"]
        )
        self.complexity = Histogram("api_gateway_complexity", "Router scores", buckets=COMPLEXITY_BUCKETS)
        self.backend_up = Gauge(
            "api_gateway_backend_up",
            "1 when a backend answered its last call",
            ["backend"],
            multiprocess_mode="livesum",
        )
        self.replica_up = Gauge(
            "api_gateway_replica_up",
            "1 when a model replica is in rotation (0 when any worker has taken it out)",
            ["model", "replica"],
            multiprocess_mode="livemin",
        )
        self.replica_requests = Counter(
            "api_gateway_replica_requests_total",
            "Calls to each model replica by result",
            ["model", "replica", "result"],
        )
        self.replica_latency = Histogram(
            "api_gateway_replica_latency_seconds",
            "Answered calls to each model replica",
            ["model", "replica"],
            buckets=LATENCY_BUCKETS,
        )
        self.budget_spent = Gauge(
            "api_gateway_budget_spent_usd", "Cloud USD spent this month", multiprocess_mode="mostrecent"
        )
        self.monthly_budget = Gauge("api_gateway_monthly_budget_usd", "Monthly cloud budget", multiprocess_mode="max")
        self.shadow = Counter(
            "api_gateway_shadow_judgements_total",
            "Shadow judgements by outcome (calls, labels, failures, skipped_budget, skipped_busy)",
            ["result"],
        )
        self.shadow_cost = Counter(
            "api_gateway_shadow_cost_usd_total", "USD spent on shadow judgements (apart from users' spend)"
        )


_lock = threading.Lock()
_metrics: Metrics | None = None


def get() -> Metrics:
    """The process's metrics (created once: the default registry refuses duplicates)."""
    global _metrics
    with _lock:
        if _metrics is None:
            _metrics = Metrics()
        return _metrics


def render() -> tuple[bytes, str]:
    from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest

    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry: Any = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    return generate_latest(registry), CONTENT_TYPE_LATEST


def render_quality(report: dict[str, Any]) -> bytes:
    """The fleet-wide quality figures (read from Redis at scrape time, the same from every
    gateway: dashboards take max() over gateways, not sum)."""
    from prometheus_client import CollectorRegistry, generate_latest
    from prometheus_client.core import GaugeMetricFamily

    class _Quality:
        def collect(self) -> Any:
            est = report.get("estimate") or {}
            gauges = {
                "api_gateway_quality_ratio": ("Routed quality / cloud-only quality, as the labels measure it", "ratio"),
                "api_gateway_quality_ratio_low": ("Lower end of the quality ratio's 95% interval", "low"),
                "api_gateway_quality_ratio_high": ("Upper end of the quality ratio's 95% interval", "high"),
                "api_gateway_quality_labels": ("Labels behind the quality estimate", "labels"),
                "api_gateway_quality_local_share": (
                    "Share of labelled requests kept local at the thresholds",
                    "local_share",
                ),
            }
            for name, (doc, key) in gauges.items():
                if est.get(key) is not None:
                    yield GaugeMetricFamily(name, doc, value=float(est[key]))
            if report.get("target") is not None:
                yield GaugeMetricFamily(
                    "api_gateway_quality_target", "The quality target", value=float(report["target"])
                )
            labels = GaugeMetricFamily("api_gateway_labels", "Routing labels stored, by source", labels=["source"])
            for source, count in sorted((report.get("labels_by_source") or {}).items()):
                labels.add_metric([source], float(count))
            yield labels
            sh = report.get("shadow") or {}
            yield GaugeMetricFamily(
                "api_gateway_shadow_spent_today_usd",
                "Shadow-judgement USD reserved or spent today (UTC)",
                value=float(sh.get("spent_today_usd", 0.0)),
            )
            yield GaugeMetricFamily(
                "api_gateway_shadow_daily_budget_usd",
                "Shadow-judgement daily budget",
                value=float(sh.get("daily_budget_usd", 0.0) if sh.get("enabled") else 0.0),
            )
            info = GaugeMetricFamily(
                "api_gateway_router_model", "The live router model (1)", labels=["router", "version"]
            )
            info.add_metric([str(report.get("router")), str(report.get("model_version"))], 1.0)
            yield info

    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Quality())
    return generate_latest(registry)


def prepare_multiproc_dir(path: str) -> None:
    """Create the directory and wipe files of a previous run (stale values would be summed)."""
    os.makedirs(path, exist_ok=True)
    for name in os.listdir(path):
        if name.endswith(".db"):
            os.unlink(os.path.join(path, name))


def mark_process_dead(pid: int) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)
