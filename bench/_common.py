"""Shared by the benchmarks: the demo server and the app in their own processes on loopback, and timing."""
from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def median_seconds(action: Callable[[], object], repeats: int) -> float:
    timings = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        timings.append(time.perf_counter() - started)
    return statistics.median(timings)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Process:
    """A server of ours in its own process, stopped when the benchmark ends."""

    def __init__(self, args: list[str], ready_path: str, env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.popen = subprocess.Popen([sys.executable, *args, "--port", str(self.port)], cwd=ROOT,
                                      env={**os.environ, **(env or {})}, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL)
        for _ in range(100):
            try:
                requests.get(self.url + ready_path, timeout=1)
                return
            except (requests.ConnectionError, requests.Timeout):  # not listening yet, or slow to start under load
                time.sleep(0.1)
        self.stop()
        raise SystemExit(f"{' '.join(args[:2])} did not start within 10 seconds")

    def rss_kb(self, field: str = "VmRSS") -> int:
        for line in Path(f"/proc/{self.popen.pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
        raise KeyError(field)

    def stop(self) -> None:
        self.popen.kill()
        self.popen.wait()

    def __enter__(self) -> "Process":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def demo_server(*flags: str) -> Process:
    return Process(["-m", "proofsheet.demo.server", *flags], "/v1/models")


def app_server(api_base: str, data_dir: str, *flags: str) -> Process:
    return Process(["app.py", "--api-base", api_base, *flags], "/generations", env={"PROOFSHEET_DATA": data_dir})
