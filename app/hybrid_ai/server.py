"""`hybrid-ai serve`: the gateway under gunicorn, in the foreground (systemd runs it as is).

The config is validated in the master before any worker starts, so a bad file stops the
service with a clear message. PROMETHEUS_MULTIPROC_DIR is prepared (wiped) before workers
import prometheus_client, and each dead worker is marked so its live gauges disappear.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from typing import Any


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", help="gateway config (default $HYBRID_AI_CONFIG, else /etc/hybrid-ai/gateway.yml)")
    parser.add_argument("--bind", default="127.0.0.1:8080", help="HOST:PORT (default 127.0.0.1:8080)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes (default 2)")
    parser.add_argument("--threads", type=int, default=8, help="threads per worker (default 8)")
    parser.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    parser.add_argument("--access-log", action="store_true", help="log every request (off by default: hot path)")


def _bind(value: str) -> str:
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"--bind must be HOST:PORT, got {value!r}")
    return value


def run(args: argparse.Namespace) -> int:
    from hybrid_ai import config, metrics

    try:
        bind = _bind(args.bind)
        if args.workers < 1 or args.threads < 1:
            raise ValueError("--workers and --threads must be at least 1")
        cfg = config.load(args.config)
    except (ValueError, config.ConfigError) as exc:
        print(f"hybrid-ai serve: {exc}", file=sys.stderr)
        return 2
    mp_dir = cfg["metrics"]["multiproc_dir"] or tempfile.mkdtemp(prefix="hybrid-ai-metrics-")
    try:
        metrics.prepare_multiproc_dir(mp_dir)
    except OSError as exc:
        print(f"hybrid-ai serve: metrics.multiproc_dir {mp_dir}: {exc.strerror}", file=sys.stderr)
        return 2
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = mp_dir

    from gunicorn.app.base import BaseApplication

    class GatewayApp(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            timeout = int(float(cfg["limits"]["request_timeout_s"])) + 30
            settings: dict[str, Any] = {
                "bind": [bind],
                "workers": args.workers,
                "threads": args.threads,
                "worker_class": "gthread",
                "timeout": timeout,
                "graceful_timeout": 30,
                "keepalive": 5,
                "loglevel": args.log_level,
                "accesslog": "-" if args.access_log else None,
                "errorlog": "-",
                "proc_name": "hybrid-ai-gateway",
                "child_exit": _child_exit,
                "worker_exit": _worker_exit,
                "post_fork": _post_fork,
            }
            for key, value in settings.items():
                self.cfg.set(key, value)

        def load(self) -> Any:
            from hybrid_ai.web import create_app

            return create_app(cfg)

    GatewayApp().run()
    return 0


def _post_fork(server: Any, worker: Any) -> None:
    import logging

    logging.basicConfig(level=server.cfg.loglevel.upper(), format="%(asctime)s %(process)d %(name)s %(message)s")


def _child_exit(server: Any, worker: Any) -> None:
    from hybrid_ai.metrics import mark_process_dead

    mark_process_dead(worker.pid)


def _worker_exit(server: Any, worker: Any) -> None:
    """Flush queued Taskwarrior records and stats before a worker goes."""
    app = getattr(worker, "wsgi", None)
    gateway = getattr(app, "extensions", {}).get("hybrid_ai") if app is not None else None
    if gateway is not None:
        gateway.stats.flush()
        gateway.close()
