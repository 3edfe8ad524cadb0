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
    """The brief's rule, in its own steps: length (+0.1 over 100 characters, +0.3 over 500),
    complex keywords (0.15 each, up to 0.4) and code (+0.2); the sum capped at 1."""

    name = "heuristic"

    def score(self, prompt: str, system: str | None = None) -> Score:
        text = prompt if system is None else f"{system}\n{prompt}"
        lowered = text.lower()
        length = 0.3 if len(text) > 500 else 0.1 if len(text) > 100 else 0.0
        hits = sum(1 for w in _COMPLEX_WORDS if w in lowered)
        keywords = min(hits * 0.15, 0.4)
        code = 0.2 if _CODE.search(text) else 0.0
        factors = {"length": round(length, 4), "keywords": round(keywords, 4), "code": code}
        value = min(max(length + keywords + code, 0.0), 1.0)
        return Score(value=round(value, 4), factors=factors, router=self.name)


@register("heuristic")
def _factory() -> HeuristicRouter:
    return HeuristicRouter()
