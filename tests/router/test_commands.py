"""`hybrid-ai route --jsonl` and `hybrid-ai router eval|calibrate|train`, end to end through
the installed console script."""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

import pytest
import yaml

from hybrid_ai import router as routers
from hybrid_ai.router.evaldata import STRONG, WEAK
from hybrid_ai.tiers import load_tier

from .conftest import EVAL_DATA, run_cli


def test_route_jsonl_end_to_end():
    lines = [
        {"prompt": "Hello! How are you?"},
        "this is not json",
        {"prompt": "Implement a B-tree in Rust with insertion and deletion, and analyse the complexity."},
        {"prompt": ""},
        {"prompt": "Summarize this.", "system": "You are a helpful assistant."},
        ["a", "list"],
        {"prompt": "x", "system": 5},
    ]
    stdin = "\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines) + "\n"
    proc = run_cli("route", "--jsonl", "--tier", "2", "--router", "heuristic", stdin=stdin)
    assert proc.returncode == 1, proc.stderr  # some lines were bad: reported, not fatal
    out = [json.loads(line) for line in proc.stdout.splitlines()]
    assert len(out) == len(lines)
    models = {r["model"] for r in load_tier(2)["routing"]["ladder"]}
    for i in (0, 2, 4):
        assert set(out[i]) == {"score", "model", "factors", "router"}
        assert out[i]["router"] == "heuristic"
        assert out[i]["model"] in models
        assert 0.0 <= out[i]["score"] <= 1.0
    assert out[0]["model"] == "tinyllama"
    for i, needle in ((1, "Expecting value"), (3, "prompt"), (5, "object"), (6, "system")):
        assert out[i]["line"] == i + 1 and needle in out[i]["error"]
    assert "4 line(s)" in proc.stderr


def test_route_uses_the_tiers_router_and_threshold_overrides():
    stdin = json.dumps({"prompt": "Write a Python function that parses ISO dates."}) + "\n"
    base = json.loads(run_cli("route", "--jsonl", "--tier", "1", "--router", "learned", stdin=stdin).stdout)
    assert base["router"] == "learned" and base["model"] == "cloud"
    over = run_cli(
        "route", "--jsonl", "--tier", "1", "--router", "learned", "--threshold", "tinyllama=1.0", stdin=stdin
    )
    assert json.loads(over.stdout)["model"] == "tinyllama"
    bad = run_cli("route", "--jsonl", "--router", "nope", stdin=stdin)
    assert bad.returncode == 2 and "available" in bad.stderr


def _synthetic_data(folder: Path) -> None:
    """A tiny routing-eval folder: 4 MT-Bench questions and 4 GSM8K rows."""
    questions = [
        (1, "math", "Solve for x: 2x + 3 = 11.", 8, 3),
        (2, "writing", "Write a poem about tea.", 9, 9),
        (3, "coding", "Write a Python function to reverse a list.", 9, 5),
        (4, "roleplay", "Pretend you are a cat.", 8, 8),
    ]
    with (folder / "mt_bench_question.jsonl").open("w") as fh:
        for qid, cat, text, _, _ in questions:
            fh.write(json.dumps({"question_id": qid, "category": cat, "turns": [text, "And then?"]}) + "\n")
    with (folder / "mt_bench_judgements.jsonl").open("w") as fh:
        for qid, _, _, strong, weak in questions:
            for turn in (1, 2):
                fh.write(json.dumps({"question_id": qid, "model": STRONG, "score": strong, "turn": turn}) + "\n")
                fh.write(json.dumps({"question_id": qid, "model": WEAK, "score": weak, "turn": turn}) + "\n")
    with (folder / "gsm8k_responses.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["prompt", WEAK, STRONG])
        w.writerow(["Tom has 2 apples and gets 3 more. How many now?", "True", "True"])
        w.writerow(["A shop sells 3 pens for $2, then 15% off each of 12 pens. What is the total?", "False", "True"])
        w.writerow(["Contaminated question", "False", "True"])
        w.writerow(["Ann reads 5 pages a day. How many in 2 days?", "True", "True"])
    (folder / "gsm8k_contaminated_prompts.jsonl").write_text(
        json.dumps({"eval_prompt": "Contaminated question"}) + "\n"
    )


def test_eval_on_synthetic_data(tmp_path):
    _synthetic_data(tmp_path)
    proc = run_cli("router", "eval", "--data", str(tmp_path), "--json")
    assert proc.returncode == 0, proc.stderr
    rows = {(r["benchmark"], r["router"]): r for r in json.loads(proc.stdout)}
    assert set(rows) == {(b, r) for b in ("mt-bench", "gsm8k") for r in ("random", "heuristic", "learned")}
    assert rows[("gsm8k", "random")]["prompts"] == 3  # the contaminated row is dropped
    assert rows[("mt-bench", "random")]["apgr"] == pytest.approx(0.5)
    # learned puts math and code (the two gaps) above the poem and the role-play: a perfect order.
    # weak 3, 9, 5, 8 (mean 6.25), strong 8, 9, 9, 8 (mean 8.5); gains 5 (math) and 4 (code):
    # quality curve 6.25, 7.5, 8.5, 8.5, 8.5 -> area (6.875 + 8 + 8.5 + 8.5) / 4, gap 2.25
    assert rows[("mt-bench", "learned")]["apgr"] == pytest.approx(((6.875 + 8 + 8.5 + 8.5) / 4 - 6.25) / 2.25, abs=1e-4)
    assert rows[("mt-bench", "learned")]["cpt50"] == pytest.approx(0.25)
    for r in rows.values():
        assert 0 <= r["p50_ms"] <= r["p99_ms"] < 50


def test_eval_table_and_bad_folder(tmp_path):
    _synthetic_data(tmp_path)
    proc = run_cli("router", "eval", "--data", str(tmp_path), "--router", "heuristic")
    assert proc.returncode == 0 and "APGR" in proc.stdout and "heuristic" in proc.stdout
    assert "learned" not in proc.stdout.split("APGR:")[0]
    empty = run_cli("router", "eval", "--data", str(tmp_path / "none"))
    assert empty.returncode == 2 and "no routing-eval data" in empty.stderr


@pytest.mark.skipif(not EVAL_DATA.is_dir(), reason="the RouteLLM dev data is not next to this checkout")
def test_eval_on_dev_data_reproduces_the_baselines():
    proc = run_cli("router", "eval", "--data", str(EVAL_DATA), "--json")
    rows = {(r["benchmark"], r["router"]): r for r in json.loads(proc.stdout)}
    assert rows[("mt-bench", "heuristic")]["apgr"] == pytest.approx(0.63, abs=0.02)
    assert rows[("gsm8k", "heuristic")]["apgr"] == pytest.approx(0.53, abs=0.02)
    assert rows[("mt-bench", "learned")]["apgr"] > rows[("mt-bench", "heuristic")]["apgr"] + 0.05
    assert rows[("gsm8k", "learned")]["apgr"] > rows[("gsm8k", "heuristic")]["apgr"]


def _sample_prompts(path: Path, n: int = 400) -> None:
    rng = random.Random(3)
    parts = [
        "Write a short poem about {}.",
        "Tell me about {}.",
        "Implement a function in Python that sorts {} by date.",
        "A farmer has {} cows and sells 15% of them each year. How many are left after 3 years?",
        "Compare and analyze the trade-offs of {} in detail.",
        "Hi, what do you think of {}?",
    ]
    topics = ["the sea", "cats", "invoices", "trains", "42", "coffee", "databases", "autumn", "chess", "bread"]
    with path.open("w") as fh:
        for i in range(n):
            text = rng.choice(parts).format(rng.choice(topics)) + " " + "more detail " * rng.randint(0, 40)
            fh.write(json.dumps({"prompt": text.strip()}) if i % 2 else text.strip())
            fh.write("\n")


@pytest.mark.parametrize(("router", "share"), [("learned", 0.3), ("learned", 0.1), ("heuristic", 0.3)])
def test_calibrate_hits_the_target_share(tmp_path, router, share):
    prompts = tmp_path / "prompts.txt"
    _sample_prompts(prompts)
    out = tmp_path / "thresholds.yml"
    proc = run_cli(
        "router", "calibrate", "--target-cloud-share", str(share), "--prompts", str(prompts),
        "--tier", "2", "--router", router, "--write", str(out),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    data = yaml.safe_load(out.read_text())
    assert data["router"] == router and set(data["thresholds"]) == {"tinyllama", "phi-2"}
    ladder = load_tier(2)["routing"]["ladder"]
    new = routers.apply_thresholds(ladder, data["thresholds"])
    # the relative bands are kept: tinyllama's limit stays half of phi-2's
    assert data["thresholds"]["tinyllama"] == pytest.approx(data["thresholds"]["phi-2"] / 2, rel=1e-3)
    r = routers.get_router(router)
    texts = [json.loads(x)["prompt"] if x.startswith("{") else x for x in prompts.read_text().splitlines()]
    values = sorted(r.score(t).value for t in texts)
    picks = [routers.choose_rung(v, new) for v in values]
    reached = picks.count("cloud") / len(picks)
    if router == "learned":  # near-continuous scores: the target is hit
        assert reached == pytest.approx(share, abs=0.02)
    # scores that tie cannot be split: the share is the reachable one nearest the target
    reachable = {sum(1 for v in values if v >= cut) / len(values) for cut in [*values, 1.01]}
    assert abs(reached - share) == pytest.approx(min(abs(x - share) for x in reachable), abs=1e-9)


def test_calibrate_bad_input(tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("\n")
    proc = run_cli("router", "calibrate", "--target-cloud-share", "0.3", "--prompts", str(empty))
    assert proc.returncode == 2 and "no prompts" in proc.stderr
    (tmp_path / "p.txt").write_text("hello\n")
    proc = run_cli("router", "calibrate", "--target-cloud-share", "1.5", "--prompts", str(tmp_path / "p.txt"))
    assert proc.returncode == 2 and "[0, 1]" in proc.stderr


def test_train_changes_decisions_on_synthetic_labels(tmp_path):
    # This user's local model fails at anything about spreadsheets, and does fine on long
    # friendly-sounding support answers: labels say so, and the refit router must follow.
    rng = random.Random(5)
    records = []
    for i in range(40):
        n = rng.randint(2, 90)
        records.append(
            {"request_id": f"s{i}", "prompt": f"Spreadsheet pivot formula for column {n}, please.",
             "model": "tinyllama", "rating": "bad"}
        )  # fmt: skip
        records.append(
            {"request_id": f"e{i}", "prompt": f"Spreadsheet macro loops over sheet {n} and breaks.",
             "model": "tinyllama", "escalated": True}
        )  # fmt: skip
        records.append(
            {"request_id": f"g{i}", "prompt": f"Friendly reply to a customer asking about order {n}.",
             "model": "tinyllama", "rating": "good"}
        )  # fmt: skip
        records.append({"request_id": f"c{i}", "prompt": "anything", "model": "cloud", "rating": "good"})
        records.append({"request_id": f"h{i}", "prompt_sha256": "ab" * 32, "model": "tinyllama", "rating": "bad"})
    path = tmp_path / "records.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    model = tmp_path / "model.json"
    proc = run_cli("router", "train", "--records", str(path), "--out", str(model))
    assert proc.returncode == 0, proc.stderr
    assert "120 user labels" in proc.stdout  # the 40 cloud answers carry no routing label
    assert "40 labelled record(s) carry no prompt text" in proc.stdout
    meta = json.loads(model.read_text())["meta"]
    assert meta["user_labels"] == 120 and meta["user_needs_stronger"] == 80
    probe = "Spreadsheet pivot formula for the sales column, please."
    stdin = json.dumps({"prompt": probe}) + "\n"
    before = json.loads(run_cli("route", "--jsonl", "--tier", "2", "--router", "learned", stdin=stdin).stdout)
    after = json.loads(
        run_cli(
            "route", "--jsonl", "--tier", "2", "--router", "learned", stdin=stdin,
            env={"HYBRID_AI_ROUTER_MODEL": str(model)},
        ).stdout
    )  # fmt: skip
    assert before["model"] != "cloud"
    assert after["model"] == "cloud" and after["score"] > before["score"] + 0.3
    assert after["factors"]["words"] > 0


def test_train_rejects_bad_records(tmp_path):
    path = tmp_path / "records.jsonl"
    path.write_text('{"prompt": "ok", "label": 1}\nnot json\n')
    proc = run_cli("router", "train", "--records", str(path), "--out", str(tmp_path / "m.json"))
    assert proc.returncode == 2 and ":2: not JSON" in proc.stderr


@pytest.mark.parametrize(
    ("record", "label"),
    [
        ({"model": "tinyllama", "rating": "bad"}, 1.0),
        ({"model": "tinyllama", "rating": "good"}, 0.0),
        ({"model": "cloud", "rating": "bad"}, None),
        ({"model": "cloud", "rating": "good"}, None),
        ({"model": "cloud", "escalations": [{"from": "tinyllama", "to": "cloud", "reason": "refusal"}]}, 1.0),
        ({"model": "cloud", "escalations": [{"from": "tinyllama", "to": "cloud", "reason": "timeout"}]}, None),
        ({"model": "phi-2", "rating": "good", "escalations": [{"from": "tinyllama", "reason": "empty"}]}, 0.5),
        ({"model": "tinyllama"}, None),
        ({"label": 1}, 1.0),
    ],
)
def test_labels_from_gateway_records(record, label):
    from hybrid_ai.router.manage import label_of

    assert label_of(record) == label


def test_train_reports_an_unreachable_redis(tmp_path):
    proc = run_cli("router", "train", "--redis", "redis://127.0.0.1:1/0", "--out", str(tmp_path / "m.json"))
    assert proc.returncode == 2 and "cannot read labels from Redis" in proc.stderr
    assert not (tmp_path / "m.json").exists()
