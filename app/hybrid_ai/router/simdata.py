"""Labelled traffic for `hybrid-ai router simulate`: one JSON-lines file per labelled set, each
line `{"prompt": str, "local": float, "cloud": float}` (quality in [0, 1] of a weak and a strong
model's answer to that prompt).

Made from every labelled set the kit can read (`hybrid-ai router sim-data`):
- the routing-eval dev folder (RouteLLM's files): MT-Bench (judge score 1-10 / 10, mean of the
  two turns) and GSM8K (0/1 correct), contaminated prompts dropped, as `router eval` reads them;
- the held-out sets in data/router/heldout (weak -> local, strong -> cloud);
- optionally, with clones at the pinned commits of data/router/SOURCES.md, the whole of
  RouterBench's ARC-Challenge, MBPP and Winogrande (RouterDC's train and test splits together)
  and all 805 AlpacaEval instructions: larger sets, for learning curves up to K = 1,000.
A prompt seen twice in one set is kept once (its first outcome).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from hybrid_ai.router import evaldata, public_data


def _rows(items: Iterable[tuple[str, float, float]]) -> list[dict[str, object]]:
    seen: set[str] = set()
    out = []
    for prompt, local, cloud in items:
        key = public_data.normalise(prompt)
        if not key or key in seen:
            continue
        seen.add(key)
        out.append({"prompt": prompt, "local": round(float(local), 4), "cloud": round(float(cloud), 4)})
    return out


def build(
    dev: str | Path | None = None,
    heldout: str | Path | None = None,
    routerdc: str | Path | None = None,
    alpaca_eval: str | Path | None = None,
) -> dict[str, list[dict[str, object]]]:
    """{set name: rows}. A larger source of the same benchmark replaces the held-out part."""
    sets: dict[str, list[dict[str, object]]] = {}
    if dev:
        for name, items in evaldata.load_all(dev).items():
            scale = 10.0 if name == "mt-bench" else 1.0
            sets[name] = _rows((i.prompt, i.weak / scale, i.strong / scale) for i in items)
    if heldout:
        for name, items in evaldata.load_heldout(heldout).items():
            sets[name] = _rows((i.prompt, i.weak, i.strong) for i in items)
    if routerdc:
        by_bench: dict[str, list[tuple[str, float, float]]] = {}
        for r in public_data.read_routerbench(routerdc):
            by_bench.setdefault(r["benchmark"], []).append((r["prompt"], r["weak"], r["strong"]))
        for name, items in by_bench.items():
            sets[name] = _rows(items)
    if alpaca_eval:
        items = [(r["prompt"], r["weak"], r["strong"]) for r in public_data.read_alpaca_eval(alpaca_eval)]
        sets["alpaca-eval"] = _rows(items)
    if not sets:
        raise ValueError("give at least one of --dev, --heldout, --routerdc, --alpaca-eval")
    return sets


def write(sets: dict[str, list[dict[str, object]]], folder: str | Path) -> list[tuple[Path, int]]:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, rows in sorted(sets.items()):
        path = folder / f"{name}.jsonl"
        with path.open("w", encoding="utf-8") as fh:
            for row in rows:
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
        written.append((path, len(rows)))
    return written


def read(path: str | Path) -> list[dict[str, object]]:
    """The lines of a simulate file; a ValueError that names the line when one is malformed."""
    out = []
    with Path(path).open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                prompt, local, cloud = row["prompt"], float(row["local"]), float(row["cloud"])
            except (ValueError, KeyError, TypeError) as exc:
                raise ValueError(f"{path}:{number}: need {{prompt, local, cloud}} ({exc})") from None
            if not isinstance(prompt, str) or not prompt.strip():
                raise ValueError(f"{path}:{number}: prompt must be a non-empty string")
            if not (0.0 <= local <= 1.0 and 0.0 <= cloud <= 1.0):
                raise ValueError(f"{path}:{number}: local and cloud must be in [0, 1]")
            out.append({"prompt": prompt, "local": local, "cloud": cloud})
    if not out:
        raise ValueError(f"{path}: no lines")
    return out
