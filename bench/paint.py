"""Submit -> every image painted in Chromium, for four 1024x1024 images answered as b64_json, against the image
server's own time to the eye for the same request: a plain page that asks the image server itself and paints what
it answered, in the same Chromium, in the same run.

    python bench/paint.py [rounds]

The demo server (photo-like grain: about 16 MB of JSON) and the app run in their own processes on loopback; Debian's
Chromium drives both pages, each in a fresh page with an empty cache, at 1366x768. Each round asks for a new prompt,
so Proofsheet stores, hashes and later thumbnails four new images, as it does for every real generation (the same
prompt again would find its files already written); the demo server draws the round's pictures once, untimed, before
any timed call, and keeps them, so every path then pays the same small drawing time.

- Proofsheet (what is judged): the generate form is filled in and Generate pressed. The clock starts at the form's
  submit event and stops in the first animation frame after all four images of the result are loaded and decoded
  (`img.decode()` resolved): the page's own JavaScript, its JSON API, Proofsheet's work on the answer (base64, Pillow's
  verification, hashing, the files and the row), the result's fragment, the four image fetches and their decoding.
- The baseline (the image server's own time): a blank page served from the demo server's own origin (so no CORS)
  posts the same body to /v1/images/generations with fetch(), reads and parses the whole answer, decodes each
  b64_json to bytes and shows them in an <img> through a blob: URL (the quickest way found: a data: URI of 4 MB took
  about 2.5 times as long), laid out as the result's images are (the same grid and size rules). Its clock starts just
  before the fetch and stops as Proofsheet's does: every image loaded, decoded, and the next frame.
- For reference only, Python's `requests.post(...).json()` straight to the demo server (no browser, no pixels).

Proofsheet makes each image's thumbnail 2 s after its answer (past the page's paint); the bench asks for them right
after Proofsheet's page is timed, so that this leftover work never falls into the next timed page, on either side.
Each round runs the baseline page and Proofsheet's page back to back, their order alternating round by round so that
neither always comes second on a warmer machine; the first round is a warm-up and is not counted. Printed: the load
average, the medians, the median of the rounds' own ratios (the goal: at most 1.15x) and the ratio of the medians,
and where Proofsheet's time went (its API answered, the last image fetched).
"""
from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time

import requests
from _common import app_server, demo_server
from playwright.sync_api import sync_playwright

ROUNDS = int(sys.argv[1]) if len(sys.argv) > 1 else 9
BODY = {"prompt": "a lighthouse on a cliff at dawn", "model": "gpt-image-1", "n": 4, "size": "1024x1024"}  # b64_json
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]
VIEWPORT = {"width": 1366, "height": 768}

# Both pages: once `count` images match `selector`, each loaded and decoded, the next frame is the one that shows
# them; its time goes in window.benchPainted. Defined on the window so both pages run the very same code.
WATCHER = """() => {
  window.benchWatch = (selector, count) => {
    window.benchPainted = null;
    const look = () => {
      const images = [...document.querySelectorAll(selector)];
      if (images.length === count && images.every((image) => image.complete && image.naturalWidth > 0)) {
        Promise.all(images.map((image) => image.decode()))
          .then(() => requestAnimationFrame(() => { window.benchPainted = performance.now(); }));
        return;
      }
      requestAnimationFrame(look);
    };
    requestAnimationFrame(look);
  };
}"""

# Proofsheet's page: the clock starts when the form is submitted.
WATCH_FORM = """(count) => {
  window.benchStart = null;
  document.getElementById('generate-form').addEventListener('submit', () => { window.benchStart = performance.now(); },
                                                            { capture: true, once: true });
  window.benchWatch('.result .image-card img', count);
}"""

# The baseline page, served at the demo server's origin; the same grid and image rules as the result's (style.css).
BASELINE_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>baseline</title><style>
body { margin: 0; padding: 1rem; font: 16px system-ui, sans-serif; }
.result-images { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(100%, 16rem), 1fr)); gap: 1rem; }
.result-images img { display: block; max-width: 100%; width: auto; height: auto; max-height: calc(100vh - 11rem);
                     object-fit: contain; }
</style></head><body><div class="result-images"></div></body></html>"""

# The baseline's "Generate": post, read and parse the whole answer, show each image from its base64.
ASK_DIRECTLY = """(body) => {
  window.benchStart = performance.now();
  window.benchWatch('.result-images img', body.n);
  fetch('/v1/images/generations', { method: 'POST', headers: { 'Content-Type': 'application/json' },
                                    body: JSON.stringify(body) })
    .then((response) => response.json())
    .then((answer) => {
      const grid = document.querySelector('.result-images');
      for (const item of answer.data) {
        const image = new Image(1024, 1024);
        image.alt = 'baseline';
        const bytes = Uint8Array.fromBase64(item.b64_json);  // faster than a data: URI of 4 MB (2.5x in a trial)
        image.src = URL.createObjectURL(new Blob([bytes], { type: 'image/png' }));
        grid.append(image);
      }
    });
}"""

# Where Proofsheet's time went, from the page's own resource timings (ms after submit).
PHASES = """() => {
  const entries = performance.getEntriesByType('resource').filter((entry) => entry.startTime >= window.benchStart);
  const end = (part) => Math.max(...entries.filter((entry) => entry.name.includes(part)).map((entry) => entry.responseEnd));
  return { api: end('/api/generate') - window.benchStart, images: end('/images/') - window.benchStart,
           painted: window.benchPainted - window.benchStart };
}"""


def python_seconds(api_base: str, body: dict) -> float:
    started = time.perf_counter()
    answer = requests.post(api_base + "/images/generations", json=body, timeout=120)
    answer.raise_for_status()
    assert [bool(item.get("b64_json")) for item in answer.json()["data"]] == [True] * body["n"]
    return time.perf_counter() - started


def wait_for_paint(page) -> float:
    deadline = time.monotonic() + 120
    while page.evaluate("window.benchPainted") is None:  # the times are the page's own: this loop only waits
        if time.monotonic() > deadline:
            raise SystemExit("the images were not painted within 120 seconds")
        time.sleep(0.02)
    return page.evaluate("(window.benchPainted - window.benchStart) / 1000")


def baseline_seconds(browser, demo_url: str, body: dict) -> float:
    page = browser.new_page(viewport=VIEWPORT)  # a fresh page: an empty cache
    page.route(demo_url + "/paint-baseline", lambda route: route.fulfill(content_type="text/html", body=BASELINE_PAGE))
    page.goto(demo_url + "/paint-baseline")
    page.evaluate(WATCHER)
    page.evaluate(ASK_DIRECTLY, body)
    seconds = wait_for_paint(page)
    page.close()
    return seconds


def proofsheet_seconds(browser, app_url: str, body: dict) -> tuple[float, dict[str, float]]:
    page = browser.new_page(viewport=VIEWPORT)
    page.goto(app_url)
    page.fill("#prompt", body["prompt"])
    page.fill("#model", body["model"])
    page.click(".more-options summary")
    page.fill("#n", str(body["n"]))
    page.fill("#size", body["size"])
    page.evaluate(WATCHER)
    page.evaluate(WATCH_FORM, body["n"])
    page.click("#generate-button")
    seconds = wait_for_paint(page)
    phases = page.evaluate(PHASES)
    generation_id = page.evaluate("document.querySelector('.result').dataset.generationId")
    page.close()
    make_thumbnails(app_url, generation_id)
    return seconds, phases


def make_thumbnails(app_url: str, generation_id: str) -> None:
    """Proofsheet makes the thumbnails a little after the answer: asked for now, they are not made during the next
    measurement, on either side."""
    generation = requests.get(f"{app_url}/api/generations/{generation_id}", timeout=60).json()
    for image in generation["images"]:
        requests.get(app_url + image["thumbnail"], timeout=60).raise_for_status()


def main() -> None:
    python, baseline, painted, phases = [], [], [], []
    with demo_server("--grain") as demo, tempfile.TemporaryDirectory() as data, \
            app_server(demo.url + "/v1", data) as app, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        for take in range(ROUNDS + 1):
            body = {**BODY, "prompt": f"{BODY['prompt']}, take {take}"}  # new images, as every real generation
            python_seconds(demo.url + "/v1", body)  # the demo draws them now: every timed call then finds them drawn
            direct = python_seconds(demo.url + "/v1", body)
            if take % 2:
                plain = baseline_seconds(browser, demo.url, body)
                shown, phase = proofsheet_seconds(browser, app.url, body)
            else:
                shown, phase = proofsheet_seconds(browser, app.url, body)
                plain = baseline_seconds(browser, demo.url, body)
            if take:  # the first round is a warm-up
                python.append(direct)
                baseline.append(plain)
                painted.append(shown)
                phases.append(phase)
        browser.close()
    report(python, baseline, painted, phases)


def report(python: list[float], baseline: list[float], painted: list[float], phases: list[dict[str, float]]) -> None:
    ratios = [shown / plain for shown, plain in zip(painted, baseline)]
    print(f"load average at the end: {' '.join(f'{load:.2f}' for load in os.getloadavg())}")
    print(f"baseline, a plain page asking the image server itself and painting its b64_json (4 x 1024x1024): "
          f"median {statistics.median(baseline) * 1000:.0f} ms")
    print(f"Proofsheet, submit -> all four painted: median {statistics.median(painted) * 1000:.0f} ms "
          f"(its API answered at {statistics.median(p['api'] for p in phases):.0f} ms, the last image fetched at "
          f"{statistics.median(p['images'] for p in phases):.0f} ms)")
    print(f"ratio: median of the rounds' own ratios {statistics.median(ratios):.2f}x (range {min(ratios):.2f}-"
          f"{max(ratios):.2f}x over {len(ratios)} rounds); of the medians "
          f"{statistics.median(painted) / statistics.median(baseline):.2f}x (goal: <= 1.15x)")
    print(f"for reference: Python's requests.post(...).json() straight to the demo server, no pixels: median "
          f"{statistics.median(python) * 1000:.0f} ms (Proofsheet's page {statistics.median(painted) / statistics.median(python):.2f}x that)")
    print("rounds (ms): " + json.dumps([[round(plain * 1000), round(shown * 1000)] for plain, shown in zip(baseline, painted)]))


if __name__ == "__main__":
    main()
