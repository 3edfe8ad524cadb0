"""Gateway benchmarks (figures printed, not pass/fail tests).

1. Overhead: the same requests sent straight to a local upstream (llama.cpp's server) and
   through the gateway (cache bypassed), interleaved in one run. Added latency is reported two
   ways: the paired difference of client-side latencies, and client-side latency through the
   gateway minus the upstream time the gateway itself measured (X-Upstream-Ms), which removes
   the model's own jitter. Targets: p50 <= 1 ms, p99 <= 5 ms.
2. Cache-hit throughput: `hybrid-ai serve` (gunicorn) with real Redis under `wrk` (a C load
   generator, so the client is not the bottleneck). Target >= 1500 requests/s, zero errors.

Everything binds to 127.0.0.1 on free ports and is stopped by PID. Loops are bounded.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.servers import MODEL, LlamaServer, RedisServer, free_port  # noqa: E402

BIN = Path(sys.executable).parent
KEY = "bench-key"


def wait(url: str, timeout: float, headers: dict[str, str] | None = None) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            if httpx.get(url, timeout=1, headers=headers).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"not ready: {url}")


class Procs:
    def __init__(self, logdir: Path) -> None:
        self.logdir = logdir
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        log = open(self.logdir / f"{name}.log", "wb")
        p = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        self.procs.append(p)
        return p

    def stop_all(self) -> None:
        for p in reversed(self.procs):
            if p.poll() is None:
                os.kill(p.pid, signal.SIGTERM)
                try:
                    p.wait(15)
                except subprocess.TimeoutExpired:
                    os.kill(p.pid, signal.SIGKILL)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def write_config(tmp: Path, redis_port: int, llama_url: str) -> Path:
    (tmp / "keys").write_text(KEY + "\n")
    cfg = {
        "tier": 1,
        "router": "heuristic",
        "ladder": [{"model": "tinyllama", "max_complexity": 0.3}, {"model": "cloud"}],
        "models": {"tinyllama": {"engine": "openai", "url": llama_url, "upstream_model": "gemma", "timeout_s": 60}},
        "cloud": {"model": "claude-sonnet-4-6", "input_usd_per_mtok": 3.0, "output_usd_per_mtok": 15.0},
        "redis": {"url": f"redis://127.0.0.1:{redis_port}/0", "cache_ttl_s": 3600},
        "auth": {"api_keys_file": str(tmp / "keys")},
        "limits": {
            "max_prompt_chars": 32000,
            "max_tokens_cap": 256,
            "rate_limit_per_minute": 10_000_000,
            "request_timeout_s": 60,
        },
        "taskwarrior": {"enabled": False},
        "metrics": {"multiproc_dir": str(tmp / "metrics")},
    }
    path = tmp / "gateway.yml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def overhead(gw_url: str, llama_url: str, n: int, max_s: float) -> dict[str, float]:
    body = {"model": "gemma", "messages": [{"role": "user", "content": "Say OK"}], "max_tokens": 1, "temperature": 0}
    gw_body = {**body, "model": "tinyllama"}
    gw_headers = {"Authorization": f"Bearer {KEY}", "X-Cache-Bypass": "1"}
    direct, through, inside = [], [], []
    end = time.monotonic() + max_s
    with httpx.Client(timeout=60) as d, httpx.Client(timeout=60, headers=gw_headers) as g:
        for i in range(n + 10):  # the first 10 of each warm up connections and the prompt cache
            if time.monotonic() > end:
                break
            t0 = time.perf_counter()
            r1 = d.post(llama_url + "/chat/completions", json=body)
            t1 = time.perf_counter()
            r2 = g.post(gw_url + "/v1/chat/completions", json=gw_body)
            t2 = time.perf_counter()
            if r1.status_code != 200 or r2.status_code != 200:
                raise SystemExit(f"overhead run failed: {r1.status_code} {r2.status_code} {r2.text[:200]}")
            if i >= 10:
                direct.append((t1 - t0) * 1000)
                through.append((t2 - t1) * 1000)
                inside.append((t2 - t1) * 1000 - float(r2.headers["X-Upstream-Ms"]))
    diffs = [b - a for a, b in zip(direct, through, strict=True)]
    return {
        "pairs": len(diffs),
        "direct_p50_ms": statistics.median(direct),
        "gateway_p50_ms": statistics.median(through),
        "added_paired_p50_ms": pct(diffs, 50),
        "added_paired_p99_ms": pct(diffs, 99),
        "added_p50_ms": pct(inside, 50),
        "added_p99_ms": pct(inside, 99),
    }


def cpu_seconds(pids: list[int]) -> float:
    """user+system CPU time of these processes and their children (gunicorn master -> workers)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    todo = list(pids)
    seen: set[int] = set()
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        except OSError:
            continue
        todo.extend(int(c) for c in children)
    return total


def throughput(gw_url: str, seconds: int, connections: int, tmp: Path, pids: list[int]) -> dict[str, float]:
    wrk = shutil.which("wrk")
    if not wrk:
        raise SystemExit("wrk not found: run scripts/host-prereqs.sh (it installs wrk)")
    body = json.dumps({"prompt": "What is the capital of France?", "max_tokens": 8})
    with httpx.Client(timeout=60) as c:  # prime the cache
        r = c.post(
            gw_url + "/api/v1/chat",
            content=body,
            headers={"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"},
        )
        r.raise_for_status()
        r = c.post(
            gw_url + "/api/v1/chat",
            content=body,
            headers={"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"},
        )
        assert r.json()["cached"] is True, r.text
    script = tmp / "post.lua"
    script.write_text(
        'wrk.method = "POST"\n'
        f"wrk.body = {json.dumps(body)}\n"
        'wrk.headers["Content-Type"] = "application/json"\n'
        f'wrk.headers["Authorization"] = "Bearer {KEY}"\n'
        "done = function(summary, latency, requests)\n"
        '  io.write(string.format("JSON {\\"requests\\": %d, \\"seconds\\": %f, \\"non2xx\\": %d, '
        '\\"connect\\": %d, \\"read\\": %d, \\"write\\": %d, \\"timeout\\": %d, \\"p50_us\\": %d, '
        '\\"p99_us\\": %d}\\n", summary.requests, summary.duration / 1e6, summary.errors.status, '
        "summary.errors.connect, summary.errors.read, summary.errors.write, summary.errors.timeout, "
        "latency:percentile(50), latency:percentile(99)))\n"
        "end\n"
    )
    cpu0 = cpu_seconds(pids)
    out = subprocess.run(
        [
            wrk,
            "-t",
            "2",
            "-c",
            str(connections),
            "-d",
            f"{seconds}s",
            "--timeout",
            "5s",
            "-s",
            str(script),
            gw_url + "/api/v1/chat",
        ],
        capture_output=True,
        text=True,
        timeout=seconds + 30,
        check=True,
    )
    line = next(ln for ln in out.stdout.splitlines() if ln.startswith("JSON "))
    res = json.loads(line[5:])
    res["server_cpu_ms_per_request"] = (cpu_seconds(pids) - cpu0) * 1000 / max(1, res["requests"])
    res["rps"] = res["requests"] / res["seconds"]
    res["errors"] = res["non2xx"] + res["connect"] + res["read"] + res["write"] + res["timeout"]
    return res


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", type=int, default=300, help="overhead: request pairs (default 300)")
    ap.add_argument("--seconds", type=int, default=10, help="throughput: wrk duration (default 10)")
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--workers", type=int, default=2, help="gateway workers (default 2, one per core)")
    ap.add_argument("--threads", type=int, default=4, help="threads per worker (default 4)")
    args = ap.parse_args(argv)
    if not MODEL.is_file():
        raise SystemExit(f"model missing: {MODEL} (make setup)")
    tmp = Path(tempfile.mkdtemp(prefix="gateway-bench-"))
    procs = Procs(tmp)
    redis = llama = None
    try:
        redis = RedisServer(tmp / "redis").start()
        llama = LlamaServer(tmp / "llama", n_threads=None, n_ctx=2048).start()
        redis_port, llama_url, gw_port = redis.port, llama.url, free_port()
        cfg = write_config(tmp, redis_port, llama_url)
        env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
        gw_url = f"http://127.0.0.1:{gw_port}"
        gateway = procs.start(
            "gateway",
            [
                str(BIN / "hybrid-ai"),
                "serve",
                "--config",
                str(cfg),
                "--bind",
                f"127.0.0.1:{gw_port}",
                "--workers",
                str(args.workers),
                "--threads",
                str(args.threads),
            ],
            env,
        )
        wait(gw_url + "/health", 60)

        o = overhead(gw_url, llama_url, args.pairs, max_s=240)
        print(f"gateway overhead over {o['pairs']} request pairs (llama.cpp upstream, max_tokens=1, cache bypassed):")
        print(f"  direct p50 {o['direct_p50_ms']:.2f} ms, through the gateway p50 {o['gateway_p50_ms']:.2f} ms")
        print(
            f"  added latency (client time - upstream time seen by the gateway): "
            f"p50 {o['added_p50_ms']:.3f} ms, p99 {o['added_p99_ms']:.3f} ms   (targets 1 / 5 ms)"
        )
        print(
            f"  added latency (paired difference, includes model jitter):       "
            f"p50 {o['added_paired_p50_ms']:.3f} ms, p99 {o['added_paired_p99_ms']:.3f} ms"
        )

        t = throughput(gw_url, args.seconds, args.connections, tmp, [gateway.pid, redis.pid])
        print(
            f"cache-hit throughput ({args.workers} workers x {args.threads} threads, real Redis, "
            f"wrk {args.connections} connections, {t['seconds']:.1f} s):"
        )
        print(
            f"  {t['rps']:.0f} requests/s, {t['requests']} requests, {t['errors']} errors, "
            f"p50 {t['p50_us'] / 1000:.2f} ms, p99 {t['p99_us'] / 1000:.2f} ms   (target >= 1500 req/s, 0 errors)"
        )
        cpu = t["server_cpu_ms_per_request"]
        print(
            f"  server CPU (gateway workers + Redis) {cpu:.3f} ms per request -> at most "
            f"{2000 / cpu:.0f} req/s on 2 idle cores; load average now {os.getloadavg()[0]:.1f}"
        )
        print("BENCH_JSON " + json.dumps({"overhead": o, "throughput": t}))
        return 0
    finally:
        procs.stop_all()
        for server in (llama, redis):
            if server is not None:
                server.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
