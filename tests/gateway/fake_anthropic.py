"""A local stand-in for Anthropic's Messages API, for tests only (reached via the SDK's base_url).

POST /v1/messages answers like the real API (JSON, or SSE events when "stream": true) with
usage counted from the request (~4 characters a token) and the reply text. Behaviour is set
per test: `server.mode = "ok" | "429" | "500" | "overloaded"`; `server.calls` counts requests.

As a judge (a request whose system prompt asks for a verdict, as hybrid_ai.shadow sends): it
answers `server.verdict` when set ("A", "B", "TIE" or any text), else it prefers the answer that
is its own reply (a position-consistent judge that finds the cloud better); `server.judge_calls`
counts those requests.
"""

from __future__ import annotations

import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

REPLY = "This is the cloud answer: a careful, complete response to your question."


def _tokens(text: str) -> int:
    return max(1, (len(text) + 3) // 4)


class Handler(BaseHTTPRequestHandler):
    server: FakeAnthropic
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:
        pass

    def _send(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        req = json.loads(self.rfile.read(length) or b"{}")
        srv = self.server
        with srv.lock:
            srv.calls += 1
            srv.last_request = req
            srv.last_headers = dict(self.headers)
        if self.path.rstrip("/") != "/v1/messages":
            self._send(404, {"type": "error", "error": {"type": "not_found_error", "message": "no such path"}})
            return
        srv.last_key = self.headers.get("x-api-key") or (self.headers.get("Authorization") or "")[7:]
        if not srv.last_key:
            self._send(401, {"type": "error", "error": {"type": "authentication_error", "message": "no key"}})
            return
        if srv.mode == "429":
            self._send(
                429,
                {"type": "error", "error": {"type": "rate_limit_error", "message": "slow down"}},
                {"retry-after": "30"},
            )
            return
        if srv.mode == "500":
            self._send(500, {"type": "error", "error": {"type": "api_error", "message": "boom"}})
            return
        if srv.mode == "overloaded":
            self._send(529, {"type": "error", "error": {"type": "overloaded_error", "message": "busy"}})
            return
        prompt = (req.get("system") or "") + "".join(
            m["content"] if isinstance(m["content"], str) else "" for m in req.get("messages", [])
        )
        words = REPLY.split(" ")
        if "judge" in str(req.get("system") or ""):
            with srv.lock:
                srv.judge_calls += 1
            words = [srv.verdict or _own_answer_first(prompt)]
        max_tokens = int(req.get("max_tokens", 16))
        out_words = words[:max_tokens]
        text = " ".join(out_words)
        stop = "end_turn" if len(out_words) == len(words) else "max_tokens"
        tin, tout = _tokens(prompt), len(out_words)
        mid = "msg_" + uuid.uuid4().hex[:20]
        if not req.get("stream"):
            self._send(
                200,
                {
                    "id": mid,
                    "type": "message",
                    "role": "assistant",
                    "model": req.get("model"),
                    "content": [{"type": "text", "text": text}],
                    "stop_reason": stop,
                    "stop_sequence": None,
                    "usage": {"input_tokens": tin, "output_tokens": tout},
                },
            )
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()

        def event(name: str, data: dict[str, Any]) -> None:
            self.wfile.write(f"event: {name}\ndata: {json.dumps(data)}\n\n".encode())
            self.wfile.flush()

        event(
            "message_start",
            {
                "type": "message_start",
                "message": {
                    "id": mid,
                    "type": "message",
                    "role": "assistant",
                    "model": req.get("model"),
                    "content": [],
                    "stop_reason": None,
                    "stop_sequence": None,
                    "usage": {"input_tokens": tin, "output_tokens": 1},
                },
            },
        )
        event(
            "content_block_start",
            {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        )
        for i, word in enumerate(out_words):
            piece = word if i == 0 else " " + word
            event(
                "content_block_delta",
                {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": piece}},
            )
        event("content_block_stop", {"type": "content_block_stop", "index": 0})
        event(
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": stop, "stop_sequence": None},
                "usage": {"output_tokens": tout},
            },
        )
        event("message_stop", {"type": "message_stop"})
        self.close_connection = True


class FakeAnthropic(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.mode = "ok"
        self.calls = 0
        self.last_request: dict[str, Any] | None = None
        self.last_headers: dict[str, str] = {}
        self.last_key = ""
        self.verdict: str | None = None
        self.judge_calls = 0
        self.lock = threading.Lock()
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def start(self) -> FakeAnthropic:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


def _own_answer_first(judge_prompt: str) -> str:
    """'A' when answer A is this stand-in's reply, else 'B'."""
    first = judge_prompt.split("[Answer A]", 1)[-1].split("[Answer B]", 1)[0]
    return "A" if REPLY.split(" ")[0] in first and "cloud answer" in first else "B"


def tokens_for(text: str) -> int:
    return _tokens(text)


if __name__ == "__main__":  # run standalone: prints its URL, serves until interrupted
    srv = FakeAnthropic()
    print(srv.url, flush=True)
    srv.serve_forever()
