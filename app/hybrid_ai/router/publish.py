"""The adaptive router's learning loop: refit on the deployment's labels, replace the live model
only when the new one routes better on labels held back from its fit, choose thresholds from the
quality target, and publish through Redis so every gateway of a fleet picks it up (Watcher)
without a restart. The previous live model is kept for `hybrid-ai router rollback`.

`learn()` is pure (labels in, decision out): `hybrid-ai router train --publish` and
`hybrid-ai router simulate` both run it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from hybrid_ai.background import LazyThread
from hybrid_ai.labels import Label
from hybrid_ai.router import adaptive, quality
from hybrid_ai.store import ROUTER_MODEL, ROUTER_PREVIOUS, ROUTER_QUALITY, ROUTER_VERSION

log = logging.getLogger(__name__)
HOLDOUT_SHARE = 0.2
MIN_LABELS = 50


@dataclass
class Outcome:
    """What a refit decided, and why (printed by the CLI, stored with the quality estimate)."""

    labels: int
    model: adaptive.Model | None = None  # the model to publish; None keeps the live one
    cut: float | None = None
    thresholds: dict[str, float] = field(default_factory=dict)
    estimate: quality.Estimate | None = None
    holdout: dict[str, Any] = field(default_factory=dict)
    reason: str = ""
    seconds: float = 0.0

    def summary(self) -> dict[str, Any]:
        return {
            "labels": self.labels,
            "published": self.model is not None,
            "reason": self.reason,
            "cut": self.cut,
            "thresholds": self.thresholds,
            "estimate": self.estimate.as_dict() if self.estimate else None,
            "holdout": self.holdout,
            "seconds": round(self.seconds, 2),
        }


def held_back(label: Label) -> bool:
    """A stable ~20% of labels never used to fit: the guard's test set (by request id, else text)."""
    key = label.request_id or label.prompt
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=4).digest(), "big") / 2**32 < HOLDOUT_SHARE


def examples(labels: Sequence[Label]) -> list[adaptive.Example]:
    return [adaptive.Example(lab.prompt, lab.system, lab.local, lab.cloud) for lab in labels]


def _scores(score: Callable[[str, str | None], Any], labels: Sequence[Label]) -> list[float]:
    return [score(lab.prompt, lab.system).value for lab in labels]


def learn(
    labels: Sequence[Label],
    *,
    ladder: Sequence[dict[str, Any]],
    target: float | None,
    live: adaptive.Model | None = None,
    confidence: float = 0.95,
    min_labels: int = MIN_LABELS,
    seed: int = 0,
    recipe: dict[str, Any] | None = None,
    log_fn: Callable[[str], None] | None = None,
) -> Outcome:
    """Refit, guard, calibrate. `live`: the model the gateways run now (None: the shipped one)."""
    t0 = time.monotonic()
    out = Outcome(labels=len(labels))
    if len(labels) < min_labels:
        out.reason = f"{len(labels)} labels, fewer than the {min_labels} a refit needs: the live model stays"
        out.seconds = time.monotonic() - t0
        return out
    test = [lab for lab in labels if held_back(lab)]
    train = [lab for lab in labels if not held_back(lab)]
    if len(test) < 10 or len(train) < 10:
        out.reason = f"too few labels on one side of the held-back split ({len(train)} / {len(test)})"
        out.seconds = time.monotonic() - t0
        return out
    candidate, report = adaptive.fit(examples(train), recipe=recipe, seed=seed)
    live_router = adaptive.AdaptiveRouter()
    live_router.use(live)
    local = [lab.local for lab in test]
    cloud = [lab.cloud for lab in test]
    new_apgr = adaptive._apgr(_scores(candidate.score, test), local, cloud)
    old_apgr = adaptive._apgr(_scores(live_router.score, test), local, cloud)
    out.holdout = {
        "labels": len(test),
        "candidate_apgr": round(new_apgr, 4),
        "live_apgr": round(old_apgr, 4),
        "live": live.version if live else "shipped",
    }
    if new_apgr <= old_apgr:
        out.reason = (
            f"the refit routes no better than the live model on {len(test)} held-back labels "
            f"(APGR {new_apgr:.3f} vs {old_apgr:.3f}): the live model stays"
        )
        final = live
    else:
        # validated: fit the same recipe and strength on every label, publish that
        final, report = adaptive.fit(examples(labels), recipe=recipe, offset=report["offset"], seed=seed)
        out.model = final
        out.reason = (
            f"published: APGR {new_apgr:.3f} vs {old_apgr:.3f} on {len(test)} held-back labels "
            f"({len(train)} fitted, shipped-model weight {report['offset']:g})"
        )
    if target is not None:
        if final is not None and final is out.model and report.get("oof_scores"):
            scores = report["oof_scores"]  # scores of labels each fold model did not see
            all_local, all_cloud = [lab.local for lab in labels], [lab.cloud for lab in labels]
        else:
            scores = _scores(live_router.score, test)
            all_local, all_cloud = local, cloud
        out.cut = quality.calibrate_cut(scores, all_local, all_cloud, target, confidence)
        out.thresholds = quality.thresholds_for_cut(ladder, out.cut)
        out.estimate = quality.estimate(scores, all_local, all_cloud, out.cut)
        if out.model is not None:
            out.model.data["thresholds"] = out.thresholds
            out.model.thresholds = dict(out.thresholds)
    out.seconds = time.monotonic() - t0
    if log_fn:
        log_fn(out.reason)
    return out


# ---------------------------------------------------------------- Redis


def load_live(client: Any) -> adaptive.Model | None:
    blob = client.get(ROUTER_MODEL)
    return adaptive.Model.from_blob(blob) if blob else None


def publish(client: Any, outcome: Outcome, *, target: float | None, sources: dict[str, int] | None = None) -> None:
    """Store the refit's model (the old one kept as previous) and its quality estimate."""
    summary = outcome.summary()
    summary.update({"target": target, "time": time.time(), "labels_by_source": sources or {}})
    if outcome.model is not None:
        summary["model_version"] = outcome.model.version
    else:
        raw = client.get(ROUTER_VERSION)
        summary["model_version"] = (raw.decode() if isinstance(raw, bytes) else raw) or "shipped"
    pipe = client.pipeline(transaction=True)
    if outcome.model is not None:
        current = client.get(ROUTER_MODEL)
        if current:
            pipe.set(ROUTER_PREVIOUS, current)
        pipe.set(ROUTER_MODEL, outcome.model.to_blob())
        pipe.set(ROUTER_VERSION, outcome.model.version)
    pipe.set(ROUTER_QUALITY, json.dumps(summary))
    pipe.execute()


def rollback(client: Any) -> str:
    """Put the previous model back (the current one becomes the previous); its version."""
    previous = client.get(ROUTER_PREVIOUS)
    if not previous:
        raise ValueError("no previous router model to roll back to")
    model = adaptive.Model.from_blob(previous)
    current = client.get(ROUTER_MODEL)
    pipe = client.pipeline(transaction=True)
    pipe.set(ROUTER_MODEL, previous)
    if current:
        pipe.set(ROUTER_PREVIOUS, current)
    pipe.set(ROUTER_VERSION, model.version)
    pipe.execute()
    return model.version


def read_quality(client: Any) -> dict[str, Any] | None:
    raw = client.get(ROUTER_QUALITY)
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return None


class Watcher:
    """Polls the live version every `poll_s` in each gateway process and hands a new model to
    `apply` (Redis down: the current model stays; a bad blob is logged and skipped)."""

    def __init__(self, store: Any, apply: Callable[[adaptive.Model | None], None], poll_s: float = 5.0) -> None:
        self.store = store
        self.apply = apply
        self.poll_s = poll_s
        self.version: str | None = None
        self._thread = LazyThread(self._loop, "router-watch")

    def ensure(self) -> None:
        self._thread.ensure()

    def check(self) -> bool:
        """One poll; True when a new model was applied."""
        version, ok = self.store.run(lambda r: r.get(ROUTER_VERSION), None)
        if not ok or version == self.version:
            return False
        if version is None:  # nothing published (or wiped): the shipped model
            self.apply(None)
            self.version = None
            return True
        blob, ok = self.store.run(lambda r: r.get(ROUTER_MODEL), None)
        if not ok or blob is None:
            return False
        try:
            model = adaptive.Model.from_blob(blob)
        except ValueError as exc:
            log.error("router model %s not applied: %s", version, exc)
            self.version = version
            return False
        self.apply(model)
        self.version = version
        log.info("router model %s applied", version)
        return True

    def _loop(self) -> None:
        while True:
            try:
                self.check()
            except Exception:
                log.exception("router watch failed")
            time.sleep(self.poll_s)
