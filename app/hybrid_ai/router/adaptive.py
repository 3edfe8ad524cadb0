"""The adaptive router: the shipped learned model, corrected by what this deployment's own
labelled traffic says (shadow judgements, feedback, cascade escalations).

Why: per-prompt outcomes do not transfer between kinds of traffic (docs/router.md), but a few
hundred labels of the box's own requests do. The correction is a ridge regression of the label's
quality gain (cloud - local) on hashed word n-grams of the prompt plus the 14 explainable
features and the shipped model's logit, so with no labels the router is the shipped model.

Scoring is pure Python (a few hundred dictionary-free array look-ups, well under a millisecond);
fitting needs numpy (a conjugate-gradient solve over the sparse design, seconds for 10,000
labels). A fitted model is a JSON-able dict (`to_blob` / `from_blob`), published through Redis
by `hybrid-ai router train --publish` and picked up by every gateway without a restart.
"""

from __future__ import annotations

import base64
import json
import math
import random
import re
import threading
import time
import zlib
from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from hybrid_ai.router import Score, register
from hybrid_ai.router.features import FEATURE_NAMES, extract

FORMAT = "hybrid-ai/adaptive-router/1"
_WORD = re.compile(r"[a-z0-9]+|[^\sa-z0-9]")
SCALE = 4.0  # logit units per unit of predicted quality gain
# The shipped model's scores sit high (it was fitted to say "needs the strong model" on most
# benchmark prompts): shifted by this many logits, it sends, at the tiers' first threshold (0.3),
# the same share of the held-out labelled prompts (data/router/heldout, mean over the sets) to
# the cloud as the heuristic router did (10.9%), so switching a tier to the adaptive router does
# not raise its cloud bill before any label exists. Ranking, and so APGR, is unchanged.
SHIPPED_OFFSET = -3.19

DEFAULT_RECIPE: dict[str, Any] = {
    "buckets": 1 << 18,
    "word_ngrams": [1, 2],
    "max_chars": 6000,
    "feature_scale": 0.25,  # prior variance of the 14 explainable features' weights, in total
    "length_scale": 1.0,  # prior variance of the log-length weight
    "lambda": 10.0,
    "offsets": [0.0, 0.02, 0.05, 0.1],  # weights of the shipped model's (standardised) logit
}


@dataclass(frozen=True)
class Example:
    prompt: str
    system: str | None
    local: float
    cloud: float
    weight: float = 1.0

    @property
    def gain(self) -> float:
        return self.cloud - self.local


def _base_router() -> Any:
    from hybrid_ai.router.learned import LearnedRouter

    return LearnedRouter.load()


def _logit(p: float) -> float:
    p = min(max(p, 1e-4), 1 - 1e-4)
    return math.log(p / (1 - p))


class Featurizer:
    """What the model reads of a prompt: hashed word n-grams (1 + log tf, L2-normalised), the 14
    explainable features and the log of the word count, and the shipped model's logit (computed
    from the same features, so they are extracted once)."""

    def __init__(self, recipe: dict[str, Any]) -> None:
        self.recipe = {**DEFAULT_RECIPE, **recipe}
        self.buckets = int(self.recipe["buckets"])
        self.words = tuple(int(n) for n in self.recipe["word_ngrams"])
        self.max_chars = int(self.recipe["max_chars"])
        base = _base_router()
        self._bias = base.bias
        self._w = [base.weights[k] for k in FEATURE_NAMES]

    def sparse(self, prompt: str) -> tuple[list[int], list[float], int]:
        """(bucket indexes, their values, the number of tokens)."""
        toks = _WORD.findall(prompt[: self.max_chars].lower())
        counts: dict[int, int] = {}
        crc, d = zlib.crc32, self.buckets
        for n in self.words:
            for i in range(len(toks) - n + 1):
                h = crc(("w" + " ".join(toks[i : i + n])).encode()) % d
                counts[h] = counts.get(h, 0) + 1
        idx = sorted(counts)
        vals = [1.0 + math.log(counts[i]) for i in idx]
        norm = math.sqrt(sum(v * v for v in vals)) or 1.0
        return idx, [v / norm for v in vals], len(toks)

    def dense(self, prompt: str, system: str | None, n_tokens: int) -> tuple[list[float], float]:
        """(the 14 features and log1p(token count), the shipped model's logit)."""
        f = extract(prompt, system)
        row = [f[k] for k in FEATURE_NAMES]
        base = self._bias + sum(a * b for a, b in zip(self._w, row, strict=True))
        row.append(math.log1p(n_tokens))
        return row, base


class Model:
    """A fitted correction. gain = bias + n-grams + dense + a * (standardised shipped logit);
    score = sigmoid(SHIPPED_OFFSET + mean shipped logit + SCALE * (gain - bias)), so with no
    signal in the labels it orders prompts as the shipped model does."""

    def __init__(self, data: dict[str, Any]) -> None:
        if data.get("format") != FORMAT:
            raise ValueError(f"not an adaptive-router model (format {data.get('format')!r})")
        self.data = data
        self.featurizer = Featurizer(data["recipe"])
        self.bias = float(data["bias"])
        self.dense_w = [float(v) for v in data["dense_w"]]
        self.dense_mu = [float(v) for v in data["dense_mu"]]
        self.dense_sd = [float(v) for v in data["dense_sd"]]
        self.offset = float(data["offset"])
        self.base_mu, self.base_sd = float(data["base_mu"]), float(data["base_sd"])
        w = array("f")
        w.frombytes(zlib.decompress(base64.b64decode(data["sparse"])))
        if len(w) != self.featurizer.buckets:
            raise ValueError(f"model has {len(w)} weights for {self.featurizer.buckets} buckets")
        self.sparse_w = w
        self.version = str(data.get("version", ""))
        self.thresholds = {str(k): float(v) for k, v in (data.get("thresholds") or {}).items()}

    def predict(self, prompt: str, system: str | None = None) -> tuple[float, float, float, float]:
        """(predicted gain minus the bias, its n-gram part, its dense part, the shipped logit)."""
        idx, vals, n_tokens = self.featurizer.sparse(prompt)
        w = self.sparse_w
        words = sum(w[i] * v for i, v in zip(idx, vals, strict=True))
        row, base = self.featurizer.dense(prompt, system, n_tokens)
        dense = sum(
            wt * (x - mu) / sd for wt, x, mu, sd in zip(self.dense_w, row, self.dense_mu, self.dense_sd, strict=True)
        )
        shipped = self.offset * (base - self.base_mu) / self.base_sd
        return words + dense + shipped, words, dense, base

    def score(self, prompt: str, system: str | None = None) -> Score:
        pred, words, dense, _base = self.predict(prompt, system)
        z = SHIPPED_OFFSET + self.base_mu + SCALE * pred
        value = 1.0 / (1.0 + math.exp(-z)) if z > -700 else 0.0
        factors = {
            "words": round(SCALE * words, 4),
            "features": round(SCALE * dense, 4),
            "shipped": round(SCALE * (pred - words - dense), 4),
        }
        return Score(value=value, factors=factors, router="adaptive")

    def to_blob(self) -> str:
        """The model as text (base64 of zlib JSON): Redis clients that decode replies read it."""
        return base64.b64encode(zlib.compress(json.dumps(self.data, separators=(",", ":")).encode(), 6)).decode()

    @classmethod
    def from_blob(cls, blob: str | bytes) -> Model:
        try:
            return cls(json.loads(zlib.decompress(base64.b64decode(blob))))
        except (zlib.error, ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"unreadable adaptive-router model ({exc})") from None


# ---------------------------------------------------------------- fitting (numpy)


def _design(featurizer: Featurizer, examples: Sequence[Example]) -> tuple[Any, Any, Any, Any, Any]:
    import numpy as np

    rows: list[int] = []
    cols: list[int] = []
    vals: list[float] = []
    dense, base = [], []
    for r, ex in enumerate(examples):
        idx, v, n_tokens = featurizer.sparse(ex.prompt)
        rows.extend([r] * len(idx))
        cols.extend(idx)
        vals.extend(v)
        d, b = featurizer.dense(ex.prompt, ex.system, n_tokens)
        dense.append(d)
        base.append(b)
    return (
        np.asarray(rows, dtype=np.int64),
        np.asarray(cols, dtype=np.int64),
        np.asarray(vals, dtype=np.float64),
        np.asarray(dense, dtype=np.float64),
        np.asarray(base, dtype=np.float64),
    )


def _ridge(rows, cols, vals, dense, targets, lam: float, iters: int = 300):
    """Ridge without intercept (targets centred by the caller) for several targets at once, by
    conjugate gradient on the normal equations over the columns the rows use. Returns
    (weights of the used columns, dense weights, the used column ids), one column per target."""
    import numpy as np

    used, inv = np.unique(cols, return_inverse=True)
    m, k = len(used), dense.shape[1]
    n = dense.shape[0]
    t = targets.shape[1]

    def xt(u):  # X^T u for u of shape (n, t)
        out = np.empty((m + k, t))
        for j in range(t):
            out[:m, j] = np.bincount(inv, weights=vals * u[rows, j], minlength=m)
        out[m:] = dense.T @ u
        return out

    def x(beta):  # X beta, shape (n, t)
        out = np.empty((n, t))
        for j in range(t):
            out[:, j] = np.bincount(rows, weights=vals * beta[:m, j][inv], minlength=n)
        return out + dense @ beta[m:]

    rhs = xt(targets)
    beta = np.zeros((m + k, t))
    r = rhs.copy()
    p = r.copy()
    rs = (r * r).sum(axis=0)
    tol = 1e-12 * np.maximum(1.0, (rhs * rhs).sum(axis=0))
    for _ in range(iters):
        if np.all(rs <= tol):
            break
        ap = xt(x(p)) + lam * p
        alpha = rs / np.maximum((p * ap).sum(axis=0), 1e-300)
        beta += alpha * p
        r -= alpha * ap
        new = (r * r).sum(axis=0)
        p = r + (new / np.maximum(rs, 1e-300)) * p
        rs = new
    return beta[:m], beta[m:], used


def _apgr(scores, local, cloud) -> float:
    from hybrid_ai.router.metrics import apgr, quality_curve

    try:
        return apgr(quality_curve(list(scores), list(local), list(cloud)))
    except ValueError:
        return 0.5


def _folds(n: int, k: int, seed: int) -> list[list[int]]:
    idx = list(range(n))
    random.Random(seed).shuffle(idx)
    return [idx[f::k] for f in range(k)]


def fit(
    examples: Sequence[Example],
    *,
    recipe: dict[str, Any] | None = None,
    offset: float | None = None,
    folds: int = 5,
    seed: int = 0,
    version: str | None = None,
) -> tuple[Model, dict[str, Any]]:
    """Ridge regression of the quality gain (cloud - local) on the featurizer's view of each
    labelled prompt, with the shipped model's standardised logit as a fixed offset whose weight
    (`recipe["offsets"]`) is chosen by k-fold cross-validated APGR on the labels themselves.

    Returns the model and a report with the out-of-fold scores (each label scored by a model
    fitted without it: what calibration reads, so thresholds are not set on memorised labels)."""
    import numpy as np

    if not examples:
        raise ValueError("no labelled examples to fit on")
    featurizer = Featurizer(recipe or {})
    rec = featurizer.recipe
    lam = float(rec["lambda"])
    rows, cols, vals, dense, base = _design(featurizer, examples)
    n = len(examples)
    mu = dense.mean(axis=0)
    sd = dense.std(axis=0)
    sd[sd < 1e-9] = np.inf  # a constant feature carries nothing
    prior = np.asarray(
        [math.sqrt(float(rec["feature_scale"]) / len(FEATURE_NAMES))] * len(FEATURE_NAMES)
        + [math.sqrt(float(rec["length_scale"]))]
    )
    z = (dense - mu) / sd * prior
    base_mu = float(base.mean())
    base_sd = float(base.std()) or 1.0
    bz = (base - base_mu) / base_sd
    y = np.asarray([e.gain for e in examples], dtype=np.float64)
    ybar = float(y.mean())
    targets = np.stack([y - ybar, bz], axis=1)  # ridge is linear in its target: fit both once
    local = [e.local for e in examples]
    cloud = [e.cloud for e in examples]
    offsets = [float(offset)] if offset is not None else [float(a) for a in rec["offsets"]]
    k = min(folds, n) if n >= 10 else 0
    oof = np.zeros((n, 2))
    if k >= 2:
        for part in _folds(n, k, seed):
            test = np.zeros(n, dtype=bool)
            test[part] = True
            train = ~test
            keep = train[rows]
            remap = np.cumsum(train) - 1
            sw, dw, used = _ridge(remap[rows[keep]], cols[keep], vals[keep], z[train], targets[train], lam)
            full = np.zeros((featurizer.buckets, 2))
            full[used] = sw
            tk = test[rows]
            tmap = np.cumsum(test) - 1
            for j in range(2):
                oof[test, j] = np.bincount(
                    tmap[rows[tk]], weights=vals[tk] * full[cols[tk], j], minlength=int(test.sum())
                )
            oof[test] += z[test] @ dw
    cv = {}
    for a in offsets:
        cv[str(a)] = round(_apgr(oof[:, 0] - a * oof[:, 1] + a * bz, local, cloud), 4) if k >= 2 else None
    chosen = max(offsets, key=lambda a: (cv[str(a)] or 0.0, -a)) if k >= 2 else offsets[0]
    sw, dw, used = _ridge(rows, cols, vals, z, targets[:, :1] - chosen * targets[:, 1:], lam)
    sparse_w = np.zeros(featurizer.buckets, dtype=np.float32)
    sparse_w[used] = sw[:, 0]
    dense_w = dw[:, 0] * prior  # weights on the standardised features
    data = {
        "format": FORMAT,
        "version": version or time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()),
        "recipe": rec,
        "bias": ybar,
        "dense_w": [float(v) for v in dense_w],
        "dense_mu": [float(v) for v in mu],
        "dense_sd": [float(v) if np.isfinite(v) else 1e300 for v in sd],
        "offset": chosen,
        "base_mu": base_mu,
        "base_sd": base_sd,
        "sparse": base64.b64encode(zlib.compress(sparse_w.astype("<f4").tobytes(), 6)).decode(),
        "labels": n,
        "cv_apgr": cv,
    }
    oof_scores = None
    if k >= 2:
        gain = oof[:, 0] - chosen * oof[:, 1] + chosen * bz
        oof_scores = [1.0 / (1.0 + math.exp(-(SHIPPED_OFFSET + base_mu + SCALE * g))) for g in gain]
    return Model(data), {"oof_scores": oof_scores, "cv_apgr": cv, "offset": chosen}


# ---------------------------------------------------------------- the router


class AdaptiveRouter:
    """The live router of a gateway: the published model when there is one, else the shipped
    learned model. `use()` swaps the model atomically (a reference assignment)."""

    name = "adaptive"

    def __init__(self) -> None:
        self._base = _base_router()
        self.model: Model | None = None
        self._lock = threading.Lock()

    def use(self, model: Model | None) -> None:
        with self._lock:
            self.model = model

    @property
    def version(self) -> str:
        m = self.model
        return m.version if m is not None else "shipped"

    def score(self, prompt: str, system: str | None = None) -> Score:
        model = self.model
        if model is None:
            s = self._base.score(prompt, system)
            value = 1.0 / (1.0 + math.exp(-(_logit(s.value) + SHIPPED_OFFSET)))
            return Score(value=value, factors=dict(s.factors), router=self.name)
        return model.score(prompt, system)


@register("adaptive")
def _factory() -> AdaptiveRouter:
    return AdaptiveRouter()
