"""Proofsheet's /v1 endpoint as a relay: what it adds to a call, and to each streamed event.

    python bench/v1_relay.py

Both servers in their own processes on loopback. Baselines, measured in the same run and interleaved:
- 4 images of 1024×1024 as b64_json posted straight to the demo server (requests.post(...).json()), against the same
  through Proofsheet's /v1 (which keeps a copy beside the relay). Goal: at most 1.10x. Also the same through
  bench/bare_relay.py, the least a relay on Proofsheet's stack (Flask, waitress, requests) can do: the floor.
- a stream of partial images straight from the demo server, against the same through /v1: the delay each event
  gains, from the arrival times of matching events. Goal: median at most 20 ms.
- the same through bench/raw_relay.py, a relay with no HTTP stack (bytes copied both ways): what any relay costs
  on this machine.
"""
from __future__ import annotations

import statistics
import tempfile
import time

import requests
from _common import Process, app_server, demo_server

from proofsheet.upstream import sse

BODY = {"model": "flux", "prompt": "hello world user", "response_format": "b64_json", "n": 4, "size": "1024x1024"}
STREAM = {"model": "gpt-image-1", "prompt": "a slow sunrise", "stream": True, "partial_images": 3}
ROUNDS = 41


def arrivals(url: str) -> list[float]:
    """When each event of a streamed generation arrived, in seconds from the request."""
    started = time.perf_counter()
    times = []
    with requests.post(url, json=STREAM, stream=True, timeout=60) as response:
        reader = sse.EventReader()
        while chunk := response.raw.read1(65536):  # whatever has arrived, at once (iter_content may wait for more)
            times += [time.perf_counter() - started for _ in reader.feed(chunk)]
    return times


def settle(app_url: str, generation_id: str) -> None:
    """Wait until the copy kept in the background is whole, thumbnails too, so that it never slows the next
    baseline (bounded: 30 s)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        kept = requests.get(f"{app_url}/api/generations/{generation_id}", timeout=10).json()
        if kept["status"] != "running":
            for image in kept["images"]:
                requests.get(app_url + image["thumbnail"], timeout=60)
            return
        time.sleep(0.02)


def main() -> None:
    with demo_server("--grain", "--partial-delay", "0.3") as demo, tempfile.TemporaryDirectory() as data, \
            app_server(demo.url + "/v1", data) as app, \
            Process(["bench/bare_relay.py", "--upstream", demo.url + "/v1"], "/ready") as bare, \
            Process(["bench/raw_relay.py", "--upstream", demo.url], "/v1/models") as raw:
        direct, relayed = demo.url + "/v1/images/generations", app.url + "/v1/images/generations"
        floor, lowest = bare.url + "/v1/images/generations", raw.url + "/v1/images/generations"
        size = len(requests.post(direct, json=BODY, timeout=120).content)
        for url in (relayed, floor, lowest):  # warm every path
            requests.post(url, json=BODY, timeout=120)
        plain, bare_relay, raw_relay, through = [], [], [], []
        for _ in range(ROUNDS):
            for url, times in ((direct, plain), (floor, bare_relay), (lowest, raw_relay)):
                started = time.perf_counter()
                requests.post(url, json=BODY, timeout=120).json()
                times.append(time.perf_counter() - started)
            started = time.perf_counter()
            answer = requests.post(relayed, json=BODY, timeout=120)
            answer.json()
            through.append(time.perf_counter() - started)
            settle(app.url, answer.headers["X-Proofsheet-Generation"])
        gained = []
        for _ in range(5):
            straight, relayed_times = arrivals(direct), arrivals(relayed)
            gained += [(ours - theirs) * 1000 for ours, theirs in zip(relayed_times, straight)]
    baseline, least, ours = statistics.median(plain), statistics.median(bare_relay), statistics.median(through)
    any_relay = statistics.median(raw_relay)
    print(f"upstream JSON: {size / 1e6:.1f} MB (4 images of 1024x1024 as b64_json)")
    print(f"straight to the server: {baseline * 1000:.0f} ms   through /v1: {ours * 1000:.0f} ms   "
          f"-> ratio {ours / baseline:.2f}x (goal <= 1.10x)")
    print(f"  the floor, a bare Flask+waitress relay keeping nothing: {least * 1000:.0f} ms -> {least / baseline:.2f}x; "
          f"Proofsheet over that floor: {ours / least:.2f}x")
    print(f"  a raw socket relay, no HTTP stack: {any_relay * 1000:.0f} ms -> {any_relay / baseline:.2f}x")
    print(f"streamed events: each arrives {statistics.median(gained):.1f} ms later through /v1 (median of "
          f"{len(gained)}; goal <= 20 ms)")


if __name__ == "__main__":
    main()
