"""OpenAI-compatible local servers (llama.cpp server, vLLM): POST {base}/chat/completions."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from hybrid_ai.providers import ERROR, ChatInput, Completion, Delta, ProviderError, estimate_tokens
from hybrid_ai.providers._http import HttpEngine, loads


class OpenAICompatProvider(HttpEngine):
    backend = "openai"

    def _payload(self, req: ChatInput, stream: bool) -> dict[str, Any]:
        messages = [{"role": "system", "content": req.system}] if req.system else []
        messages += [dict(m) for m in req.messages]
        payload: dict[str, Any] = {"model": self.upstream_model, "messages": messages, "max_tokens": req.max_tokens}
        if req.temperature is not None:
            payload["temperature"] = req.temperature
        if stream:
            payload["stream"] = True
            payload["stream_options"] = {"include_usage": True}
        return payload

    def complete(self, req: ChatInput) -> Completion:
        data, elapsed = self.post_json("/chat/completions", self._payload(req, False))
        try:
            choice = data["choices"][0]
            text = str(choice["message"].get("content") or "")
        except (KeyError, IndexError, TypeError, AttributeError) as exc:
            raise ProviderError(ERROR, f"{self.name}: upstream reply has no choices") from exc
        usage = data.get("usage") or {}
        estimated = not usage
        return Completion(
            text=text,
            tokens_in=int(usage.get("prompt_tokens") or (estimate_tokens(_joined(req)) if estimated else 0)),
            tokens_out=int(usage.get("completion_tokens") or (estimate_tokens(text) if estimated else 0)),
            finish_reason="length" if choice.get("finish_reason") == "length" else "stop",
            usage_estimated=estimated,
            upstream_ms=elapsed,
        )

    def stream(self, req: ChatInput) -> Iterator[Delta]:
        chunks = 0
        finish: str | None = None
        usage: dict[str, Any] = {}
        with self.open_stream("/chat/completions", self._payload(req, True)) as response:
            for line in self.iter_lines(response):
                if not line.startswith("data:"):
                    continue
                body = line[5:].strip()
                if body == "[DONE]":
                    break
                data = loads(body, self.name)
                usage = data.get("usage") or usage
                for choice in data.get("choices") or []:
                    text = (choice.get("delta") or {}).get("content") or ""
                    if text:
                        chunks += 1
                        yield Delta(text=text)
                    finish = choice.get("finish_reason") or finish
        # llama.cpp's server sends no usage when streaming: each content chunk is one token,
        # and the prompt is estimated; the record says so (usage_estimated).
        estimated = not usage
        yield Delta(
            done=True,
            tokens_in=int(usage.get("prompt_tokens") or estimate_tokens(_joined(req))),
            tokens_out=int(usage.get("completion_tokens") or chunks),
            finish_reason="length" if finish == "length" else "stop",
            usage_estimated=estimated,
        )

    def ping(self) -> bool:
        return self.get_ok("/models")


def _joined(req: ChatInput) -> str:
    return "\n".join([req.system or ""] + [m["content"] for m in req.messages])
