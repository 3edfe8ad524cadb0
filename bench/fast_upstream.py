"""A fast OpenAI-compatible upstream for the gateway benchmarks (not part of the product).

It answers every POST .../chat/completions with the same small chat completion (with usage)
and GET .../models with one model, over HTTP/1.1 keep-alive, from one asyncio process, so a
benchmark measures the gateway rather than a model: a real model takes milliseconds to answer
and its jitter would hide the gateway's own cost. Binds to 127.0.0.1 only.

    python bench/fast_upstream.py --port 18081
"""

from __future__ import annotations

import argparse
import asyncio
import json

COMPLETION = json.dumps(
    {
        "id": "chatcmpl-bench",
        "object": "chat.completion",
        "created": 0,
        "model": "bench",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "OK"}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 12, "completion_tokens": 1, "total_tokens": 13},
    },
    separators=(",", ":"),
).encode()
MODELS = json.dumps({"object": "list", "data": [{"id": "bench", "object": "model"}]}).encode()


def _reply(status: str, body: bytes) -> bytes:
    head = f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    return head.encode() + body


REPLIES = {
    "POST": _reply("200 OK", COMPLETION),
    "GET": _reply("200 OK", MODELS),
}
NOT_FOUND = _reply("404 Not Found", b'{"error":"not found"}')
BAD = _reply("400 Bad Request", b'{"error":"bad request"}')
MAX_HEAD = 65536


class Http(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: asyncio.Transport = transport  # type: ignore[assignment]
        self.buf = b""

    def data_received(self, data: bytes) -> None:
        self.buf += data
        while True:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                if len(self.buf) > MAX_HEAD:
                    self._close(BAD)
                return
            head = self.buf[:end].decode("latin-1")
            lines = head.split("\r\n")
            parts = lines[0].split(" ")
            length = 0
            for line in lines[1:]:
                name, _, value = line.partition(":")
                if name.strip().lower() == "content-length":
                    try:
                        length = int(value.strip())
                    except ValueError:
                        self._close(BAD)
                        return
            if len(self.buf) < end + 4 + length:
                return  # the body is still coming
            self.buf = self.buf[end + 4 + length :]
            if len(parts) != 3:
                self._close(BAD)
                return
            method, path = parts[0], parts[1]
            if method == "POST" and path.endswith("/chat/completions"):
                self.transport.write(REPLIES["POST"])
            elif method == "GET" and path.endswith("/models"):
                self.transport.write(REPLIES["GET"])
            else:
                self.transport.write(NOT_FOUND)

    def _close(self, reply: bytes) -> None:
        self.transport.write(reply)
        self.transport.close()


async def serve(port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(Http, "127.0.0.1", port, backlog=1024)
    async with server:
        await server.serve_forever()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, required=True)
    args = ap.parse_args()
    asyncio.run(serve(args.port))


if __name__ == "__main__":
    main()
