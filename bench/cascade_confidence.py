"""What the local engine's own confidence adds to routing (`make bench-cascade`).

A cascade may ask the local model first and escalate when it is unsure. This measures that
signal with the real local engine: llama.cpp's server with the test model answers each
multiple-choice question of the held-out ARC-Challenge and Winogrande sets (data/router/heldout,
answer keys from RouterBench) with one token; its confidence is the probability it gives the
letter it picks, normalised over the letters offered (token log-probabilities, `top_logprobs`).

Then, per set, APGR with the local model as the weak model (its own 0/1 correctness) and
GPT-4-1106 as the strong one (RouterBench's 0/1), for four orders of escalation:
- random (0.5 by definition);
- learned: the pre-routing score alone (no local call needed);
- confidence: 1 - local confidence (needs the local answer first);
- both: the mean of the two ranks.
Prints figures only; nothing here is a pass/fail test.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "app"))

from hybrid_ai import router as routers  # noqa: E402
from hybrid_ai.router.metrics import apgr, quality_curve  # noqa: E402
from tests.servers import MODEL, LlamaServer  # noqa: E402

SETS = ("rb-arc-challenge", "rb-winogrande")
_OPTION = re.compile(r"^([A-E])\)", re.MULTILINE)


def ask(client: httpx.Client, url: str, prompt: str, letters: list[str]) -> tuple[str, float]:
    """The letter the local model picks and its probability among the offered letters."""
    body = {
        "model": LlamaServer.ALIAS,
        "messages": [{"role": "user", "content": prompt}],
        "max_tokens": 1,
        "temperature": 0,
        "logprobs": True,
        "top_logprobs": 20,
    }
    r = client.post(url + "/chat/completions", json=body, timeout=120)
    r.raise_for_status()
    top = r.json()["choices"][0]["logprobs"]["content"][0]["top_logprobs"]
    probs = dict.fromkeys(letters, 0.0)
    for t in top:
        tok = t["token"].strip()
        if tok in probs:
            probs[tok] += math.exp(t["logprob"])
    total = sum(probs.values())
    if total <= 0:  # no offered letter among the top tokens: a guess with no confidence
        return letters[0], 1.0 / len(letters)
    pick = max(letters, key=lambda k: probs[k])
    return pick, probs[pick] / total


def ranks(values: list[float]) -> list[float]:
    order = sorted(range(len(values)), key=lambda i: values[i])
    out = [0.0] * len(values)
    i = 0
    while i < len(order):  # average rank for ties
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            out[order[k]] = (i + j) / 2 / max(1, len(values) - 1)
        i = j + 1
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=int, default=100, help="questions per set (default 100; bounded run)")
    ap.add_argument("--router", default="learned", help="pre-routing score to compare (default learned)")
    args = ap.parse_args()
    if not MODEL.is_file():
        print(f"bench-cascade: test model missing: {MODEL} (make setup fetches it)", file=sys.stderr)
        return 2
    router = routers.get_router(args.router)
    with tempfile.TemporaryDirectory() as tmp:
        srv = LlamaServer(Path(tmp) / "llama", n_threads=None, n_ctx=1024).start()
        try:
            with httpx.Client() as client:
                for name in SETS:
                    rows = [json.loads(x) for x in (ROOT / "data/router/heldout" / f"{name}.jsonl").open()]
                    rows = [r for r in rows if r.get("answer")][: args.limit]
                    t0 = time.monotonic()
                    local, conf, pre, strong = [], [], [], []
                    for n, r in enumerate(rows, 1):
                        letters = _OPTION.findall(r["prompt"]) or ["A", "B", "C", "D"]
                        pick, p = ask(client, srv.url, r["prompt"], letters)
                        local.append(float(pick == r["answer"]))
                        conf.append(p)
                        pre.append(router.score(r["prompt"]).value)
                        strong.append(float(r["strong"]))
                        if n % 50 == 0:
                            print(f"  {name}: {n}/{len(rows)} asked ({time.monotonic() - t0:.0f} s)", flush=True)
                    unsure = [1.0 - c for c in conf]
                    both = [a + b for a, b in zip(ranks(pre), ranks(unsure), strict=True)]
                    acc = sum(local) / len(local)
                    print(
                        f"{name}: {len(rows)} questions, local model right {acc:.1%}, strong right "
                        f"{sum(strong) / len(strong):.1%}, mean local confidence {sum(conf) / len(conf):.2f}, "
                        f"{time.monotonic() - t0:.0f} s"
                    )
                    for label, scores in (
                        ("random", [0.5] * len(rows)),
                        (args.router, pre),
                        ("confidence", unsure),
                        (f"{args.router}+confidence", both),
                    ):
                        try:
                            value = apgr(quality_curve(scores, local, strong))
                        except ValueError as exc:
                            print(f"  {label:<22} APGR undefined ({exc})")
                            continue
                        print(f"  {label:<22} APGR {value:.3f}")
        finally:
            srv.stop()
    print("weak = the local test model's own answers; strong = GPT-4-1106 (RouterBench); one token per question.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
