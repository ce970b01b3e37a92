"""A bounded load run on loopback: 480 mixed requests at concurrency 16, against a baseline at concurrency 1.

    python bench/load.py

The mix is what a room of people does: pages, the gallery and its search, results, images and thumbnails, the
JSON API, the model list, health checks, and new generations (one request in eight). Goal: no failures.
"""
from __future__ import annotations

import itertools
import statistics
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import requests
from _common import app_server, demo_server

REQUESTS = 480
CONCURRENCY = 16
BASELINE_REQUESTS = 96
SEEDED = 20


def request_mix(seeded: list[dict]) -> list[tuple[str, str, dict | None]]:
    first = seeded[0]
    return [
        ("GET", "/", None),
        ("GET", "/generations", None),
        ("GET", "/generations?q=lighthouse&outcome=succeeded", None),
        ("GET", first["permalink"], None),
        ("GET", first["images"][0]["src"], None),
        ("GET", first["images"][0]["thumbnail"], None),
        ("POST", "/api/generate", {"prompt": "load test", "size": "256x256", "response_format": "b64_json"}),
        ("GET", f"/api/generations/{first['id']}", None),
        ("GET", "/api/models", None),
        ("GET", "/healthz", None),
        ("GET", "/static/proofsheet.css", None),
        ("GET", "/api/generations?per_page=50", None),
    ]


def run(url: str, mix: list, count: int, concurrency: int) -> tuple[list[float], list[str], float]:
    sessions = threading.local()
    jobs = list(itertools.islice(itertools.cycle(mix), count))
    latencies, failures = [], []

    def one(job: tuple[str, str, dict | None]) -> None:
        method, path, body = job
        session = getattr(sessions, "session", None) or requests.Session()
        sessions.session = session
        started = time.perf_counter()
        try:
            response = session.request(method, url + path, json=body, timeout=30)
            if response.status_code != 200:
                failures.append(f"{method} {path}: {response.status_code}")
        except requests.RequestException as exc:
            failures.append(f"{method} {path}: {type(exc).__name__}")
        latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(one, jobs))
    return latencies, failures, time.perf_counter() - started


def main() -> None:
    with demo_server() as demo, tempfile.TemporaryDirectory() as data, app_server(demo.url + "/v1", data) as app:
        seeded = [requests.post(app.url + "/api/generate", timeout=60, json={
            "prompt": f"lighthouse {n}", "size": "512x512", "response_format": "b64_json"}).json()
            for n in range(SEEDED)]
        mix = request_mix(seeded)
        base_latencies, base_failures, base_seconds = run(app.url, mix, BASELINE_REQUESTS, 1)
        latencies, failures, seconds = run(app.url, mix, REQUESTS, CONCURRENCY)
    p50, p95 = (statistics.quantiles(latencies, n=20)[i] for i in (9, 18))
    base_p50 = statistics.median(base_latencies)
    print(f"baseline: {BASELINE_REQUESTS} requests one at a time: {BASELINE_REQUESTS / base_seconds:.0f} req/s, "
          f"median {base_p50 * 1000:.1f} ms, {len(base_failures)} failures")
    print(f"load: {REQUESTS} requests at concurrency {CONCURRENCY}: {REQUESTS / seconds:.0f} req/s "
          f"({REQUESTS / seconds / (BASELINE_REQUESTS / base_seconds):.2f}x the baseline's throughput), "
          f"median {p50 * 1000:.1f} ms ({p50 / base_p50:.1f}x), p95 {p95 * 1000:.1f} ms, "
          f"{len(failures)} failures (goal: 0)")
    for failure in (base_failures + failures)[:10]:
        print("  failed:", failure)


if __name__ == "__main__":
    main()
