"""Real servers started on free ports and stopped by PID, for the integration tests and the
benchmarks: redis-server, and llama.cpp's server (llama-cpp-python) with the small Gemma GGUF."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import redis as redis_lib

ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT / ".cache" / "models" / "gemma3-270m-q4_k_m.gguf"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(check: Callable[[], bool], timeout: float, what: str) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            if check():
                return
        except Exception:
            pass
        time.sleep(0.05)
    raise TimeoutError(f"{what} not ready within {timeout}s")


class Proc:
    """A server process we started; stopped by its PID only."""

    def __init__(self, argv: list[str], log: Path, env: dict[str, str] | None = None) -> None:
        self.argv, self.log_path, self.env = argv, log, env
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Proc:
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            self.argv, stdout=self.log, stderr=subprocess.STDOUT, env=self.env, start_new_session=True
        )
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.kill(self.proc.pid, sig)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(5)
        self.log.close()

    def kill(self) -> None:
        self.stop(signal.SIGKILL)

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")[-3000:]


class RedisServer(Proc):
    def __init__(self, workdir: Path, port: int | None = None) -> None:
        self.port = port or free_port()
        workdir.mkdir(parents=True, exist_ok=True)
        argv = [
            shutil.which("redis-server") or "/usr/bin/redis-server",
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(workdir),
            "--save",
            "",
            "--appendonly",
            "no",
            "--protected-mode",
            "no",
        ]
        super().__init__(argv, workdir / f"redis-{self.port}.log")

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        super().start()
        client = redis_lib.Redis(port=self.port)
        wait_until(lambda: client.ping(), 10, "redis-server")
        client.close()
        return self

    def client(self) -> redis_lib.Redis:
        return redis_lib.Redis(port=self.port, decode_responses=True)


class LlamaServer(Proc):
    ALIAS = "gemma"

    def __init__(self, workdir: Path, n_threads: int | None = 1, n_ctx: int = 1024) -> None:
        self.port = free_port()
        workdir.mkdir(parents=True, exist_ok=True)
        argv = [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(MODEL),
            "--chat_format",
            "gemma",
            "--model_alias",
            self.ALIAS,
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--n_ctx",
            str(n_ctx),
        ]
        if n_threads is not None:  # None: llama.cpp's default (every core)
            argv += ["--n_threads", str(n_threads)]
        super().__init__(argv, workdir / f"llama-{self.port}.log")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> LlamaServer:
        super().start()
        wait_until(lambda: httpx.get(self.url + "/models", timeout=1).status_code == 200, 90, "llama.cpp server")
        return self
