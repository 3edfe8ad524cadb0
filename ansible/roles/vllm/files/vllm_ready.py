#!/usr/bin/env python3
"""Wait until a vLLM server answers GET <url> with 200 (its ExecStartPost), so systemd counts the
unit as started only once the model is loaded and starts the next server after it. systemd's
TimeoutStartSec bounds the wait."""

import sys
import time
import urllib.error
import urllib.request


def main(url: str) -> int:
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as resp:
                if resp.status == 200:
                    return 0
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(2)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
