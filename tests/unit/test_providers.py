"""What each engine is sent (pure request building; the calls are tested against real servers)."""

from __future__ import annotations

import pytest

from hybrid_ai.providers import NO_KEY, ChatInput, ProviderError, estimate_tokens
from hybrid_ai.providers.anthropic import AnthropicProvider
from hybrid_ai.providers.ollama import OllamaProvider
from hybrid_ai.providers.openai_compat import OpenAICompatProvider

REQ = ChatInput(({"role": "user", "content": "Hi"},), "Be brief.", 16, 0.3)


def test_ollama_native_chat_payload():
    p = OllamaProvider("tinyllama", "http://127.0.0.1:11434/", "tinyllama:1.1b", 30)._payload(REQ, False)
    assert p == {
        "model": "tinyllama:1.1b",
        "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}],
        "stream": False,
        "options": {"num_predict": 16, "temperature": 0.3},
    }


def test_openai_compatible_payload_asks_for_stream_usage():
    prov = OpenAICompatProvider("phi-2", "http://127.0.0.1:8081/v1", "phi-2", 30)
    p = prov._payload(REQ, True)
    assert p["model"] == "phi-2" and p["max_tokens"] == 16 and p["temperature"] == 0.3
    assert p["stream"] is True and p["stream_options"] == {"include_usage": True}
    assert prov.url == "http://127.0.0.1:8081/v1"


def test_anthropic_params_system_apart_and_no_key_means_no_call():
    prov = AnthropicProvider("claude-sonnet-4-6", None, None, 10)
    params = prov._params(REQ)
    assert params["system"] == "Be brief." and params["messages"] == [{"role": "user", "content": "Hi"}]
    assert "temperature" not in params and params["max_tokens"] == 16
    assert prov.ping() is False
    with pytest.raises(ProviderError) as exc:
        prov.complete(REQ)
    assert exc.value.reason == NO_KEY


def test_estimate_tokens():
    assert estimate_tokens("") == 0 and estimate_tokens("abcd") == 1 and estimate_tokens("abcde") == 2
