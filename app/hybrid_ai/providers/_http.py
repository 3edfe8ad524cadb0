"""Shared HTTP plumbing for the local engines: one pooled urllib3 client per engine and worker,
which retries once when a connection could not be made (nothing was sent), errors mapped to
reasons.

urllib3 rather than httpx on this path: a routed request spends most of the gateway's CPU in
its upstream call, and urllib3's pooled request costs about a third of httpx's (measured with
`make bench-gateway` and its py-spy profile, docs/gateway.md). The cloud engine keeps the
Anthropic SDK's own client.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import urllib3
from urllib3.exceptions import ConnectTimeoutError, HTTPError, MaxRetryError, ReadTimeoutError

from hybrid_ai.providers import ERROR, RATE_LIMITED, TIMEOUT, UNREACHABLE, ProviderError

JSON_HEADERS = {"Content-Type": "application/json", "Accept": "application/json"}
# a failed connect is retried once; nothing is retried once the request may have been sent
RETRY = urllib3.Retry(total=1, connect=1, read=0, redirect=0, status=0, other=0, raise_on_status=False)


class HttpEngine:
    def __init__(self, name: str, url: str, upstream_model: str, timeout_s: float) -> None:
        self.name = name
        self.url = url.rstrip("/")
        self.upstream_model = upstream_model
        self.timeout_s = timeout_s
        self.timeout = urllib3.Timeout(connect=min(5.0, timeout_s), read=timeout_s)
        self.base_path = (urllib3.util.parse_url(self.url).path or "").rstrip("/")
        self._pool: urllib3.HTTPConnectionPool | None = None

    @property
    def pool(self) -> urllib3.HTTPConnectionPool:
        """One pool for the one upstream (no URL parsing per request). Up to 32 kept connections
        (a worker's threads); beyond that a request opens a short-lived one rather than waiting."""
        if self._pool is None:
            self._pool = urllib3.connection_from_url(
                self.url, maxsize=32, block=False, retries=RETRY, timeout=self.timeout
            )
        return self._pool

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool = None

    def _fail(self, exc: Exception) -> ProviderError:
        cause = exc.reason if isinstance(exc, MaxRetryError) and exc.reason is not None else exc
        if isinstance(cause, ReadTimeoutError | TimeoutError) and not isinstance(cause, ConnectTimeoutError):
            return ProviderError(TIMEOUT, f"{self.name}: no answer within {self.timeout_s:g}s")
        if isinstance(cause, HTTPError | OSError):
            return ProviderError(UNREACHABLE, f"{self.name}: cannot reach {self.url} ({type(cause).__name__})")
        return ProviderError(ERROR, f"{self.name}: {cause}")

    @staticmethod
    def _status_error(name: str, status: int, body: bytes) -> ProviderError:
        if status == 429:
            return ProviderError(RATE_LIMITED, f"{name}: upstream rate limited (429)")
        text = body[:300].decode("utf-8", "replace")
        return ProviderError(ERROR, f"{name}: upstream answered {status}: {text}")

    def post_json(self, path: str, payload: dict[str, Any]) -> tuple[dict[str, Any], float]:
        """POST and decode JSON (a failed connect is retried once)."""
        body = _encode(payload)
        start = time.perf_counter()
        try:
            response = self.pool.urlopen("POST", self.base_path + path, body=body, headers=JSON_HEADERS)
        except (HTTPError, OSError) as exc:
            raise self._fail(exc) from exc
        elapsed = (time.perf_counter() - start) * 1000
        if response.status != 200:
            raise self._status_error(self.name, response.status, response.data)
        try:
            data = json.loads(response.data)
        except ValueError as exc:
            raise ProviderError(ERROR, f"{self.name}: upstream sent non-JSON") from exc
        if not isinstance(data, dict):
            raise ProviderError(ERROR, f"{self.name}: upstream sent JSON that is not an object")
        return data, elapsed

    @contextmanager
    def open_stream(self, path: str, payload: dict[str, Any]) -> Iterator[urllib3.BaseHTTPResponse]:
        body = _encode(payload)
        try:
            response = self.pool.urlopen(
                "POST", self.base_path + path, body=body, headers=JSON_HEADERS, preload_content=False
            )
        except (HTTPError, OSError) as exc:
            raise self._fail(exc) from exc
        try:
            if response.status != 200:
                raise self._status_error(self.name, response.status, response.read(300))
            yield response
        finally:
            if not response.isclosed():  # not read to its end: the connection cannot be reused
                response.close()
            response.release_conn()

    def iter_lines(self, response: urllib3.BaseHTTPResponse) -> Iterator[str]:
        """Lines of a streamed body as they arrive (read1: no waiting for a full buffer)."""
        pending = b""
        try:
            while True:
                chunk = response.read1(65536)
                if not chunk:
                    break
                pending += chunk
                *lines, pending = pending.split(b"\n")
                for line in lines:
                    yield line.rstrip(b"\r").decode("utf-8", "replace")
        except (HTTPError, OSError) as exc:
            raise self._fail(exc) from exc
        if pending:
            yield pending.rstrip(b"\r").decode("utf-8", "replace")

    def get_ok(self, path: str, timeout: float = 2.0) -> bool:
        try:
            response = self.pool.urlopen("GET", self.base_path + path, timeout=urllib3.Timeout(timeout), retries=False)
        except (HTTPError, OSError):
            return False
        return response.status == 200


def _encode(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def loads(line: str, name: str) -> dict[str, Any]:
    try:
        value = json.loads(line)
    except ValueError as exc:
        raise ProviderError(ERROR, f"{name}: upstream sent a bad stream line") from exc
    if not isinstance(value, dict):
        raise ProviderError(ERROR, f"{name}: upstream sent a bad stream line")
    return value
