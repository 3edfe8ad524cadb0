"""Routers score a prompt in [0, 1] (higher = needs a stronger model) and explain the score.

Scoring is a pure function of the text, kept apart from I/O, so it is tested without a
network. `choose_rung` maps a score onto a tier's ladder.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

CLOUD = "cloud"


@dataclass(frozen=True)
class Score:
    """A router's verdict: `value` in [0, 1] and what each factor added to it."""

    value: float
    factors: dict[str, float] = field(default_factory=dict)
    router: str = ""


class Router(Protocol):
    name: str

    def score(self, prompt: str, system: str | None = None) -> Score: ...


_REGISTRY: dict[str, Callable[[], Router]] = {}
_INSTANCES: dict[str, Router] = {}


def register(name: str) -> Callable[[Callable[[], Router]], Callable[[], Router]]:
    """Register a router factory under a name usable in tiers/ and the gateway config."""

    def wrap(factory: Callable[[], Router]) -> Callable[[], Router]:
        _REGISTRY[name] = factory
        return factory

    return wrap


def _load_builtin() -> None:
    # Importing the modules registers their routers.
    from hybrid_ai.router import heuristic  # noqa: F401

    try:  # routers with optional artifacts register themselves when importable
        from hybrid_ai.router import adaptive, learned  # noqa: F401
    except ImportError:
        pass


def available() -> list[str]:
    _load_builtin()
    return sorted(_REGISTRY)


def get_router(name: str) -> Router:
    """A shared instance of the named router; ValueError naming the valid ones otherwise."""
    _load_builtin()
    if name not in _REGISTRY:
        raise ValueError(f"unknown router {name!r}; available: {', '.join(sorted(_REGISTRY))}")
    if name not in _INSTANCES:
        _INSTANCES[name] = _REGISTRY[name]()
    return _INSTANCES[name]


def choose_rung(score: float, ladder: Sequence[Mapping[str, Any]]) -> str:
    """The first rung whose max_complexity is above the score; the last rung (cloud) otherwise."""
    for rung in ladder:
        limit = rung.get("max_complexity")
        if limit is None or score < float(limit):
            return str(rung["model"])
    return str(ladder[-1]["model"])


def apply_thresholds(ladder: Sequence[Mapping[str, Any]], overrides: Mapping[str, float]) -> list[dict[str, Any]]:
    """A copy of the ladder with some rungs' max_complexity replaced; order must still increase."""
    out = [dict(r) for r in ladder]
    for rung in out:
        if rung["model"] in overrides and rung.get("max_complexity") is not None:
            value = float(overrides[rung["model"]])
            if not 0.0 < value <= 1.0:
                raise ValueError(f"threshold for {rung['model']} must be in (0, 1], got {value}")
            rung["max_complexity"] = value
    limits = [r["max_complexity"] for r in out if r.get("max_complexity") is not None]
    if limits != sorted(limits) or len(set(limits)) != len(limits):
        raise ValueError(f"thresholds must increase along the ladder, got {limits}")
    return out
