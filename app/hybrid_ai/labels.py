"""The routing-label store: what the deployment has learned about its own requests.

A label says, for one request, how good the local answer was next to the cloud's: `local` and
`cloud` in [0, 1]. Sources:
- `shadow`: a judge compared both sides' answers (hybrid_ai.shadow); carries judge, judge
  version and what the judgement cost;
- `feedback`: a user rated a local answer (`good` -> local 1, `bad` -> local 0; cloud 1);
- `cascade`: the cascade's checks turned a local answer down (local 0, cloud 1).

Labels live in Redis (list `hai:router:labels`, newest last, the last LABELS_MAX kept; a hash
counts labels per source). Rows written before this format (feedback rows with `rating`) are
read as feedback labels. `label` (how much a stronger model was needed, cloud - local clipped to
[0, 1]) is kept for the older `router train --records` path.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from hybrid_ai.store import LABEL_SOURCES, LABELS

LABELS_MAX = 100_000
SOURCES = ("shadow", "feedback", "cascade")


@dataclass
class Label:
    prompt: str
    local: float
    cloud: float
    source: str
    request_id: str = ""
    system: str | None = None
    model: str | None = None  # the local model whose answer was judged
    judge: str | None = None
    judge_version: str | None = None
    cost_usd: float = 0.0
    time: float = 0.0

    def __post_init__(self) -> None:
        if self.source not in SOURCES:
            raise ValueError(f"label source must be one of {SOURCES}, got {self.source!r}")
        if not (0.0 <= self.local <= 1.0 and 0.0 <= self.cloud <= 1.0):
            raise ValueError("label qualities must be in [0, 1]")
        if not self.time:
            self.time = time.time()

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["label"] = round(min(1.0, max(0.0, self.cloud - self.local)), 4)
        return out


def from_row(row: Mapping[str, Any]) -> Label | None:
    """A label from a stored row (this format, or an older feedback/decision row); None when the
    row carries no routing information or no prompt text."""
    prompt = row.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        return None
    system = row.get("system") if isinstance(row.get("system"), str) else None
    if "local" in row and "cloud" in row and row.get("source") in SOURCES:
        try:
            return Label(
                prompt=prompt,
                system=system,
                local=float(row["local"]),
                cloud=float(row["cloud"]),
                source=str(row["source"]),
                request_id=str(row.get("request_id") or ""),
                model=row.get("model"),
                judge=row.get("judge"),
                judge_version=row.get("judge_version"),
                cost_usd=float(row.get("cost_usd") or 0.0),
                time=float(row.get("time") or 0.0) or 1.0,
            )
        except (TypeError, ValueError):
            return None
    from hybrid_ai.router.manage import escalated

    local_answer = row.get("model") not in (None, "cloud")
    rating = row.get("rating")
    rid = str(row.get("request_id") or "")
    if escalated(row):
        return Label(prompt, 0.5 if rating == "good" and local_answer else 0.0, 1.0, "cascade", rid, system)
    if local_answer and rating in ("good", "bad"):
        return Label(prompt, 1.0 if rating == "good" else 0.0, 1.0, "feedback", rid, system, row.get("model"))
    return None


class LabelStore:
    """Labels in Redis, through the gateway's Store (a redis client works too, for the CLI)."""

    def __init__(self, client_or_store: Any) -> None:
        self._target = client_or_store

    def _run(self, fn: Any, fallback: Any) -> Any:
        run = getattr(self._target, "run", None)
        if run is not None:
            return run(fn, fallback)[0]
        return fn(self._target)

    def add_commands(self, label: Label) -> list[Any]:
        """Pipeline commands that store a label (to join another write's round trip)."""
        blob = json.dumps(label.as_dict(), separators=(",", ":"), ensure_ascii=False)
        return [
            lambda p: p.rpush(LABELS, blob),
            lambda p: p.ltrim(LABELS, -LABELS_MAX, -1),
            lambda p: p.hincrby(LABEL_SOURCES, label.source, 1),
        ]

    def add(self, label: Label) -> bool:
        commands = self.add_commands(label)

        def write(r: Any) -> bool:
            pipe = r.pipeline(transaction=False)
            for c in commands:
                c(pipe)
            pipe.execute()
            return True

        return bool(self._run(write, False))

    def counts(self) -> dict[str, int]:
        raw = self._run(lambda r: r.hgetall(LABEL_SOURCES), None) or {}
        return {s: int(raw.get(s, 0) or 0) for s in SOURCES}

    def rows(self) -> list[dict[str, Any]]:
        return [r for r in (_loads(x) for x in (self._run(lambda r: r.lrange(LABELS, 0, -1), None) or [])) if r]

    def labels(self) -> list[Label]:
        """Every readable label; a request labelled twice by one source keeps the latest."""
        return dedupe(filter(None, (from_row(r) for r in self.rows())))


def dedupe(labels: Iterable[Label]) -> list[Label]:
    by_id: dict[tuple[str, str], Label] = {}
    out: list[Label] = []
    for lab in labels:
        if lab.request_id:
            by_id[(lab.request_id, lab.source)] = lab
        else:
            out.append(lab)
    return out + list(by_id.values())


def _loads(raw: Any) -> dict[str, Any] | None:
    try:
        row = json.loads(raw)
    except (TypeError, ValueError):
        return None
    return row if isinstance(row, dict) else None
