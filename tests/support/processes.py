"""`python app.py` in its own process, as a person starts it, and free loopback ports to give it."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent.parent
START_WITHIN = 30  # seconds; a loaded machine running tests in parallel starts Python slowly


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_app_process(data_dir, api_base, *args, env=None, log_path=None, port=None):
    """`python app.py` in its own process, as a person starts it; returns (process, url) once it answers.

    What it prints goes to `log_path` when given, so a test can read its start-up lines. With `api_base` None, no
    --api-base is given (the environment or a --server names the image server).
    """
    port = port or free_port()
    environment = {**os.environ, "PROOFSHEET_DATA": str(data_dir), **(env or {})}
    output = open(log_path, "wb") if log_path else subprocess.DEVNULL
    given = ["--api-base", api_base] if api_base else []
    process = subprocess.Popen([sys.executable, "app.py", "--port", str(port), *given, *args],
                               cwd=ROOT, env=environment, stdout=output, stderr=output)
    if log_path:
        output.close()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + START_WITHIN
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the app exited at start with {process.returncode}")
        try:
            requests.get(url + "/generations", timeout=5)
            return process, url
        except (requests.ConnectionError, requests.Timeout):  # not listening yet, or its first page still coming
            time.sleep(0.1)
    process.kill()
    raise AssertionError(f"the app did not start within {START_WITHIN} seconds")


def run_app_command(*args, env=None, timeout=30):
    """`python app.py ARGS` run to its end: (exit code, everything it printed)."""
    completed = subprocess.run([sys.executable, "app.py", *args], cwd=ROOT, env={**os.environ, **(env or {})},
                               capture_output=True, text=True, timeout=timeout)
    return completed.returncode, completed.stdout + completed.stderr


def stop_process(process):
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)
