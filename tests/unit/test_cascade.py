"""Cascade mode's cheap answer checks."""

from __future__ import annotations

from hybrid_ai.cascade import judge

LONG_Q = " ".join(["word"] * 60) + "?"


def test_good_answer_passes():
    assert judge("What is 2+2?", "4", "stop") is None
    assert judge(LONG_Q, "Here is a detailed answer with several words in it.", "stop") is None


def test_each_reason():
    assert judge("hi", "   ", "stop") == "empty"
    assert judge("hi", "Some text that was cut", "length") == "truncated"
    assert judge("hi", "I'm sorry, but I can't help with that.", "stop") == "refusal"
    assert judge("hi", "As an AI language model, I cannot", "stop") == "refusal"
    assert judge(LONG_Q, "Yes.", "stop") == "too_short"
