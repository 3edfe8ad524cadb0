"""Test-only stand-in for Anthropic's Messages API on a fixed loopback port, run inside the container.

Wraps the gateway tests' stand-in (fake_anthropic.py, copied next to this file) so the gateway reaches
it through its cloud base_url. Usage: python3 cloud_standin.py PORT
"""

import sys
import threading
from http.server import ThreadingHTTPServer

from fake_anthropic import Handler


class Standin(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int) -> None:
        super().__init__(("127.0.0.1", port), Handler)
        self.mode = "ok"
        self.calls = 0
        self.last_request = None
        self.last_headers = {}
        self.last_key = ""
        self.lock = threading.Lock()


if __name__ == "__main__":
    Standin(int(sys.argv[1])).serve_forever()
