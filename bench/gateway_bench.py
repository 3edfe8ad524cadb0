"""Gateway benchmarks (figures printed, not pass/fail tests).

Everything runs in one process tree, against the same upstream, in one run, so the figures are
ratios on the same machine at the same moment:

1. The upstream alone: `wrk` straight to a fast OpenAI-compatible upstream
   (bench/fast_upstream.py: a fixed answer, so the gateway's own cost is what is measured).
2. Routed through the gateway, cache bypassed (`model: auto`: the router scores the prompt and
   the ladder sends it to the local rung, i.e. that upstream), at c=8 and c=32.
3. Cache hits through the gateway (`POST /api/v1/chat` of a primed prompt), at c=32.
4. Added latency, sequential: the same request straight to the upstream and through the
   gateway, interleaved; added = client time through the gateway - the upstream time the
   gateway itself measured (X-Upstream-Ms), and the paired difference of client times.
5. Server CPU per request (gateway workers + Redis, from /proc) for 2 and 3, and the load
   average before and after.

Targets (issue: 2 cores): routed >= 1,200 req/s, cache hits >= 3,000 req/s, added latency
p50 <= 1 ms and p99 <= 3 ms, server CPU <= 1.5 ms per routed request, 0 errors.
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
from tests.servers import RedisServer, free_port  # noqa: E402

BIN = Path(sys.executable).parent
KEY = "bench-key"
ROUTED = {"model": "auto", "messages": [{"role": "user", "content": "Say OK"}], "max_tokens": 8}
CACHED = {"prompt": "What is the capital of France?", "max_tokens": 8}


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


def write_config(tmp: Path, redis_port: int, upstream_url: str) -> Path:
    (tmp / "keys").write_text(KEY + "\n")
    cfg = {
        "tier": 1,
        "router": "heuristic",
        "ladder": [{"model": "tinyllama", "max_complexity": 0.3}, {"model": "cloud"}],
        "models": {"tinyllama": {"engine": "openai", "url": upstream_url, "upstream_model": "bench", "timeout_s": 60}},
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


def added_latency(gw_url: str, upstream_url: str, n: int, max_s: float) -> dict[str, float]:
    gw_headers = {"Authorization": f"Bearer {KEY}", "X-Cache-Bypass": "1"}
    direct, through, inside = [], [], []
    end = time.monotonic() + max_s
    with httpx.Client(timeout=60) as d, httpx.Client(timeout=60, headers=gw_headers) as g:
        for i in range(n + 20):  # the first 20 of each warm up connections
            if time.monotonic() > end:
                break
            t0 = time.perf_counter()
            r1 = d.post(upstream_url + "/chat/completions", json=ROUTED)
            t1 = time.perf_counter()
            r2 = g.post(gw_url + "/v1/chat/completions", json=ROUTED)
            t2 = time.perf_counter()
            if r1.status_code != 200 or r2.status_code != 200:
                raise SystemExit(f"latency run failed: {r1.status_code} {r2.status_code} {r2.text[:200]}")
            if r2.headers.get("X-Cache") != "bypass" or r2.headers.get("X-Model") != "tinyllama":
                raise SystemExit(f"latency run not routed to the upstream: {dict(r2.headers)}")
            if i >= 20:
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


WRK_DONE = (
    "done = function(summary, latency, requests)\n"
    '  io.write(string.format("JSON {\\"requests\\": %d, \\"seconds\\": %f, \\"non2xx\\": %d, '
    '\\"connect\\": %d, \\"read\\": %d, \\"write\\": %d, \\"timeout\\": %d, \\"p50_us\\": %d, '
    '\\"p99_us\\": %d}\\n", summary.requests, summary.duration / 1e6, summary.errors.status, '
    "summary.errors.connect, summary.errors.read, summary.errors.write, summary.errors.timeout, "
    "latency:percentile(50), latency:percentile(99)))\n"
    "end\n"
)


def wrk(
    url: str, body: dict, headers: dict[str, str], seconds: int, connections: int, tmp: Path, pids: list[int]
) -> dict[str, float]:
    """One wrk run (1 thread: the load generator shares the two cores) with server CPU per request."""
    exe = shutil.which("wrk")
    if not exe:
        raise SystemExit("wrk not found: run make setup (scripts/host-prereqs.sh installs it)")
    script = tmp / "post.lua"
    lines = ['wrk.method = "POST"', f"wrk.body = {json.dumps(json.dumps(body))}"]
    lines += [
        f"wrk.headers[{json.dumps(k)}] = {json.dumps(v)}"
        for k, v in {"Content-Type": "application/json", **headers}.items()
    ]
    script.write_text("\n".join(lines) + "\n" + WRK_DONE)
    cpu0 = cpu_seconds(pids)
    argv = [exe, "-t", "1", "-c", str(connections), "-d", f"{seconds}s", "--timeout", "5s", "-s", str(script), url]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 30, check=True)
    line = next(ln for ln in out.stdout.splitlines() if ln.startswith("JSON "))
    res = json.loads(line[5:])
    res["server_cpu_ms_per_request"] = (cpu_seconds(pids) - cpu0) * 1000 / max(1, res["requests"])
    res["rps"] = res["requests"] / res["seconds"]
    res["errors"] = res["non2xx"] + res["connect"] + res["read"] + res["write"] + res["timeout"]
    return res


def prime_cache(gw_url: str) -> None:
    headers = {"Authorization": f"Bearer {KEY}"}
    with httpx.Client(timeout=60, headers=headers) as c:
        c.post(gw_url + "/api/v1/chat", json=CACHED).raise_for_status()
        end = time.monotonic() + 10  # the cache write runs after the reply: wait for it
        while time.monotonic() < end:
            if c.post(gw_url + "/api/v1/chat", json=CACHED).json()["cached"] is True:
                return
            time.sleep(0.05)
    raise SystemExit("cache was not primed")


# A sample is counted under the innermost frame that belongs to one of these (first match per
# frame): so a socket write inside the Redis client counts as Redis, JSON inside Flask as JSON.
LIBRARIES = (
    ("(prometheus_client/", "Prometheus metrics (multiprocess files)"),
    ("(redis/", "Redis client (round trips, parsing)"),
    ("(urllib3/", "upstream client (urllib3, http.client)"),
    ("(http/client.py", "upstream client (urllib3, http.client)"),
    ("(hybrid_ai/providers/", "upstream client (urllib3, http.client)"),
    ("(json/", "JSON encode/decode"),
    ("(hybrid_ai/router/", "routing (score, features)"),
    ("(logging/", "logging"),
    ("(flask/", "Flask/Werkzeug request handling"),
    ("(werkzeug/", "Flask/Werkzeug request handling"),
    ("(gunicorn/", "gunicorn (accept, HTTP parsing, writes)"),
    ("(hybrid_ai/", "gateway code (validation, routing plan, records)"),
)
STDLIB = (
    ("(socket.py", "sockets and selectors"),
    ("(selectors.py", "sockets and selectors"),
    ("(threading.py", "threads (pool, locks)"),
    ("(concurrent/", "threads (pool, locks)"),
    ("(queue.py", "threads (pool, locks)"),
)


def category(frames: list[str]) -> str:
    for table in (LIBRARIES, STDLIB):
        for frame in reversed(frames):
            for key, label in table:
                if key in frame:
                    return label
    return "other (interpreter, C calls)"


def profile(gw_url: str, master_pid: int, seconds: int, tmp: Path, cached: bool = False) -> None:
    """Sample the gateway workers with py-spy under load (routed, or cache hits); print where the
    CPU goes."""
    spy = shutil.which("py-spy") or str(BIN / "py-spy")
    if not Path(spy).exists():
        raise SystemExit("py-spy not found: it is in requirements/dev.lock (make setup)")
    out = tmp / f"profile-{'cached' if cached else 'routed'}.txt"
    rec = subprocess.Popen(
        [
            spy,
            "record",
            "--pid",
            str(master_pid),
            "--subprocesses",
            "--nonblocking",
            "--gil",  # only samples that hold the GIL: CPU spent in Python, not waits
            "-r",
            "250",
            "-d",
            str(seconds),
            "-f",
            "raw",
            "-o",
            str(out),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(1)
    auth = {"Authorization": f"Bearer {KEY}"}
    if cached:
        res = wrk(gw_url + "/api/v1/chat", CACHED, auth, max(1, seconds - 2), 8, tmp, [master_pid])
    else:
        auth["X-Cache-Bypass"] = "1"
        res = wrk(gw_url + "/v1/chat/completions", ROUTED, auth, max(1, seconds - 2), 8, tmp, [master_pid])
    rec.wait(seconds + 30)
    self_cost: dict[str, int] = {}
    total = 0
    for row in out.read_text().splitlines():
        stack, _, count = row.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = stack.split(";")
        if any("gunicorn/arbiter.py" in f for f in frames[:3]) and len(frames) < 6:
            continue  # the master's own loop
        name = category(frames)
        self_cost[name] = self_cost.get(name, 0) + int(count)
        total += int(count)
    what = "cache hits" if cached else "routed, cache bypassed"
    print(f"profile: py-spy at 250 Hz on every worker, {what} (c=8, {res['rps']:.0f} req/s) for {seconds - 2} s")
    print(f"  {total} samples; share of the workers' CPU by component (innermost frame of a listed library):")
    for name, n in sorted(self_cost.items(), key=lambda kv: -kv[1]):
        print(f"  {n / total:6.1%}  {name}")


def line(name: str, r: dict[str, float], cpu: bool = True) -> str:
    text = (
        f"  {name:<34} {r['rps']:>8.0f} req/s  p50 {r['p50_us'] / 1000:6.2f} ms  p99 {r['p99_us'] / 1000:6.2f} ms  "
        f"errors {r['errors']}"
    )
    return text + (f"  server CPU {r['server_cpu_ms_per_request']:.3f} ms/req" if cpu else "")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", type=int, default=500, help="added latency: sequential request pairs (default 500)")
    ap.add_argument("--seconds", type=int, default=8, help="each wrk run's duration (default 8)")
    ap.add_argument("--workers", type=int, default=2, help="gateway workers (default 2, one per core)")
    ap.add_argument("--threads", type=int, default=None, help="threads per worker (default: hybrid-ai serve's)")
    ap.add_argument("--profile", type=int, default=0, metavar="S", help="also sample the workers with py-spy for S s")
    ap.add_argument("--keep", action="store_true", help="keep the temporary dir (server logs, raw profiles)")
    args = ap.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="gateway-bench-"))
    procs = Procs(tmp)
    redis = None
    load0 = os.getloadavg()
    try:
        redis = RedisServer(tmp / "redis").start()
        up_port, gw_port = free_port(), free_port()
        upstream_url = f"http://127.0.0.1:{up_port}/v1"
        upstream = procs.start(
            "upstream", [sys.executable, str(ROOT / "bench" / "fast_upstream.py"), "--port", str(up_port)]
        )
        wait(upstream_url + "/models", 30)
        cfg = write_config(tmp, redis.port, upstream_url)
        env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
        gw_url = f"http://127.0.0.1:{gw_port}"
        serve = [str(BIN / "hybrid-ai"), "serve", "--config", str(cfg), "--bind", f"127.0.0.1:{gw_port}"]
        serve += ["--workers", str(args.workers)] + (["--threads", str(args.threads)] if args.threads else [])
        gateway = procs.start("gateway", serve, env)
        wait(gw_url + "/health", 60)
        server = [gateway.pid, redis.pid]
        auth = {"Authorization": f"Bearer {KEY}"}

        lat = added_latency(gw_url, upstream_url, args.pairs, max_s=120)
        results: dict[str, dict[str, float]] = {}
        for c in (8, 32):
            results[f"upstream_c{c}"] = wrk(
                upstream_url + "/chat/completions", ROUTED, {}, args.seconds, c, tmp, [upstream.pid]
            )
            results[f"routed_c{c}"] = wrk(
                gw_url + "/v1/chat/completions", ROUTED, {**auth, "X-Cache-Bypass": "1"}, args.seconds, c, tmp, server
            )
        prime_cache(gw_url)
        results["cache_hit_c32"] = wrk(gw_url + "/api/v1/chat", CACHED, auth, args.seconds, 32, tmp, server)
        load1 = os.getloadavg()

        threads = args.threads or "default"
        print(f"gateway benchmark: {args.workers} workers x {threads} threads, real Redis, fast upstream, wrk 1 thread")
        print(f"  load average before {load0[0]:.2f}, after {load1[0]:.2f} (1-minute)")
        for c in (8, 32):
            print(line(f"upstream alone, c={c}", results[f"upstream_c{c}"], cpu=False))
            r = results[f"routed_c{c}"]
            ratio = r["rps"] / results[f"upstream_c{c}"]["rps"]
            print(line(f"routed, cache bypassed, c={c}", r) + f"  ({ratio:.1%} of the upstream alone)")
        print(line("cache hits, c=32", results["cache_hit_c32"]))
        print(
            f"  added latency over {lat['pairs']} sequential pairs: p50 {lat['added_p50_ms']:.3f} ms, "
            f"p99 {lat['added_p99_ms']:.3f} ms (client time - upstream time the gateway saw); paired difference "
            f"p50 {lat['added_paired_p50_ms']:.3f} ms, p99 {lat['added_paired_p99_ms']:.3f} ms"
        )
        print(
            "  targets: routed >= 1200 req/s, cache hits >= 3000 req/s, added p50 <= 1 ms / p99 <= 3 ms, "
            "server CPU <= 1.5 ms per routed request, 0 errors"
        )
        if args.profile:
            profile(gw_url, gateway.pid, args.profile, tmp)
            profile(gw_url, gateway.pid, args.profile, tmp, cached=True)
        print("BENCH_JSON " + json.dumps({"latency": lat, "wrk": results, "load": [load0[0], load1[0]]}))
        return 0
    finally:
        procs.stop_all()
        if redis is not None:
            redis.stop()
        if args.keep:
            print(f"kept: {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
