"""Load the routing evaluation data (RouteLLM's published per-prompt results).

A folder holds, per benchmark, each prompt with the quality of a weak and a strong model:
- MT-Bench: mt_bench_question.jsonl + mt_bench_judgements.jsonl (first turn is the prompt;
  quality = mean judge score over both turns), minus mt_bench_contaminated_prompts.jsonl.
- GSM8K: gsm8k_responses.csv (correct True/False per model), minus
  gsm8k_contaminated_prompts.jsonl.
"""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

WEAK = "mistralai/Mixtral-8x7B-Instruct-v0.1"
STRONG = "gpt-4-1106-preview"


@dataclass(frozen=True)
class Item:
    prompt: str
    weak: float
    strong: float
    category: str = ""


def _jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def _contaminated(path: Path) -> set[str]:
    if not path.is_file():
        return set()
    return {row["eval_prompt"].strip() for row in _jsonl(path)}


def load_mt_bench(folder: Path) -> list[Item]:
    questions = _jsonl(folder / "mt_bench_question.jsonl")
    scores: dict[tuple[int, str], list[float]] = defaultdict(list)
    for row in _jsonl(folder / "mt_bench_judgements.jsonl"):
        if row.get("score", -1) >= 0:
            scores[(row["question_id"], row["model"])].append(float(row["score"]))
    drop = _contaminated(folder / "mt_bench_contaminated_prompts.jsonl")
    items = []
    for q in questions:
        prompt = q["turns"][0]
        weak, strong = scores.get((q["question_id"], WEAK)), scores.get((q["question_id"], STRONG))
        if not weak or not strong or prompt.strip() in drop:
            continue
        items.append(Item(prompt, sum(weak) / len(weak), sum(strong) / len(strong), q.get("category", "")))
    return items


def load_gsm8k(folder: Path) -> list[Item]:
    csv.field_size_limit(1 << 30)
    drop = _contaminated(folder / "gsm8k_contaminated_prompts.jsonl")
    items = []
    with (folder / "gsm8k_responses.csv").open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            if row["prompt"].strip() in drop:
                continue
            items.append(Item(row["prompt"], float(row[WEAK] == "True"), float(row[STRONG] == "True"), "math"))
    return items


BENCHMARKS = {"mt-bench": load_mt_bench, "gsm8k": load_gsm8k}


def load_heldout(folder: str | Path) -> dict[str, list[Item]]:
    """Held-out labelled sets: one JSON-lines file of {prompt, weak, strong} per benchmark
    (written by `hybrid-ai router build-data --heldout-dir`); the file name is the benchmark."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"{folder}: no such folder of held-out sets")
    out = {}
    for path in sorted(folder.glob("*.jsonl")):
        rows = _jsonl(path)
        try:
            out[path.stem] = [Item(r["prompt"], float(r["weak"]), float(r["strong"])) for r in rows]
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"{path}: each line needs prompt, weak and strong ({exc})") from None
    if not out:
        raise ValueError(f"{folder}: no held-out sets (*.jsonl)")
    return out


def load_all(folder: str | Path) -> dict[str, list[Item]]:
    """Every benchmark whose files are in the folder; ValueError if there is none."""
    folder = Path(folder)
    out = {}
    for name, loader in BENCHMARKS.items():
        try:
            out[name] = loader(folder)
        except FileNotFoundError:
            continue
    if not out:
        raise ValueError(f"{folder}: no routing-eval data (expected mt_bench_*.jsonl or gsm8k_responses.csv)")
    return out
