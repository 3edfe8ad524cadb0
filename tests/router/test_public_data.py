"""Training-data hygiene for the learned router: the decontamination test itself, and that no
evaluation prompt (MT-Bench, GSM8K) and no held-out prompt is among the training prompts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hybrid_ai.router import public_data
from hybrid_ai.router.evaldata import load_heldout

ROOT = Path(__file__).resolve().parents[2]
HASHES = ROOT / "data" / "router" / "training-prompts.blake2b"
HELDOUT = ROOT / "data" / "router" / "heldout"
DEV = ROOT.parent / "shared" / "data" / "routing-eval"

EVAL = {
    "gsm8k": [
        "Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in May. "
        "How many clips did Natalia sell altogether in April and May?"
    ],
    "mt-bench": [
        "Compose an engaging travel blog post about a recent trip to Hawaii, highlighting cultural experiences."
    ],
}


def training_hashes() -> set[str]:
    return set(HASHES.read_text(encoding="ascii").split())


def test_normalised_copies_are_caught():
    dec = public_data.Decontaminator(EVAL)
    assert (
        dec.match(
            "  COMPOSE an engaging travel-blog post about a recent trip to Hawaii; highlighting cultural experiences!"
        )
        == "mt-bench"
    )


def test_an_eval_prompt_inside_a_longer_prompt_is_caught():
    dec = public_data.Decontaminator(EVAL)
    wrapped = "Solve step by step. Question: " + EVAL["gsm8k"][0] + " Put the answer after ####."
    assert dec.match(wrapped) == "gsm8k"


def test_an_edited_copy_is_caught_but_a_new_prompt_is_not():
    dec = public_data.Decontaminator(EVAL)
    edited = (
        "Natalia sold clips to 52 of her friends in April, and then she sold half as many clips in May. "
        "How many clips did Natalia sell altogether in April and May?"
    )
    assert dec.match(edited) == "gsm8k"
    assert dec.match("Natalia sold apples at the market on Monday. What did she buy on Tuesday?") is None
    assert dec.match("Write a poem about autumn leaves.") is None


def test_few_shot_examples_are_stripped_from_routerbench_prompts():
    cell = repr(["Which is a metal?\nA) iron\nB) wood\nAnswer:\nA\n\nWhich is a gas?\nA) rock\nB) steam\nAnswer:"])
    assert public_data._first_prompt(cell) == "Which is a gas?\nA) rock\nB) steam\nAnswer:"


def test_hash_ignores_case_and_punctuation_only():
    assert public_data.prompt_hash("What is 2+2?") == public_data.prompt_hash("what is 2 + 2")
    assert public_data.prompt_hash("What is 2+2?") != public_data.prompt_hash("What is 2+3?")


def test_no_held_out_prompt_is_in_the_training_set():
    train = training_hashes()
    sets = load_heldout(HELDOUT)
    assert sum(len(v) for v in sets.values()) > 1000
    for name, items in sets.items():
        leaked = [i.prompt[:60] for i in items if public_data.prompt_hash(i.prompt) in train]
        assert not leaked, f"{name}: {len(leaked)} held-out prompts are training prompts, e.g. {leaked[:2]}"


@pytest.mark.skipif(not DEV.is_dir(), reason="the RouteLLM dev data is not next to this checkout")
def test_no_dev_folder_prompt_is_in_the_training_set_or_the_held_out_sets():
    evals = public_data.eval_prompts(DEV, None)
    assert len(evals["mt-bench"]) >= 80 and len(evals["gsm8k"]) >= 1000
    train = training_hashes()
    for name, prompts in evals.items():
        assert not [p for p in prompts if public_data.prompt_hash(p) in train], name
    dec = public_data.Decontaminator(evals)
    for name, items in load_heldout(HELDOUT).items():
        hits = [i.prompt[:60] for i in items if dec.match(i.prompt)]
        assert not hits, f"{name}: {hits[:3]}"


def test_held_out_files_say_where_they_come_from():
    sources = (ROOT / "data" / "router" / "SOURCES.md").read_text(encoding="utf-8")
    for src in public_data.SOURCES:
        assert src.repo in sources and src.commit in sources
    for path in HELDOUT.glob("*.jsonl"):
        assert path.name in sources
        first = json.loads(path.read_text(encoding="utf-8").splitlines()[0])
        assert {"prompt", "weak", "strong"} <= set(first) <= {"prompt", "weak", "strong", "answer"}


def test_grouped_fit_learns_within_benchmark_difficulty_not_benchmark_identity():
    np = pytest.importorskip("numpy")
    from hybrid_ai.router import outcome

    rng = np.random.default_rng(3)
    xs, ys, gs = [], [], []
    # benchmark 0 labels high and has feature values near 0.8; benchmark 1 labels low near 0.2;
    # inside each, a higher feature means a higher label
    for g, (centre, base) in enumerate(((0.8, 0.8), (0.2, 0.2))):
        for _ in range(300):
            x = centre + rng.uniform(-0.15, 0.15)
            p = min(0.99, max(0.01, base - 2.0 * (x - centre)))  # within a group: higher x, LOWER label
            xs.append([x])
            ys.append(float(rng.random() < p))
            gs.append(g)
    grouped, _ = outcome.fit_grouped(xs, ys, gs, [0.0], 1e-4)
    pooled, _ = outcome.fit_grouped(xs, ys, [0] * len(xs), [0.0], 1e-4)
    assert pooled[0] > 0 > grouped[0]  # pooled learns "looks like benchmark 0"; grouped the real sign
    held, _ = outcome.fit_grouped(xs, ys, gs, [5.0], 1e3)
    assert held[0] == pytest.approx(5.0, abs=0.05)  # a strong prior keeps the prior weights
