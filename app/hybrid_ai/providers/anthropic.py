"""Anthropic's Messages API through the official SDK; base URL configurable (tests point it at a
local stand-in). The SDK's own retries are off: the gateway retries once where that is safe
(connection failure, 5xx/overloaded before any output) and treats 429 as "fall back now"."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from hybrid_ai.providers import (
    ERROR,
    NO_KEY,
    RATE_LIMITED,
    TIMEOUT,
    UNREACHABLE,
    ChatInput,
    Completion,
    Delta,
    ProviderError,
)


class AnthropicProvider:
    backend = "anthropic"
    name = "cloud"

    def __init__(self, model: str, api_key: str | None, base_url: str | None, timeout_s: float) -> None:
        self.model = model
        self.api_key = api_key
        self.base_url = base_url
        self.timeout_s = timeout_s
        self._client: Any = None

    @property
    def has_key(self) -> bool:
        return bool(self.api_key)

    @property
    def client(self) -> Any:
        if not self.api_key:
            raise ProviderError(NO_KEY, "no Anthropic API key configured (ANTHROPIC_API_KEY or cloud.api_key_file)")
        if self._client is None:
            import anthropic

            self._client = anthropic.Anthropic(
                api_key=self.api_key, base_url=self.base_url or None, timeout=self.timeout_s, max_retries=0
            )
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def _params(self, req: ChatInput) -> dict[str, Any]:
        params: dict[str, Any] = {
            "model": self.model,
            "max_tokens": req.max_tokens,
            "messages": [{"role": m["role"], "content": m["content"]} for m in req.messages],
        }
        if req.system:
            params["system"] = req.system
        # temperature is not sent: the SDK's Messages.create no longer takes it (current models
        # choose their own sampling); local engines still get it.
        return params

    def _map(self, exc: Exception) -> ProviderError:
        import anthropic

        if isinstance(exc, ProviderError):
            return exc
        if isinstance(exc, anthropic.RateLimitError):
            retry = exc.response.headers.get("retry-after") if exc.response is not None else None
            try:
                seconds = float(retry) if retry else None
            except ValueError:
                seconds = None
            return ProviderError(RATE_LIMITED, "cloud: Anthropic rate limit (429)", retry_after=seconds)
        if isinstance(exc, anthropic.APITimeoutError):
            return ProviderError(TIMEOUT, f"cloud: no answer within {self.timeout_s:g}s")
        if isinstance(exc, anthropic.APIConnectionError):
            return ProviderError(UNREACHABLE, "cloud: cannot reach the Anthropic API")
        if isinstance(exc, anthropic.APIStatusError):
            return ProviderError(ERROR, f"cloud: Anthropic answered {exc.status_code}")
        return ProviderError(ERROR, f"cloud: {type(exc).__name__}")

    @staticmethod
    def _retryable(exc: Exception) -> bool:
        import anthropic

        if isinstance(exc, anthropic.APITimeoutError):
            return False
        if isinstance(exc, anthropic.APIConnectionError):
            return True
        return isinstance(exc, anthropic.APIStatusError) and exc.status_code >= 500

    def complete(self, req: ChatInput) -> Completion:
        client = self.client
        for attempt in (0, 1):
            start = time.perf_counter()
            try:
                msg = client.messages.create(**self._params(req))
            except Exception as exc:
                if attempt == 0 and self._retryable(exc):
                    continue
                raise self._map(exc) from exc
            text = "".join(getattr(b, "text", "") for b in msg.content if getattr(b, "type", "") == "text")
            return Completion(
                text=text,
                tokens_in=int(msg.usage.input_tokens or 0),
                tokens_out=int(msg.usage.output_tokens or 0),
                finish_reason="length" if msg.stop_reason == "max_tokens" else "stop",
                upstream_ms=(time.perf_counter() - start) * 1000,
            )
        raise AssertionError("unreachable")

    def stream(self, req: ChatInput) -> Iterator[Delta]:
        client = self.client
        tokens_in = tokens_out = 0
        finish = "stop"
        events = None
        for attempt in (0, 1):
            try:
                events = client.messages.create(**self._params(req), stream=True)
                break
            except Exception as exc:
                if attempt == 0 and self._retryable(exc):
                    continue
                raise self._map(exc) from exc
        assert events is not None
        try:
            for event in events:
                kind = getattr(event, "type", "")
                if kind == "message_start":
                    tokens_in = int(event.message.usage.input_tokens or 0)
                    tokens_out = int(getattr(event.message.usage, "output_tokens", 0) or 0)
                elif kind == "content_block_delta" and getattr(event.delta, "type", "") == "text_delta":
                    if event.delta.text:
                        yield Delta(text=event.delta.text)
                elif kind == "message_delta":
                    tokens_out = int(event.usage.output_tokens or tokens_out)
                    if event.delta.stop_reason == "max_tokens":
                        finish = "length"
        except ProviderError:
            raise
        except Exception as exc:
            raise self._map(exc) from exc
        finally:
            events.close()
        yield Delta(done=True, tokens_in=tokens_in, tokens_out=tokens_out, finish_reason=finish)

    def ping(self) -> bool:
        """No network call (it would cost quota): the cloud is 'up' when a key is configured."""
        return self.has_key
