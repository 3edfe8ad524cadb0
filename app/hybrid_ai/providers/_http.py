"""Shared HTTP plumbing for the local engines: one pooled httpx client whose transport retries
once when a connection could not be made (nothing was sent), errors mapped to reasons."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from hybrid_ai.providers import ERROR, RATE_LIMITED, TIMEOUT, UNREACHABLE, ProviderError


class HttpEngine:
    def __init__(self, name: str, url: str, upstream_model: str, timeout_s: float) -> None:
        self.name = name
        self.url = url.rstrip("/")
        self.upstream_model = upstream_model
        self.timeout_s = timeout_s
        self._client: httpx.Client | None = None

    @property
    def client(self) -> httpx.Client:
        if self._client is None:
            limits = httpx.Limits(max_connections=32, max_keepalive_connections=8)
            self._client = httpx.Client(
                timeout=httpx.Timeout(self.timeout_s, connect=min(5.0, self.timeout_s)),
                transport=httpx.HTTPTransport(retries=1, limits=limits),
            )
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def _fail(self, exc: Exception) -> ProviderError:
        if isinstance(exc, httpx.TimeoutException) and not isinstance(exc, httpx.ConnectTimeout):
            return ProviderError(TIMEOUT, f"{self.name}: no answer within {self.timeout_s:g}s")
        if isinstance(exc, httpx.TransportError):
            return ProviderError(UNREACHABLE, f"{self.name}: cannot reach {self.url} ({type(exc).__name__})")
        return ProviderError(ERROR, f"{self.name}: {exc}")

    @staticmethod
    def _status_error(name: str, response: httpx.Response) -> ProviderError:
        body = response.read()[:300].decode("utf-8", "replace")
        if response.status_code == 429:
            return ProviderError(RATE_LIMITED, f"{name}: upstream rate limited (429)")
        return ProviderError(ERROR, f"{name}: upstream answered {response.status_code}: {body}")

    def post_json(self, path: str, payload: dict[str, Any]) -> tuple[dict[str, Any], float]:
        """POST and decode JSON (a failed connect is retried once by the transport)."""
        start = time.perf_counter()
        try:
            response = self.client.post(self.url + path, json=payload)
        except httpx.HTTPError as exc:
            raise self._fail(exc) from exc
        elapsed = (time.perf_counter() - start) * 1000
        if response.status_code != 200:
            raise self._status_error(self.name, response)
        try:
            return response.json(), elapsed
        except ValueError as exc:
            raise ProviderError(ERROR, f"{self.name}: upstream sent non-JSON") from exc

    @contextmanager
    def open_stream(self, path: str, payload: dict[str, Any]) -> Iterator[httpx.Response]:
        try:
            with self.client.stream("POST", self.url + path, json=payload) as response:
                if response.status_code != 200:
                    raise self._status_error(self.name, response)
                yield response
        except httpx.HTTPError as exc:
            raise self._fail(exc) from exc

    def iter_lines(self, response: httpx.Response) -> Iterator[str]:
        try:
            yield from response.iter_lines()
        except httpx.HTTPError as exc:
            raise self._fail(exc) from exc

    def get_ok(self, path: str, timeout: float = 2.0) -> bool:
        try:
            return self.client.get(self.url + path, timeout=timeout).status_code == 200
        except httpx.HTTPError:
            return False


def loads(line: str, name: str) -> dict[str, Any]:
    try:
        value = json.loads(line)
    except ValueError as exc:
        raise ProviderError(ERROR, f"{name}: upstream sent a bad stream line") from exc
    if not isinstance(value, dict):
        raise ProviderError(ERROR, f"{name}: upstream sent a bad stream line")
    return value
