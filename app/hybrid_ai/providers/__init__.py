"""Model backends behind one small interface: `complete()` for a whole answer, `stream()` for
text deltas. Each raises ProviderError with a reason the fallback logic acts on."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

# Reasons a backend failed; the gateway picks the next rung on any of them.
TIMEOUT = "timeout"
UNREACHABLE = "unreachable"
ERROR = "error"
RATE_LIMITED = "rate_limited"
NO_KEY = "no_key"
BUDGET = "budget"


class ProviderError(Exception):
    def __init__(self, reason: str, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.retry_after = retry_after


@dataclass
class Completion:
    text: str
    tokens_in: int
    tokens_out: int
    finish_reason: str = "stop"
    usage_estimated: bool = False
    upstream_ms: float = 0.0


@dataclass
class Delta:
    """One piece of a streamed answer; the last one carries usage and finish_reason."""

    text: str = ""
    done: bool = False
    tokens_in: int = 0
    tokens_out: int = 0
    finish_reason: str | None = None
    usage_estimated: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ChatInput:
    messages: tuple[Mapping[str, str], ...]
    system: str | None
    max_tokens: int
    temperature: float | None


class Provider(Protocol):
    name: str  # the ladder model name
    backend: str  # ollama | openai | anthropic

    def complete(self, req: ChatInput) -> Completion: ...

    def stream(self, req: ChatInput) -> Iterator[Delta]: ...

    def ping(self) -> bool: ...

    def close(self) -> None: ...


def estimate_tokens(text: str) -> int:
    """About 4 characters a token: used only when an engine reports no usage (flagged as estimated)."""
    return max(1, (len(text) + 3) // 4) if text else 0


def urls(spec: Mapping[str, Any]) -> list[str]:
    """A local model's upstream URLs (`url` is one URL or a list of replicas)."""
    url = spec["url"]
    return [url] if isinstance(url, str) else list(url)


def build(cfg: Mapping[str, Any], metrics: Any = None) -> dict[str, Provider]:
    """One provider per ladder model (local ones by engine, spread over their replicas when
    `url` lists several; `cloud` through Anthropic)."""
    from hybrid_ai.providers.anthropic import AnthropicProvider
    from hybrid_ai.providers.ollama import OllamaProvider
    from hybrid_ai.providers.openai_compat import OpenAICompatProvider
    from hybrid_ai.providers.replicas import ReplicatedEngine

    out: dict[str, Provider] = {}
    for name, spec in cfg["models"].items():
        cls = OllamaProvider if spec["engine"] == "ollama" else OpenAICompatProvider
        engines = [cls(name, u, spec["upstream_model"], float(spec["timeout_s"])) for u in urls(spec)]
        out[name] = engines[0] if len(engines) == 1 else ReplicatedEngine(name, engines, metrics)
    cloud = cfg["cloud"]
    out["cloud"] = AnthropicProvider(
        cloud["model"], cloud.get("api_key"), cloud.get("base_url"), float(cloud["timeout_s"])
    )
    return out
