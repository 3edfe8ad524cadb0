"""Taskwarrior records (contracts.md) and the report's arithmetic; the writer never blocks."""

from __future__ import annotations

import re
import time

import pytest

from hybrid_ai import taskwarrior as tw


def test_record_matches_the_contract():
    r = tw.record("rid-1", "tinyllama", "ollama", 0.123456, 0.0, 0.000012345678, 10, 20, when=0)
    assert r["description"] == "route rid-1 -> tinyllama"
    assert r["project"] == "vps_ai.router" and r["tags"] == ["routing"] and r["status"] == "completed"
    assert r["end"] == r["entry"] == "19700101T000000Z"
    assert r["model"] == "tinyllama" and r["backend"] == "ollama" and r["reqid"] == "rid-1"
    assert float(r["cost"]) == 0.0 and float(r["cloudcost"]) == pytest.approx(0.000012345678, abs=1e-12)
    assert float(r["complexity"]) == pytest.approx(0.1235) and r["tokensin"] == 10 and r["tokensout"] == 20
    assert set(tw.UDAS) == {"model", "backend", "complexity", "cost", "cloudcost", "reqid", "tokensin", "tokensout"}


def test_taskrc_snippet_declares_every_uda():
    snippet = tw.taskrc_snippet()
    for name, (kind, _) in tw.UDAS.items():
        assert re.search(rf"^uda\.{name}\.type={kind}$", snippet, re.M)
    assert snippet == tw.TASKRC_UDAS


def test_summarise_adds_up_by_model():
    tasks = [
        {"model": "cloud", "cost": 0.01, "cloudcost": 0.01, "tokensin": 100.0, "tokensout": 50.0},
        {"model": "tinyllama", "cost": 0.0, "cloudcost": 0.002, "tokensin": 10.0, "tokensout": 5.0},
        {"model": "tinyllama", "cost": 0.0, "cloudcost": 0.003, "tokensin": 20.0, "tokensout": 5.0},
    ]
    s = tw.summarise(tasks)
    assert s["by_model"]["tinyllama"]["requests"] == 2
    assert s["by_model"]["tinyllama"]["savings_usd"] == pytest.approx(0.005)
    assert s["total"]["cost_usd"] == pytest.approx(0.01) and s["total"]["savings_usd"] == pytest.approx(0.005)
    assert s["total"]["tokens_in"] == 130 and s["total"]["requests"] == 3


def test_month_bounds():
    assert tw._month_bounds("2026-12") == ("2026-12-01T00:00:00Z", "2027-01-01T00:00:00Z")
    with pytest.raises(SystemExit):
        tw._month_bounds("December")


def test_missing_task_binary_never_blocks(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no `task` here
    writer = tw.TaskWriter(str(tmp_path / "rc"), str(tmp_path / "data"), batch_size=2, flush_interval_s=0.1)
    start = time.perf_counter()
    for i in range(5):
        writer.submit(tw.record(f"r{i}", "tinyllama", "ollama", 0.1, 0, 0, 1, 1))
    assert time.perf_counter() - start < 0.05
    writer.close()
    assert writer.written == 0 and writer.dropped == 5 and writer.failures >= 1


def test_full_queue_drops_instead_of_blocking(tmp_path):
    writer = tw.TaskWriter(str(tmp_path / "rc"), str(tmp_path / "d"), max_queue=2)
    writer._ensure_thread = lambda: None  # no consumer: the queue fills
    for i in range(5):
        writer.submit({"i": i})
    assert writer.dropped == 3
