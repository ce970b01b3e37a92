"""Eight generations at once against a server that takes 2 seconds: do they wait for each other?

    python bench/parallel.py

The baseline, measured in the same run, is one generation alone. Goal: eight finish within 1.3x of one.
"""
from __future__ import annotations

import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

import requests
from _common import app_server, demo_server

PARALLEL = 8
BODY = {"model": "flux", "prompt": "a two-second lighthouse", "response_format": "b64_json", "size": "512x512"}


def generate(url: str) -> int:
    return requests.post(url + "/api/generate", json=BODY, timeout=60).status_code


def main() -> None:
    with demo_server("--delay", "2") as demo, tempfile.TemporaryDirectory() as data, \
            app_server(demo.url + "/v1", data) as app:
        generate(app.url)  # warm up
        started = time.perf_counter()
        assert generate(app.url) == 200
        one = time.perf_counter() - started
        with ThreadPoolExecutor(PARALLEL) as pool:
            started = time.perf_counter()
            statuses = list(pool.map(lambda _: generate(app.url), range(PARALLEL)))
            eight = time.perf_counter() - started
    assert statuses == [200] * PARALLEL, statuses
    print(f"one generation: {one:.2f} s   {PARALLEL} at once: {eight:.2f} s   -> ratio {eight / one:.2f}x "
          "(goal <= 1.3x)")


if __name__ == "__main__":
    main()
