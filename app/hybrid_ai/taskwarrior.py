"""Routing decisions as Taskwarrior tasks, written in batches off the request path, and
`tw_cost_report`, which sums them by model for a month.

Each decision is one completed task: project vps_ai.router, tag routing, description
"route <request id> -> <model>", UDAs model, backend, complexity, cost, cloudcost, reqid,
tokensin, tokensout. A background thread per worker imports batches with `task import`; the
queue is bounded and never blocks: if `task` is slow or missing, records are dropped (counted
and logged), never the request.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import queue
import subprocess
import threading
import time
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from hybrid_ai.background import LazyThread

log = logging.getLogger(__name__)
PROJECT = "vps_ai.router"
TAG = "routing"

# name -> (type, label): the taskwarrior role renders taskrc_snippet() into the service's taskrc.
UDAS: dict[str, tuple[str, str]] = {
    "model": ("string", "Model"),
    "backend": ("string", "Backend"),
    "complexity": ("numeric", "Complexity"),
    "cost": ("numeric", "Cost USD"),
    "cloudcost": ("numeric", "Cloud USD"),
    "reqid": ("string", "Request"),
    "tokensin": ("numeric", "Tokens in"),
    "tokensout": ("numeric", "Tokens out"),
}


def taskrc_snippet() -> str:
    lines = ["# Hybrid AI gateway: routing decision records"]
    for name, (kind, label) in UDAS.items():
        lines += [f"uda.{name}.type={kind}", f"uda.{name}.label={label}"]
    lines += ["confirmation=off", "verbose=nothing", "json.array=on", ""]
    return "\n".join(lines)


TASKRC_UDAS = taskrc_snippet()


def _tw_date(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y%m%dT%H%M%SZ")


def record(
    request_id: str,
    model: str,
    backend: str,
    complexity: float,
    cost: float,
    cloudcost: float,
    tokens_in: int,
    tokens_out: int,
    when: float | None = None,
) -> dict[str, Any]:
    """The JSON `task import` takes for one decision."""
    stamp = _tw_date(time.time() if when is None else when)
    return {
        "uuid": str(uuid.uuid4()),
        "description": f"route {request_id} -> {model}",
        "project": PROJECT,
        "tags": [TAG],
        "status": "completed",
        "entry": stamp,
        "end": stamp,
        "model": model,
        "backend": backend,
        # Strings keep full precision: a JSON number is rounded to 6 decimals by `task import`.
        "complexity": f"{float(complexity):.4f}",
        "cost": f"{float(cost):.12f}",
        "cloudcost": f"{float(cloudcost):.12f}",
        "reqid": request_id,
        "tokensin": int(tokens_in),
        "tokensout": int(tokens_out),
    }


def _env(taskrc: str, data_dir: str) -> dict[str, str]:
    return {**os.environ, "TASKRC": taskrc, "TASKDATA": data_dir}


def ensure_taskrc(taskrc: str, data_dir: str) -> None:
    """Create a taskrc with the UDAs when none exists (the role normally renders it)."""
    os.makedirs(data_dir, exist_ok=True)
    if not os.path.exists(taskrc):
        os.makedirs(os.path.dirname(os.path.abspath(taskrc)), exist_ok=True)
        with open(taskrc, "w", encoding="utf-8") as fh:
            fh.write(f"data.location={data_dir}\n" + TASKRC_UDAS)


def import_batch(tasks: Sequence[Mapping[str, Any]], taskrc: str, data_dir: str, timeout_s: float = 30.0) -> None:
    subprocess.run(
        ["task", "rc.confirmation=off", "rc.verbose=nothing", "rc.hooks=off", "import"],
        input=json.dumps(list(tasks)),
        text=True,
        env=_env(taskrc, data_dir),
        capture_output=True,
        check=True,
        timeout=timeout_s,
    )


class TaskWriter:
    """A bounded queue drained by one daemon thread per process (started lazily, after fork)."""

    def __init__(
        self, taskrc: str, data_dir: str, batch_size: int = 50, flush_interval_s: float = 5.0, max_queue: int = 10000
    ) -> None:
        self.taskrc = taskrc
        self.data_dir = data_dir
        self.batch_size = batch_size
        self.flush_interval_s = flush_interval_s
        self.queue: queue.Queue[dict[str, Any]] = queue.Queue(maxsize=max_queue)
        self.dropped = 0
        self.written = 0
        self.failures = 0
        self._worker = LazyThread(self._loop, "taskwarrior-writer")
        self._stop = threading.Event()

    def submit(self, task: dict[str, Any]) -> None:
        self._worker.ensure()
        try:
            self.queue.put_nowait(task)
        except queue.Full:
            self.dropped += 1

    def _take_batch(self, deadline_s: float) -> list[dict[str, Any]]:
        batch: list[dict[str, Any]] = []
        end = time.monotonic() + deadline_s
        while len(batch) < self.batch_size:
            remaining = end - time.monotonic()
            if remaining <= 0 or (self._stop.is_set() and self.queue.empty()):
                break
            try:
                batch.append(self.queue.get(timeout=min(remaining, 0.5)))
            except queue.Empty:
                continue
        return batch

    def _loop(self) -> None:
        try:
            ensure_taskrc(self.taskrc, self.data_dir)
        except OSError as exc:
            log.warning("taskwarrior: cannot prepare %s: %s", self.data_dir, exc)
        while not (self._stop.is_set() and self.queue.empty()):
            batch = self._take_batch(self.flush_interval_s)
            if batch:
                self._write(batch)

    def _write(self, batch: list[dict[str, Any]]) -> None:
        try:
            import_batch(batch, self.taskrc, self.data_dir)
            self.written += len(batch)
        except (OSError, subprocess.SubprocessError) as exc:
            self.failures += 1
            self.dropped += len(batch)
            detail = getattr(exc, "stderr", "") or exc
            log.warning("taskwarrior: dropped %d records: %s", len(batch), str(detail)[:200])

    def close(self, timeout_s: float = 10.0) -> None:
        """Flush what is queued (used at worker exit and by tests)."""
        self._stop.set()
        self._worker.join(timeout_s)


# ---- tw_cost_report ---------------------------------------------------------------------


def _month_bounds(month: str) -> tuple[str, str]:
    try:
        start = datetime.strptime(month, "%Y-%m")
    except ValueError:
        raise SystemExit(f"--month must be YYYY-MM, got {month!r}") from None
    nxt = datetime(start.year + (start.month == 12), start.month % 12 + 1, 1)
    return start.strftime("%Y-%m-%dT00:00:00Z"), nxt.strftime("%Y-%m-%dT00:00:00Z")


def export(month: str, taskrc: str, data_dir: str) -> list[dict[str, Any]]:
    after, before = _month_bounds(month)
    out = subprocess.run(
        [
            "task",
            "rc.confirmation=off",
            "rc.verbose=nothing",
            "rc.hooks=off",
            "rc.json.array=on",
            f"project:{PROJECT}",
            f"+{TAG}",
            "status:completed",
            f"end.after:{after}",
            f"end.before:{before}",
            "export",
        ],
        env=_env(taskrc, data_dir),
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    return json.loads(out or "[]")


def summarise(tasks: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    by_model: dict[str, dict[str, Any]] = {}
    for t in tasks:
        m = by_model.setdefault(
            str(t.get("model", "?")),
            {"requests": 0, "tokens_in": 0, "tokens_out": 0, "cost_usd": 0.0, "cloud_equivalent_usd": 0.0},
        )
        m["requests"] += 1
        m["tokens_in"] += int(float(t.get("tokensin", 0) or 0))
        m["tokens_out"] += int(float(t.get("tokensout", 0) or 0))
        m["cost_usd"] += float(t.get("cost", 0) or 0)
        m["cloud_equivalent_usd"] += float(t.get("cloudcost", 0) or 0)
    total = {"requests": 0, "tokens_in": 0, "tokens_out": 0, "cost_usd": 0.0, "cloud_equivalent_usd": 0.0}
    for m in by_model.values():
        m["savings_usd"] = m["cloud_equivalent_usd"] - m["cost_usd"]
        for k in total:
            total[k] += m[k]
    total["savings_usd"] = total["cloud_equivalent_usd"] - total["cost_usd"]
    return {"by_model": dict(sorted(by_model.items())), "total": total}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--month", default=datetime.now(UTC).strftime("%Y-%m"), help="YYYY-MM (default: this month)")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument("--config", help="gateway config file (its taskwarrior section); default $HYBRID_AI_CONFIG")
    parser.add_argument("--taskrc", help="taskrc (default: config, else $TASKRC, else ~/.taskrc)")
    parser.add_argument("--data-dir", help="task data dir (default: config, else $TASKDATA, else ~/.task)")


def _locations(args: argparse.Namespace) -> tuple[str, str]:
    taskrc, data_dir = args.taskrc, args.data_dir
    cfg_path = args.config or os.environ.get("HYBRID_AI_CONFIG")
    if (not taskrc or not data_dir) and cfg_path and os.path.exists(cfg_path):
        import yaml

        with open(cfg_path, encoding="utf-8") as fh:
            section = (yaml.safe_load(fh) or {}).get("taskwarrior") or {}
        taskrc = taskrc or section.get("taskrc")
        data_dir = data_dir or section.get("data_dir")
    home = os.path.expanduser("~")
    return (
        taskrc or os.environ.get("TASKRC") or os.path.join(home, ".taskrc"),
        data_dir or os.environ.get("TASKDATA") or os.path.join(home, ".task"),
    )


def run(args: argparse.Namespace) -> int:
    taskrc, data_dir = _locations(args)
    try:
        tasks = export(args.month, taskrc, data_dir)
    except FileNotFoundError:
        print("tw_cost_report: the `task` command is not installed", flush=True)
        return 2
    except subprocess.CalledProcessError as exc:
        print(f"tw_cost_report: task export failed: {exc.stderr.strip()[:300]}")
        return 2
    report = summarise(tasks)
    report["month"] = args.month
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"Routing cost for {args.month} (from Taskwarrior, project {PROJECT})")
    header = (
        f"{'model':<22}{'requests':>10}{'tokens in':>12}{'tokens out':>12}{'cost $':>12}{'cloud $':>12}{'saved $':>12}"
    )
    print(header)
    print("-" * len(header))
    rows = [*report["by_model"].items(), ("TOTAL", report["total"])]
    for name, m in rows:
        if name == "TOTAL":
            print("-" * len(header))
        print(
            f"{name:<22}{m['requests']:>10}{m['tokens_in']:>12}{m['tokens_out']:>12}"
            f"{m['cost_usd']:>12.6f}{m['cloud_equivalent_usd']:>12.6f}{m['savings_usd']:>12.6f}"
        )
    return 0


def report_main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tw_cost_report", description="Cost by model for a month from Taskwarrior")
    add_arguments(parser)
    return run(parser.parse_args(argv))
