"""The learned router: a logistic model over explainable prompt features (task type, quantities,
steps, constraints, length), plus optional word weights learned from the user's own traffic.

The shipped model (learned_model.py) is made in two steps (`hybrid-ai router build-data` and
`hybrid-ai router fit`, see docs/router.md): a fit on the exemplars in exemplars.py (prompts
written by hand for this kit that describe task types, labelled 1 where a small open model is
expected to fall short of a frontier model and 0 where it is expected to do as well), then a
refit of the feature weights on public per-prompt outcomes of small and large models
(public_data.py, outcome.py), cleaned of every MT-Bench, GSM8K and MMLU prompt, with the
exemplar weights as prior. `hybrid-ai router train --records ...` adjusts it with the user's
own labels (feedback and cascade escalations), pulling towards the shipped weights, and writes a
model file the router loads from $HYBRID_AI_ROUTER_MODEL.

Scoring is pure Python: about 0.1 ms per prompt, no extra dependencies, a few hundred kB.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from hybrid_ai.router import Score, register
from hybrid_ai.router.features import FEATURE_NAMES, extract

MODEL_ENV = "HYBRID_AI_ROUTER_MODEL"
_TOKEN = re.compile(r"[a-z][a-z0-9+#']{1,30}")


def tokens(prompt: str) -> set[str]:
    return set(_TOKEN.findall(prompt.lower()))


def _sigmoid(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


class LearnedRouter:
    """score = sigmoid(bias + sum(weight_f * feature_f) + sum(word weights)); factors are the
    terms of that sum (positive pushes towards the cloud)."""

    name = "learned"

    def __init__(self, model: dict[str, Any]) -> None:
        self.bias = float(model["bias"])
        self.weights = {k: float(model["weights"].get(k, 0.0)) for k in FEATURE_NAMES}
        self.words = {k: float(v) for k, v in (model.get("words") or {}).items()}
        self.meta = model.get("meta", {})

    @classmethod
    def load(cls, path: str | Path | None = None) -> LearnedRouter:
        """The model at `path`, else at $HYBRID_AI_ROUTER_MODEL, else the shipped one."""
        path = path or os.environ.get(MODEL_ENV)
        if not path:
            from hybrid_ai.router.learned_model import MODEL

            return cls(MODEL)
        path = Path(path)
        try:
            with path.open(encoding="utf-8") as fh:
                return cls(json.load(fh))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"router model {path}: cannot load ({exc})") from None

    def logit_terms(self, prompt: str, system: str | None = None) -> dict[str, float]:
        feats = extract(prompt, system)
        terms = {k: self.weights[k] * v for k, v in feats.items() if self.weights[k] * v != 0.0}
        if self.words:
            w = sum(self.words.get(t, 0.0) for t in tokens(prompt))
            if w:
                terms["words"] = w
        return terms

    def score(self, prompt: str, system: str | None = None) -> Score:
        terms = self.logit_terms(prompt, system)
        value = _sigmoid(self.bias + sum(terms.values()))
        factors = {k: round(v, 4) for k, v in terms.items()}
        return Score(value=round(value, 4), factors=factors, router=self.name)


def fit(
    examples: Sequence[tuple[str, str | None, float, float]],
    *,
    l2: float = 0.001,
    word_l2: float = 1.0,
    min_word_count: int = 0,
    max_words: int = 2000,
    epochs: int = 3000,
    lr: float = 2.0,
    prior: dict[str, float] | None = None,
) -> dict[str, Any]:
    """Fit the logistic model by full-batch gradient descent (pure Python).

    examples: (prompt, system, label in [0, 1], sample weight). Word weights are learned only
    when min_word_count > 0, from words seen in at least that many examples. prior: feature
    weights to start from and to pull towards (l2 * (w - prior)) instead of towards 0, so that a
    refit on a few user labels adjusts the shipped model rather than forgetting it.
    """
    if not examples:
        raise ValueError("no training examples")
    rows = [extract(p, s) for p, s, _, _ in examples]
    xs = [[r[k] for k in FEATURE_NAMES] for r in rows]
    ys = [float(y) for _, _, y, _ in examples]
    ws = [float(w) for _, _, _, w in examples]
    vocab: dict[str, int] = {}
    toks: list[list[int]] = [[] for _ in examples]
    if min_word_count > 0:
        counts: dict[str, int] = {}
        for p, _, _, _ in examples:
            for t in tokens(p):
                counts[t] = counts.get(t, 0) + 1
        kept = sorted((t for t, c in counts.items() if c >= min_word_count), key=lambda t: -counts[t])[:max_words]
        vocab = {t: i for i, t in enumerate(kept)}
        toks = [[vocab[t] for t in tokens(p) if t in vocab] for p, _, _, _ in examples]
    total = sum(ws)
    mean_y = sum(y * w for y, w in zip(ys, ws, strict=True)) / total
    b0 = math.log(max(mean_y, 1e-3) / max(1 - mean_y, 1e-3))
    descend = _descend_numpy if importlib.util.find_spec("numpy") else _descend_python  # same result
    w0 = [float((prior or {}).get(k, 0.0)) for k in FEATURE_NAMES]
    b, wd, wv = descend(xs, toks, ys, ws, len(vocab), b0, l2, word_l2, epochs, lr, w0)
    words = {t: round(wv[i], 5) for t, i in vocab.items() if abs(wv[i]) >= 1e-3}
    return {
        "bias": round(b, 5),
        "weights": {k: round(wd[j], 5) for j, k in enumerate(FEATURE_NAMES)},
        "words": words,
    }


def _descend_python(xs, toks, ys, ws, nv, b, l2, word_l2, epochs, lr, w0=None):
    nd = len(xs[0])
    total = sum(ws)
    w0 = list(w0) if w0 is not None else [0.0] * nd
    wd = list(w0)
    wv = [0.0] * nv
    for _ in range(epochs):
        gd = [0.0] * nd
        gv = [0.0] * nv
        gb = 0.0
        for x, tk, y, w in zip(xs, toks, ys, ws, strict=True):
            z = b + sum(a * c for a, c in zip(wd, x, strict=True)) + sum(wv[i] for i in tk)
            err = (_sigmoid(z) - y) * w / total
            gb += err
            for j in range(nd):
                gd[j] += err * x[j]
            for i in tk:
                gv[i] += err
        b -= lr * gb
        for j in range(nd):
            wd[j] -= lr * (gd[j] + l2 * (wd[j] - w0[j]))
        for i in range(nv):
            wv[i] -= lr * (gv[i] + word_l2 * wv[i] / total)
    return b, wd, wv


def _descend_numpy(xs, toks, ys, ws, nv, b, l2, word_l2, epochs, lr, w0=None):
    """The same full-batch gradient descent as _descend_python, vectorised."""
    import numpy as np

    x = np.asarray(xs, dtype=np.float64)
    rows = np.repeat(np.arange(len(toks)), [len(t) for t in toks])
    cols = np.fromiter((i for t in toks for i in t), dtype=np.int64, count=len(rows))
    y = np.asarray(ys, dtype=np.float64)
    w = np.asarray(ws, dtype=np.float64)
    total = w.sum()
    w0 = np.zeros(x.shape[1]) if w0 is None else np.asarray(w0, dtype=np.float64)
    wd = w0.copy()
    wv = np.zeros(nv)
    for _ in range(epochs):
        z = b + x @ wd + np.bincount(rows, weights=wv[cols], minlength=len(y))
        err = (1.0 / (1.0 + np.exp(-z)) - y) * w / total
        gb = err.sum()
        gd = x.T @ err
        gv = np.bincount(cols, weights=err[rows], minlength=nv)
        b -= lr * gb
        wd -= lr * (gd + l2 * (wd - w0))
        wv -= lr * (gv + word_l2 * wv / total)
    return float(b), wd.tolist(), wv.tolist()


def read_exemplars(path: str | Path | None = None) -> list[tuple[str, None, float, float]]:
    """(prompt, None, label, 1.0) from a JSON-lines file of {prompt, label}, else the shipped ones."""
    if path is None:
        from hybrid_ai.router.exemplars import EXEMPLARS

        return [(prompt, None, float(label), 1.0) for label, prompt in EXEMPLARS]
    out = []
    with Path(path).open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                row = json.loads(line)
                out.append((row["prompt"], None, float(row["label"]), 1.0))
    return out


def save(model: dict[str, Any], path: str | Path, meta: dict[str, Any] | None = None) -> None:
    """Write the model as JSON, or as a Python module (MODEL = {...}) when the path ends in .py:
    that is how the shipped default is stored, so it installs with the package's code."""
    data = dict(model)
    data["meta"] = meta or {}
    path = Path(path)
    if path.suffix == ".py":
        lines = ['"""The shipped learned-router model. Generated by `hybrid-ai router fit`; do not edit."""', ""]
        lines.append("MODEL = " + json.dumps(data, indent=4, sort_keys=True))
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return
    path.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n", encoding="utf-8")


def scores(router: LearnedRouter, prompts: Iterable[str]) -> list[float]:
    return [router.score(p).value for p in prompts]


@register("learned")
def _factory() -> LearnedRouter:
    return LearnedRouter.load()
