"""What Proofsheet adds to a generation: POST /api/generate versus a plain requests.post(...).json().

    python bench/overhead.py

Four 1024×1024 images as b64_json with a photo-like texture (about 17 MB of JSON) from the demo server, which keeps
its drawings cached, so both paths pay the same small server cost and the ratio shows Proofsheet's own work: reading,
decoding and verifying every image, thumbnails, and keeping it all on disk. Goals: at most 1.3x, and a result page
of at most 64 KB of HTML.
"""
from __future__ import annotations

import statistics
import tempfile
import time

import requests
from _common import app_server, demo_server

BODY = {"model": "flux", "prompt": "hello world user", "response_format": "b64_json", "n": 4, "size": "1024x1024"}
ROUNDS = 9


def main() -> None:
    with demo_server("--grain") as demo, tempfile.TemporaryDirectory() as data, \
            app_server(demo.url + "/v1", data) as app:
        upstream = demo.url + "/v1/images/generations"
        size = len(requests.post(upstream, json=BODY, timeout=120).content)
        requests.post(app.url + "/api/generate", json=BODY, timeout=120)  # warm both paths
        plain, proofsheet, with_thumbnails = [], [], []
        for _ in range(ROUNDS):  # interleaved, so that noise hits both alike
            started = time.perf_counter()
            requests.post(upstream, json=BODY, timeout=120).json()
            plain.append(time.perf_counter() - started)
            started = time.perf_counter()
            answer = requests.post(app.url + "/api/generate", json=BODY, timeout=120).json()
            proofsheet.append(time.perf_counter() - started)
            # Thumbnails are made in the background after the answer; wait for them (made on demand if not yet),
            # so that their work is counted here and never slows the next baseline.
            for image in answer["images"]:
                requests.get(app.url + image["thumbnail"], timeout=60).raise_for_status()
            with_thumbnails.append(time.perf_counter() - started)
        assert answer["status"] == "ok" and len(answer["images"]) == 4, answer["error"]
        page = requests.get(app.url + answer["permalink"], timeout=30).content
    baseline, ours, thumbs = (statistics.median(times) for times in (plain, proofsheet, with_thumbnails))
    print(f"upstream JSON: {size / 1e6:.1f} MB (4 images of 1024x1024 as b64_json)")
    print(f"plain requests.post().json(): {baseline * 1000:.0f} ms   POST /api/generate: {ours * 1000:.0f} ms   "
          f"-> ratio {ours / baseline:.2f}x (goal <= 1.3x)")
    print(f"until its 4 thumbnails are made too (off the request, in the background): {thumbs * 1000:.0f} ms "
          f"-> {thumbs / baseline:.2f}x")
    print(f"result page: {len(page):,} bytes of HTML ({len(page) / 1024:.1f} KB, goal <= 64 KB)")


if __name__ == "__main__":
    main()
