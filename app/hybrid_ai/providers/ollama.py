"""Ollama's native API (/api/chat): the default engine on real servers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from hybrid_ai.providers import ChatInput, Completion, Delta
from hybrid_ai.providers._http import HttpEngine, loads


class OllamaProvider(HttpEngine):
    backend = "ollama"

    def _payload(self, req: ChatInput, stream: bool) -> dict[str, Any]:
        messages = [{"role": "system", "content": req.system}] if req.system else []
        messages += [dict(m) for m in req.messages]
        options: dict[str, Any] = {"num_predict": req.max_tokens}
        if req.temperature is not None:
            options["temperature"] = req.temperature
        return {"model": self.upstream_model, "messages": messages, "stream": stream, "options": options}

    def complete(self, req: ChatInput) -> Completion:
        data, elapsed = self.post_json("/api/chat", self._payload(req, False))
        return Completion(
            text=str((data.get("message") or {}).get("content") or ""),
            tokens_in=int(data.get("prompt_eval_count") or 0),
            tokens_out=int(data.get("eval_count") or 0),
            finish_reason="length" if data.get("done_reason") == "length" else "stop",
            upstream_ms=elapsed,
        )

    def stream(self, req: ChatInput) -> Iterator[Delta]:
        with self.open_stream("/api/chat", self._payload(req, True)) as response:
            for line in self.iter_lines(response):
                if not line.strip():
                    continue
                data = loads(line, self.name)
                text = str((data.get("message") or {}).get("content") or "")
                if data.get("done"):
                    if text:
                        yield Delta(text=text)
                    yield Delta(
                        done=True,
                        tokens_in=int(data.get("prompt_eval_count") or 0),
                        tokens_out=int(data.get("eval_count") or 0),
                        finish_reason="length" if data.get("done_reason") == "length" else "stop",
                    )
                    return
                if text:
                    yield Delta(text=text)

    def ping(self) -> bool:
        return self.get_ok("/api/tags")
