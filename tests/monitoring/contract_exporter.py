"""A real prometheus_client exporter in multiprocess mode that emits the gateway's metric contract.

Used by the dashboard tests while no gateway process is available to them: the main process serves
/metrics (MultiProcessCollector over PROMETHEUS_MULTIPROC_DIR, exactly like the gateway under
gunicorn); POST /traffic runs a burst of requests in a separate worker process, so counters are
aggregated across processes as they are in production.
Usage: python contract_exporter.py PORT MULTIPROC_DIR
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from wsgiref.simple_server import WSGIRequestHandler, make_server

# Traffic shape: (model, backend, status, seconds, tokens in, tokens out, cost, cloud-equivalent cost)
BURST = [
    ("tinyllama", "ollama", "ok", 0.4, 40, 60, 0.0, 0.00102),
    ("tinyllama", "ollama", "ok", 0.6, 35, 80, 0.0, 0.001305),
    ("phi-2", "ollama", "ok", 1.2, 120, 200, 0.0, 0.00336),
    ("claude-sonnet-4-5", "anthropic", "ok", 2.5, 400, 600, 0.0102, 0.0102),
    ("claude-sonnet-4-5", "anthropic", "error", 0.1, 0, 0, 0.0, 0.0),
]


_METRICS: dict = {}


def _metrics() -> dict:
    """Create the metrics once; a forked worker reuses them and writes its own per-pid files."""
    if _METRICS:
        return _METRICS
    from prometheus_client import Counter, Gauge, Histogram

    _METRICS.update(
        {
            "requests": Counter("api_gateway_requests_total", "Requests", ["model", "backend", "status"]),
            "duration": Histogram("api_gateway_request_duration_seconds", "Latency", ["backend"]),
            "cost": Counter("api_gateway_cost_total", "USD spent", ["model"]),
            "cloud_eq": Counter("api_gateway_cloud_equivalent_cost_total", "USD on cloud", ["model"]),
            "cache": Counter("api_gateway_cache_total", "Cache lookups", ["result"]),
            "tokens": Counter("api_gateway_tokens_total", "Tokens", ["model", "direction"]),
            "fallbacks": Counter("api_gateway_fallbacks_total", "Fallbacks", ["from_model", "to_model", "reason"]),
            "complexity": Histogram(
                "api_gateway_complexity", "Complexity", buckets=(0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
            ),
            "backend_up": Gauge("api_gateway_backend_up", "Backend up", ["backend"], multiprocess_mode="livesum"),
            "spent": Gauge("api_gateway_budget_spent_usd", "Spent this month", multiprocess_mode="max"),
            "budget": Gauge("api_gateway_monthly_budget_usd", "Monthly budget", multiprocess_mode="max"),
        }
    )
    return _METRICS


def _burst(rounds: int) -> None:
    m = _metrics()
    spent = 0.0
    for i in range(rounds):
        for model, backend, status, secs, tin, tout, cost, cloud in BURST:
            m["requests"].labels(model, backend, status).inc()
            m["duration"].labels(backend).observe(secs)
            m["cost"].labels(model).inc(cost)
            m["cloud_eq"].labels(model).inc(cloud)
            m["tokens"].labels(model, "in").inc(tin)
            m["tokens"].labels(model, "out").inc(tout)
            m["complexity"].observe(min(1.0, secs / 3))
            m["cache"].labels("hit" if i % 3 == 0 else "miss").inc()
            spent += cost
        m["fallbacks"].labels("phi-2", "claude-sonnet-4-5", "timeout").inc()
    m["spent"].set(spent)


def main() -> None:
    port, mpdir = int(sys.argv[1]), sys.argv[2]
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = mpdir
    from prometheus_client import CollectorRegistry, generate_latest, multiprocess

    m = _metrics()
    m["backend_up"].labels("ollama").set(1)
    m["backend_up"].labels("anthropic").set(1)
    m["budget"].set(40)
    m["spent"].set(0)
    ctx = multiprocessing.get_context("fork")

    def app(environ, start_response):
        path, method = environ["PATH_INFO"], environ["REQUEST_METHOD"]
        if path == "/metrics":
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
            body = generate_latest(registry)
            start_response("200 OK", [("Content-Type", "text/plain; version=0.0.4")])
            return [body]
        if path == "/traffic" and method == "POST":
            worker = ctx.Process(target=_burst, args=(10,))
            worker.start()
            worker.join(30)
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [b"ok\n"]
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found\n"]

    class Quiet(WSGIRequestHandler):
        def log_message(self, *args):
            pass

    make_server("127.0.0.1", port, app, handler_class=Quiet).serve_forever()


if __name__ == "__main__":
    main()
