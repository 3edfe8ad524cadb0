"""Learning curves of the adaptive router: `hybrid-ai router simulate` on every labelled set in a
folder (made by `hybrid-ai router sim-data`), K labels in (100, 300, 1000, 3000) where the set
has at least 150 requests left to score, five seeds each, clean and with 15% label noise.

Prints per set and K the mean APGR (with the seeds' range), the cloud share at the quality
target next to a random router's, how often the routed quality ratio kept the target, and the
shipped model's APGR on the same requests (the baseline of "no labels").
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

from hybrid_ai.router import simdata, simulate


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("folder", help="simulate files (*.jsonl)")
    ap.add_argument("--labels", default="100,300,1000,3000")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--quality-target", type=float, default=0.95)
    ap.add_argument("--noise", default="0,0.15")
    ap.add_argument("--json", default=None, help="also write every run's result here")
    args = ap.parse_args()
    files = sorted(Path(args.folder).glob("*.jsonl"))
    if not files:
        print(f"no *.jsonl in {args.folder}: make them with `hybrid-ai router sim-data`", file=sys.stderr)
        return 2
    ks = [int(k) for k in args.labels.split(",")]
    noises = [float(x) for x in args.noise.split(",")]
    runs = []
    head = (
        f"{'set':<18} {'n':>5} {'K':>5} {'noise':>5} {'APGR':>6} {'(min-max)':>13} {'shipped':>7} "
        f"{'cloud':>6} {'random':>6} {'kept':>5} {'fit s':>6}"
    )
    print(head)
    print("-" * len(head))
    for path in files:
        rows = simdata.read(path)
        for k in ks:
            if len(rows) - k < 150:
                continue
            for noise in noises:
                res = []
                for seed in range(args.seeds):
                    t0 = time.monotonic()
                    r = simulate.simulate(rows, labels=k, target=args.quality_target, seed=seed, noise=noise)
                    r.update({"set": path.stem, "wall_s": round(time.monotonic() - t0, 2)})
                    res.append(r)
                runs.extend(res)
                ap_ = [r["apgr"] for r in res]
                kept = sum(1 for r in res if r["quality_ratio"] >= args.quality_target)
                print(
                    f"{path.stem:<18} {len(rows):>5} {k:>5} {noise:>5.2f} {statistics.mean(ap_):>6.3f} "
                    f"({min(ap_):.3f}-{max(ap_):.3f}) {statistics.mean(r['apgr_shipped'] for r in res):>7.3f} "
                    f"{statistics.mean(r['cloud_share'] for r in res):>6.1%} "
                    f"{statistics.mean(r['random_cloud_share'] for r in res):>6.1%} {kept:>2}/{len(res):<2} "
                    f"{statistics.mean(r['learn_s'] for r in res):>6.2f}",
                    flush=True,
                )
    print("APGR on the requests never labelled (random 0.5); cloud: share sent to the cloud at quality target")
    print(f"{args.quality_target}, next to a random router's share for the same quality; kept: seeds whose routed")
    print("quality ratio met the target; shipped: the shipped model alone on the same requests.")
    if args.json:
        Path(args.json).write_text(json.dumps(runs, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
