"""The adaptive router at scale: a refit on 10,000 labels (wall time), and the decision time and
resident memory of a gateway process that loads the model it produced.

Labels are the simulate files' prompts (every set in the folder, cycled with a request number so
that n-grams keep growing as real traffic's would) with their true qualities.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

from hybrid_ai.router import adaptive, simdata

PROBE = """
import json, sys, time, resource
def rss():
    return int(open('/proc/self/statm').read().split()[1]) * 4096 / 2**20
from hybrid_ai.router import adaptive
adaptive.AdaptiveRouter().score('warm up the shipped model and the feature tables')
before = rss()
model = adaptive.Model.from_blob(open(sys.argv[1]).read())
prompts = [json.loads(l)['prompt'] for l in open(sys.argv[2])][:3000]
times = []
for p in prompts:
    t0 = time.perf_counter(); model.score(p); times.append((time.perf_counter() - t0) * 1000)
times.sort()
print(json.dumps({'rss_added_mb': round(rss() - before, 1), 'p50_ms': round(times[len(times)//2], 3),
                  'p99_ms': round(times[int(len(times)*0.99)], 3), 'max_ms': round(times[-1], 3), 'n': len(times)}))
"""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("folder")
    ap.add_argument("--labels", type=int, default=10_000)
    args = ap.parse_args()
    rows = []
    for path in sorted(Path(args.folder).glob("*.jsonl")):
        rows.extend(simdata.read(path))
    if not rows:
        print(f"no simulate files in {args.folder}", file=sys.stderr)
        return 2
    examples = [
        adaptive.Example(
            f"{rows[i % len(rows)]['prompt']} (request {i})",
            None,
            rows[i % len(rows)]["local"],
            rows[i % len(rows)]["cloud"],
        )
        for i in range(args.labels)
    ]
    t0 = time.monotonic()
    model, _ = adaptive.fit(examples)
    fit_s = time.monotonic() - t0
    blob = model.to_blob()
    out = Path(args.folder).parent / "adaptive-model.b64"
    out.write_text(blob)
    allp = Path(args.folder).parent / "all-prompts.jsonl"
    allp.write_text("".join(__import__("json").dumps({"prompt": r["prompt"]}) + "\n" for r in rows))
    print(
        f"refit on {len(examples)} labels: {fit_s:.1f} s (5-fold choice of the shipped weight, then the fit); "
        f"model {len(blob) / 1e6:.2f} MB as text"
    )
    probe = subprocess.run(
        [sys.executable, "-c", PROBE, str(out), str(allp)], capture_output=True, text=True, check=True
    )
    print(f"decision with that model, in a fresh process: {probe.stdout.strip()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
