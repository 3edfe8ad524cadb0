"""Cheap checks on an answer, for cascade mode: try the cheapest rung first and escalate when
the answer is empty, truncated, a refusal, or far too short for the question. Pure functions."""

from __future__ import annotations

import re

_REFUSAL = re.compile(
    r"^\W*(i('| a)m (sorry|not able|unable)|i can(no|')t|i cannot|as an ai\b|i am not able|i won't|i will not)",
    re.IGNORECASE,
)


def judge(prompt: str, answer: str, finish_reason: str | None) -> str | None:
    """None when the answer passes; else the reason to escalate."""
    text = answer.strip()
    if not text:
        return "empty"
    if finish_reason == "length":
        return "truncated"
    if _REFUSAL.search(text[:200]):
        return "refusal"
    prompt_words = len(prompt.split())
    answer_words = len(text.split())
    if prompt_words >= 40 and answer_words < 5:
        return "too_short"
    return None
