"""A daemon thread started on first use in each process.

gunicorn forks its workers after the app is built and threads do not survive a fork, so each
background writer (stats, Taskwarrior, n8n events) starts its thread lazily in the process
that uses it, and again if it died.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable


class LazyThread:
    def __init__(self, target: Callable[[], None], name: str) -> None:
        self._target = target
        self._name = name
        self._thread: threading.Thread | None = None
        self._pid = 0
        self._lock = threading.Lock()

    def running_here(self) -> bool:
        """Alive, and started by this process (not inherited from the parent through a fork)."""
        return self._thread is not None and self._pid == os.getpid() and self._thread.is_alive()

    def ensure(self) -> None:
        if self.running_here():
            return
        with self._lock:
            if not self.running_here():
                self._pid = os.getpid()
                self._thread = threading.Thread(target=self._target, name=self._name, daemon=True)
                self._thread.start()

    def join(self, timeout_s: float) -> None:
        if self.running_here() and self._thread is not None:
            self._thread.join(timeout_s)
