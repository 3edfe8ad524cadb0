"""The gateway beside a peer: LiteLLM's proxy on the same fast upstream, the same load, one run.

LiteLLM (a widely used LLM proxy) is installed from PyPI into its own throw-away venv under
the cache (`--venv`, made once; nothing of it is imported here or shipped). Both proxies get
2 worker processes and forward to bench/fast_upstream.py; wrk drives each at c=8 and c=32
(the gateway's requests are routed, cache bypassed) and the ratio is printed.

    make bench-peer          # or: python bench/peer_bench.py --seconds 8
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))
import gateway_bench as gb  # noqa: E402

from tests.servers import RedisServer, free_port  # noqa: E402

LITELLM = "litellm[proxy]==1.106.12"  # the newest whose proxy extra resolves from PyPI here
MASTER_KEY = "sk-" + secrets.token_hex(32)


def litellm_venv(path: Path) -> Path:
    exe = path / "bin" / "litellm"
    stamp = path / ".installed"
    if exe.exists() and stamp.exists() and stamp.read_text() == LITELLM:
        return exe
    print(f"==> installing {LITELLM} into {path} (a throw-away venv, about a minute, once)", flush=True)
    shutil.rmtree(path, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", str(path)], check=True)
    pip = [str(path / "bin" / "pip"), "install", "-q", "--disable-pip-version-check", LITELLM]
    subprocess.run(pip, check=True, timeout=900)
    stamp.write_text(LITELLM)
    return exe


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=int, default=8, help="each wrk run's duration (default 8)")
    ap.add_argument("--workers", type=int, default=2, help="worker processes for each proxy (default 2)")
    ap.add_argument("--venv", default=str(ROOT / ".cache" / "peer" / "litellm"), help="LiteLLM's own venv")
    args = ap.parse_args(argv)
    exe = litellm_venv(Path(args.venv))
    tmp = Path(tempfile.mkdtemp(prefix="peer-bench-"))
    procs = gb.Procs(tmp)
    redis = None
    load0 = os.getloadavg()
    try:
        redis = RedisServer(tmp / "redis").start()
        up_port, gw_port, ll_port = free_port(), free_port(), free_port()
        upstream_url = f"http://127.0.0.1:{up_port}/v1"
        procs.start("upstream", [sys.executable, str(ROOT / "bench" / "fast_upstream.py"), "--port", str(up_port)])
        gb.wait(upstream_url + "/models", 30)

        cfg = gb.write_config(tmp, redis.port, upstream_url)
        env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
        gw_url = f"http://127.0.0.1:{gw_port}"
        serve = [str(gb.BIN / "hybrid-ai"), "serve", "--config", str(cfg), "--bind", f"127.0.0.1:{gw_port}"]
        gateway = procs.start("gateway", [*serve, "--workers", str(args.workers)], env)

        ll_cfg = tmp / "litellm.yml"
        ll_cfg.write_text(
            yaml.safe_dump(
                {
                    "model_list": [
                        {
                            "model_name": "bench",
                            "litellm_params": {
                                "model": "openai/bench",
                                "api_base": upstream_url,
                                "api_key": "sk-bench",
                            },
                        }
                    ],
                    "litellm_settings": {"telemetry": False},
                    # it refuses to start without a key; both proxies then check one per request
                    "general_settings": {"master_key": MASTER_KEY},
                }
            )
        )
        # the model price list is read from the package (it would otherwise be fetched at start)
        ll_env = {**env, "LITELLM_LOCAL_MODEL_COST_MAP": "True", "LITELLM_LOG": "ERROR"}
        ll_argv = [str(exe), "--config", str(ll_cfg), "--host", "127.0.0.1", "--port", str(ll_port)]
        litellm = procs.start("litellm", [*ll_argv, "--num_workers", str(args.workers)], ll_env)
        ll_url = f"http://127.0.0.1:{ll_port}"
        gb.wait(gw_url + "/health", 60)
        gb.wait(ll_url + "/health/liveliness", 180)

        auth = {"Authorization": f"Bearer {gb.KEY}", "X-Cache-Bypass": "1"}
        ll_body = {**gb.ROUTED, "model": "bench"}
        ll_auth = {"Authorization": f"Bearer {MASTER_KEY}"}
        results: dict[str, dict[str, float]] = {}
        # warm-up (discarded): lazy imports and first connections of both proxies
        gb.wrk(gw_url + "/v1/chat/completions", gb.ROUTED, auth, 2, 8, tmp, [gateway.pid])
        gb.wrk(ll_url + "/v1/chat/completions", ll_body, ll_auth, 2, 8, tmp, [litellm.pid])
        for c in (8, 32):
            results[f"gateway_c{c}"] = gb.wrk(
                gw_url + "/v1/chat/completions", gb.ROUTED, auth, args.seconds, c, tmp, [gateway.pid, redis.pid]
            )
            results[f"litellm_c{c}"] = gb.wrk(
                ll_url + "/v1/chat/completions",
                ll_body,
                {"Authorization": f"Bearer {MASTER_KEY}"},
                args.seconds,
                c,
                tmp,
                [litellm.pid],
            )
        load1 = os.getloadavg()
        print(f"peer benchmark: {args.workers} workers each, the same fast upstream, wrk 1 thread, {LITELLM}")
        print(f"  load average before {load0[0]:.2f}, after {load1[0]:.2f} (1-minute)")
        for c in (8, 32):
            g, p = results[f"gateway_c{c}"], results[f"litellm_c{c}"]
            print(gb.line(f"hybrid-ai gateway (routed), c={c}", g))
            print(gb.line(f"LiteLLM proxy, c={c}", p))
            print(f"  ratio gateway / LiteLLM at c={c}: {g['rps'] / max(p['rps'], 1e-9):.1f}x requests/s")
        print("BENCH_JSON " + json.dumps({"wrk": results, "load": [load0[0], load1[0]], "peer": LITELLM}))
        return 0
    finally:
        procs.stop_all()
        if redis is not None:
            redis.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
