"""`hybrid-ai router simulate`: play a labelled set as traffic through the gateway's own learning
code and measure what it would have routed.

The lines are shuffled by seed and sent as requests `sim-<seed>-<n>`. The shadow sampler
(hybrid_ai.shadow.Sampler, the gateway's) picks the requests whose pair of qualities is
revealed, until K labels are held (its rate is set so that K are reached with near certainty;
the cap plays the part of the daily budget). With `--label-noise P` each revealed pair is
swapped with probability P, as a judge's mistakes. The router then learns and calibrates from
those labels alone (hybrid_ai.router.publish.learn with the shipped model as the live one), and
every request never labelled is routed by the result and scored on its true qualities.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Sequence
from typing import Any

from hybrid_ai.labels import Label
from hybrid_ai.router import adaptive, publish, quality
from hybrid_ai.router.metrics import apgr, quality_curve
from hybrid_ai.shadow import Sampler

# The ladder the thresholds are expressed on (a one-local-rung tier); the cut is what matters.
LADDER = [{"model": "local", "max_complexity": 0.5}, {"model": "cloud"}]


def simulate(
    rows: Sequence[dict[str, Any]],
    *,
    labels: int,
    target: float,
    seed: int,
    noise: float = 0.0,
    confidence: float = 0.95,
) -> dict[str, Any]:
    n = len(rows)
    if not 0 < labels < n:
        raise ValueError(f"--labels must be between 1 and the number of lines - 1 ({n - 1}), got {labels}")
    if not 0.0 <= noise < 0.5:
        raise ValueError(f"--label-noise must be in [0, 0.5), got {noise}")
    t0 = time.monotonic()
    order = list(range(n))
    random.Random(seed).shuffle(order)
    traffic = [rows[i] for i in order]
    sampler = Sampler(min(1.0, (labels + 4 * math.sqrt(labels) + 4) / n), salt=f"simulate-{seed}")
    flip = random.Random(f"noise-{seed}")
    labelled: list[Label] = []
    unlabelled: list[dict[str, Any]] = []
    for number, row in enumerate(traffic):
        rid = f"sim-{seed}-{number}"
        if len(labelled) < labels and sampler.pick(rid):
            local, cloud = float(row["local"]), float(row["cloud"])
            if noise and flip.random() < noise:
                local, cloud = cloud, local
            labelled.append(Label(prompt=row["prompt"], local=local, cloud=cloud, source="shadow", request_id=rid))
        else:
            unlabelled.append(row)
    outcome = publish.learn(labelled, ladder=LADDER, target=target, live=None, confidence=confidence, seed=seed)
    router = adaptive.AdaptiveRouter()
    router.use(outcome.model)
    t1 = time.monotonic()
    scores = [router.score(r["prompt"]).value for r in unlabelled]
    decide_ms = (time.monotonic() - t1) * 1000 / max(1, len(unlabelled))
    local = [float(r["local"]) for r in unlabelled]
    cloud = [float(r["cloud"]) for r in unlabelled]
    cut = outcome.cut if outcome.cut is not None else 1.0
    routed = quality.routed_quality(scores, local, cloud, cut)
    w, s = sum(local) / len(local), sum(cloud) / len(cloud)
    share = sum(1 for v in scores if v >= cut) / len(scores)
    rand = quality.random_share(target, w, s)
    shipped = adaptive.AdaptiveRouter()
    try:
        run_apgr = apgr(quality_curve(scores, local, cloud))
        base_apgr = apgr(quality_curve([shipped.score(r["prompt"]).value for r in unlabelled], local, cloud))
    except ValueError:  # the two sides are equally good on the evaluated requests
        run_apgr = base_apgr = float("nan")
    return {
        "labels": len(labelled),
        "n_eval": len(unlabelled),
        "seed": seed,
        "label_noise": noise,
        "quality_target": target,
        "apgr": round(run_apgr, 4),
        "apgr_shipped": round(base_apgr, 4),
        "cloud_share": round(share, 4),
        "quality_ratio": round(sum(routed) / len(routed) / s, 4) if s else 1.0,
        "random_cloud_share": round(rand, 4),
        "share_below_random": round(1.0 - share / rand, 4) if rand > 0 else None,
        "local_mean": round(w, 4),
        "cloud_mean": round(s, 4),
        "published": outcome.model is not None,
        "decision": outcome.reason,
        "estimate_on_labels": outcome.estimate.as_dict() if outcome.estimate else None,
        "cut": outcome.cut,
        "shipped_weight": outcome.model.data["offset"] if outcome.model else None,
        "learn_s": round(outcome.seconds, 2),
        "decision_ms": round(decide_ms, 4),
        "seconds": round(time.monotonic() - t0, 2),
    }
