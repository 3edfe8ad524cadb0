"""The product brief's keyword/length heuristic, kept by name as the baseline router."""

from __future__ import annotations

import re

from hybrid_ai.router import Score, register

# The brief's signals: long prompts, "hard task" words, and code.
_COMPLEX_WORDS = (
    "analyze",
    "analyse",
    "compare",
    "explain why",
    "evaluate",
    "design",
    "architecture",
    "optimize",
    "prove",
    "derive",
    "step by step",
    "trade-off",
    "tradeoff",
    "implications",
    "comprehensive",
    "detailed",
    "strategy",
    "research",
    "critique",
    "debug",
)
_CODE = re.compile(r"```|\bdef |\bclass |\bfunction\b|\breturn\b|[{};]\s*$|#include|SELECT .* FROM", re.I | re.M)


class HeuristicRouter:
    """score = length (up to 0.4) + complex keywords (0.15 each, up to 0.4) + code (0.2)."""

    name = "heuristic"

    def score(self, prompt: str, system: str | None = None) -> Score:
        text = prompt if system is None else f"{system}\n{prompt}"
        lowered = text.lower()
        words = len(text.split())
        length = min(words / 500.0, 1.0) * 0.4
        hits = sum(1 for w in _COMPLEX_WORDS if w in lowered)
        keywords = min(hits * 0.15, 0.4)
        code = 0.2 if _CODE.search(text) else 0.0
        factors = {"length": round(length, 4), "keywords": round(keywords, 4), "code": code}
        value = min(max(length + keywords + code, 0.0), 1.0)
        return Score(value=round(value, 4), factors=factors, router=self.name)


@register("heuristic")
def _factory() -> HeuristicRouter:
    return HeuristicRouter()
