"""Public per-prompt model-outcome data the `outcome` router is trained on, read from pinned
commits of public git repositories, cleaned of every evaluation prompt (MT-Bench, GSM8K, MMLU).

Each source is read with `git show <commit>:<path>` from a local clone (bare or not), so a
build is the same wherever it runs: a clone at another commit is refused. Nothing here is
shipped: `hybrid-ai router build-data` writes a JSON-lines corpus outside the package and
`hybrid-ai router fit-outcome` turns it into the small model the router loads.

A row is {prompt, label, weak, strong, source, benchmark, split}:
- weak/strong: quality of the reference weak model (Mixtral-8x7B) and strong model
  (GPT-4-1106-preview) where the source has both (what APGR is computed on);
- label: P(the strong model does better than a small open model) on this prompt, averaged
  over several small models where the source has them (the training target; less noisy than
  one model's 0/1 outcome).
"""

from __future__ import annotations

import ast
import csv
import hashlib
import io
import json
import re
import subprocess
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Source:
    name: str
    repo: str
    commit: str
    licence: str
    note: str
    files: tuple[str, ...] = field(default_factory=tuple)


ROUTERBENCH = Source(
    name="routerbench",
    repo="shuhao02/RouterDC",
    commit="0e63989c5bf4363330b8a4616386e3f7f116d9f8",
    licence="RouterBench data (withmartian/routerbench, MIT); the RouterDC repository states no licence",
    note="RouterBench per-prompt 0/1 correctness of 11 models (incl. mixtral-8x7b-chat and "
    "gpt-4-1106-preview) on ARC-Challenge, MBPP and Winogrande, as split into train/test by RouterDC",
    files=tuple(
        f"datasets/routerbench_zs/{b}_{s}.csv"
        for b in ("arc_challenge", "mbpp", "winograde")
        for s in ("train", "test")
    ),
)
ALPACA_EVAL = Source(
    name="alpaca-eval",
    repo="tatsu-lab/alpaca_eval",
    commit="cd543a149df89434d8a54582c0151c0b945c3d20",
    licence="Apache-2.0",
    note="AlpacaEval 2 per-instruction GPT-4-turbo judge preference of each model against "
    "gpt4_1106_preview on 805 open-ended instructions",
)
MATH_7B = Source(
    name="math-prealgebra",
    repo="shuhao02/RouterDC",
    commit=ROUTERBENCH.commit,
    licence=ROUTERBENCH.licence,
    note="per-problem scores of seven 7B open models on MATH prealgebra (no strong-model outcome: "
    "label = share of 7B models that fail, a proxy)",
    files=("datasets/split2_model7/MATH_prealgebra.json",),
)
SOURCES = (ROUTERBENCH, ALPACA_EVAL, MATH_7B)

# The small open models whose outcomes are averaged into the label, and the reference pair.
RB_WEAK = "mistralai/mixtral-8x7b-chat"
RB_STRONG = "gpt-4-1106-preview"
RB_SMALL = (
    "mistralai/mixtral-8x7b-chat",
    "mistralai/mistral-7b-chat",
    "meta/llama-2-70b-chat",
    "WizardLM/WizardLM-13B-V1.2",
    "zero-one-ai/Yi-34B-Chat",
    "meta/code-llama-instruct-34b-chat",
)
AE_WEAK = "Mixtral-8x7B-Instruct-v0.1_concise"
AE_SMALL = (
    "Mixtral-8x7B-Instruct-v0.1_concise",
    "gemma-7b-it",
    "gemma-2b-it",
    "OpenHermes-2.5-Mistral-7B",
    "vicuna-13b-v1.5",
    "vicuna-7b-v1.5",
    "Qwen-14B-Chat",
    "FuseChat-Llama-3.1-8B-Instruct",
    "FuseChat-Qwen-2.5-7B-Instruct",
    "phi-2-sft",
)
AE_ANNOTATIONS = "results/{model}/weighted_alpaca_eval_gpt4_turbo/annotations.json"
# Evaluation prompts available in the same pinned commit (for decontamination).
EVAL_FILES = {
    "gsm8k": ("datasets/split2_model7/gsm8k-train.json", "datasets/split2_model7/gsm8k-test.json"),
    "mmlu": ("datasets/split2_model7/mmlu_train.json", "datasets/split2_model7/mmlu_test.json"),
}
HELDOUT_SHARE = 0.3  # of AlpacaEval instructions, by a stable hash (RouterBench keeps RouterDC's split)


def git_show(clone: str | Path, commit: str, path: str) -> str:
    """A file at a commit of a local clone; a clear error when the commit or file is missing."""
    proc = subprocess.run(
        ["git", "-C", str(clone), "show", f"{commit}:{path}"],
        capture_output=True,
        check=False,
    )
    if proc.returncode != 0:
        msg = proc.stderr.decode("utf-8", "replace").strip()
        raise ValueError(f"{clone}: cannot read {path} at {commit[:12]}: {msg}")
    return proc.stdout.decode("utf-8")


# ---------------------------------------------------------------- normalise / decontaminate

_NONWORD = re.compile(r"[^a-z0-9]+")


def normalise(text: str) -> str:
    """Lower case, NFKC, every run of non-alphanumerics one space: what 'the same prompt' means."""
    return _NONWORD.sub(" ", unicodedata.normalize("NFKC", text).lower()).strip()


def prompt_hash(text: str) -> str:
    return hashlib.blake2b(normalise(text).encode("utf-8"), digest_size=8).hexdigest()


def _ngrams(words: list[str], n: int) -> set[tuple[str, ...]]:
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


class Decontaminator:
    """Flags a prompt that matches an evaluation prompt: the same normalised text, any shared
    13-word sequence (the usual benchmark-contamination test), or half or more of its 8-word
    sequences found in one evaluation set (a paraphrase or an edited copy)."""

    LONG, SHORT, SHARE = 13, 8, 0.5

    def __init__(self, eval_sets: dict[str, Iterable[str]]) -> None:
        self.exact: dict[str, str] = {}
        self.long: dict[tuple[str, ...], str] = {}
        self.short: dict[str, set[tuple[str, ...]]] = {}
        self.sizes: dict[str, int] = {}
        for name, prompts in eval_sets.items():
            grams: set[tuple[str, ...]] = set()
            count = 0
            for p in prompts:
                norm = normalise(p)
                if not norm:
                    continue
                count += 1
                words = norm.split()
                self.exact.setdefault(norm, name)
                for g in _ngrams(words, self.LONG):
                    self.long.setdefault(g, name)
                grams |= _ngrams(words, self.SHORT)
            self.short[name] = grams
            self.sizes[name] = count

    def match(self, prompt: str) -> str | None:
        """The evaluation set the prompt is taken from, or None."""
        norm = normalise(prompt)
        if norm in self.exact:
            return self.exact[norm]
        words = norm.split()
        for g in _ngrams(words, self.LONG):
            if g in self.long:
                return self.long[g]
        mine = _ngrams(words, self.SHORT)
        if mine:
            for name, grams in self.short.items():
                if len(mine & grams) >= self.SHARE * len(mine):
                    return name
        return None


def eval_prompts(dev_folder: str | Path, routerdc_clone: str | Path | None) -> dict[str, list[str]]:
    """MT-Bench (both turns) and GSM8K from the dev folder, plus the GSM8K and MMLU questions
    held in the RouterDC commit."""
    folder = Path(dev_folder)
    out: dict[str, list[str]] = {"mt-bench": [], "gsm8k": [], "mmlu": []}
    with (folder / "mt_bench_question.jsonl").open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                out["mt-bench"].extend(json.loads(line)["turns"])
    csv.field_size_limit(1 << 30)
    with (folder / "gsm8k_responses.csv").open(encoding="utf-8", newline="") as fh:
        out["gsm8k"].extend(row["prompt"] for row in csv.DictReader(fh))
    if routerdc_clone:
        for name, paths in EVAL_FILES.items():
            for path in paths:
                out[name].extend(r["question"] for r in json.loads(git_show(routerdc_clone, ROUTERBENCH.commit, path)))
    return out


# ---------------------------------------------------------------- readers


def _pairwise(strong: float, weak: float) -> float:
    return 1.0 if strong > weak else 0.0 if strong < weak else 0.5


# a solved few-shot example: "...Answer:\nB\n\n" (RouterBench puts 5 or 10 before the question)
_SOLVED_SHOT = re.compile(r"Answer:\s*[A-E]\s*\n\n")


def _first_prompt(cell: str) -> str:
    """The question as a user would ask it: the first turn, without the solved few-shot
    examples RouterBench prepends (they are the same for every question of a benchmark)."""
    try:
        value = ast.literal_eval(cell)
    except (ValueError, SyntaxError):
        value = cell
    if isinstance(value, list) and value and isinstance(value[0], str):
        value = value[0]
    text = value if isinstance(value, str) else cell
    return _SOLVED_SHOT.split(text)[-1].strip()


_CHOICE = re.compile(r"^\W*([A-E])\b")


def _gold_choice(row: dict[str, str]) -> str | None:
    """The right letter of a multiple-choice prompt: what the models scored correct answered
    (RouterBench keeps no answer key; None when no model was right or they disagree)."""
    letters = set()
    for model in (RB_STRONG, *RB_SMALL):
        if row.get(model) == "1.0":
            m = _CHOICE.match(_first_prompt(row.get(f"{model}|model_response", "")))
            if m:
                letters.add(m.group(1))
    return letters.pop() if len(letters) == 1 else None


def read_routerbench(clone: str | Path) -> Iterator[dict[str, Any]]:
    csv.field_size_limit(1 << 30)
    for path in ROUTERBENCH.files:
        split = "heldout" if path.endswith("_test.csv") else "train"
        bench = "rb-" + path.rsplit("/", 1)[1].rsplit("_", 1)[0].replace("_", "-").replace("winograde", "winogrande")
        for row in csv.DictReader(io.StringIO(git_show(clone, ROUTERBENCH.commit, path))):
            if row[RB_STRONG] == "" or row[RB_WEAK] == "":
                continue  # an outcome the source did not record
            strong = float(row[RB_STRONG])
            small = [float(row[m]) for m in RB_SMALL if row[m] != ""]
            label = sum(_pairwise(strong, v) for v in small) / len(small)
            out = {
                "prompt": _first_prompt(row["prompt"]),
                "label": round(label, 4),
                "weak": float(row[RB_WEAK]),
                "strong": strong,
                "source": ROUTERBENCH.name,
                "benchmark": bench,
                "split": split,
            }
            answer = _gold_choice(row) if bench != "rb-mbpp" else None  # MBPP is code, not a choice
            if answer:
                out["answer"] = answer
            yield out


def _split_of(prompt: str) -> str:
    h = int(prompt_hash(prompt), 16) % 1000
    return "heldout" if h < HELDOUT_SHARE * 1000 else "train"


def read_alpaca_eval(clone: str | Path) -> Iterator[dict[str, Any]]:
    prefs: dict[str, dict[str, float]] = {}
    for model in AE_SMALL:
        rows = json.loads(git_show(clone, ALPACA_EVAL.commit, AE_ANNOTATIONS.format(model=model)))
        for r in rows:
            if r.get("preference") in (None, ""):
                continue
            # preference in [1, 2]: 2 = the model's output preferred over gpt4_1106_preview's
            prefs.setdefault(r["instruction"], {})[model] = min(1.0, max(0.0, float(r["preference"]) - 1.0))
    for prompt, by_model in prefs.items():
        if AE_WEAK not in by_model or len(by_model) < len(AE_SMALL) // 2:
            continue
        p_weak = by_model[AE_WEAK]
        yield {
            "prompt": prompt,
            "label": round(sum(1.0 - v for v in by_model.values()) / len(by_model), 4),
            "weak": round(p_weak, 4),
            "strong": round(1.0 - p_weak, 4),
            "source": ALPACA_EVAL.name,
            "benchmark": "alpaca-eval",
            "split": _split_of(prompt),
        }


def read_math_7b(clone: str | Path) -> Iterator[dict[str, Any]]:
    for r in json.loads(git_show(clone, MATH_7B.commit, MATH_7B.files[0])):
        scores = ast.literal_eval(r["scores"]) if isinstance(r["scores"], str) else r["scores"]
        if not scores:
            continue
        fail = 1.0 - sum(float(v) for v in scores.values()) / len(scores)
        yield {
            "prompt": r["question"],
            "label": round(fail, 4),
            "weak": None,
            "strong": None,
            "source": MATH_7B.name,
            "benchmark": "math-prealgebra",
            "split": "train",
        }


def build(
    dev_folder: str | Path, routerdc: str | Path, alpaca_eval: str | Path, *, include_proxy: bool = True
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The decontaminated corpus and a report of what was read and removed."""
    evals = eval_prompts(dev_folder, routerdc)
    dec = Decontaminator(evals)
    readers = [(ROUTERBENCH, read_routerbench(routerdc)), (ALPACA_EVAL, read_alpaca_eval(alpaca_eval))]
    if include_proxy:
        readers.append((MATH_7B, read_math_7b(routerdc)))
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    report: dict[str, Any] = {"eval_prompts": dec.sizes, "sources": {}}
    for source, reader in readers:
        stats = {"repo": source.repo, "commit": source.commit, "licence": source.licence, "read": 0}
        removed: dict[str, int] = {}
        dupes = 0
        for row in reader:
            stats["read"] += 1
            hit = dec.match(row["prompt"])
            if hit:
                removed[hit] = removed.get(hit, 0) + 1
                continue
            key = normalise(row["prompt"])
            if not key or key in seen:
                dupes += 1
                continue
            seen.add(key)
            rows.append(row)
        stats["removed_as_eval"] = removed
        stats["duplicates"] = dupes
        stats["kept"] = {
            split: sum(1 for r in rows if r["source"] == source.name and r["split"] == split)
            for split in ("train", "heldout")
        }
        report["sources"][source.name] = stats
    return rows, report
