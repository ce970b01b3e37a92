"""Submit -> every image painted in Chromium, for four 1024x1024 images answered as b64_json, against the image
server's own answer time for the same request.

    python bench/paint.py [rounds]

The demo server (photo-like grain: about 17 MB of JSON; it keeps its drawings cached, so the same prompt costs both
paths the same small drawing time) and the app run in their own processes; Debian's Chromium fills the form and
presses Generate, each round in a fresh page with an empty cache. The clock starts at the form's submit and stops at
the first frame after the fourth image is decoded on screen. The baseline, measured in the same run, alternating with
the page, is the same request posted straight to the demo server from Python (send, wait, read and parse the whole
answer, as bench/overhead.py's baseline does). Each round's page is paired with the direct call just before it; goal:
the median of those ratios at most 1.15x.
"""
from __future__ import annotations

import statistics
import sys
import tempfile
import time

import requests
from _common import app_server, demo_server
from playwright.sync_api import sync_playwright

ROUNDS = int(sys.argv[1]) if len(sys.argv) > 1 else 7
BODY = {"prompt": "a lighthouse on a cliff at dawn", "model": "gpt-image-1", "n": 4, "size": "1024x1024"}
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]

# Runs in the page before Generate is pressed: notes the submit, then each frame looks for the images, decoded.
WATCH = """(count) => {
  window.benchStart = null; window.benchPainted = null;
  document.getElementById('generate-form').addEventListener('submit', () => { window.benchStart = performance.now(); },
                                                            { capture: true, once: true });
  const look = () => {
    const images = [...document.querySelectorAll('.result .image-card img')];
    if (images.length === count && images.every((image) => image.complete && image.naturalWidth > 0)) {
      requestAnimationFrame(() => { window.benchPainted = performance.now(); });  // the frame that shows them
      return;
    }
    requestAnimationFrame(look);
  };
  requestAnimationFrame(look);
}"""


def upstream_seconds(api_base: str) -> float:
    started = time.perf_counter()
    answer = requests.post(api_base + "/images/generations", json=BODY, timeout=120)
    answer.raise_for_status()
    assert len(answer.json()["data"]) == BODY["n"]
    return time.perf_counter() - started


def page_seconds(page, url: str) -> float:
    page.goto(url)
    page.fill("#prompt", BODY["prompt"])
    page.fill("#model", BODY["model"])
    page.click(".more-options summary")
    page.fill("#n", str(BODY["n"]))
    page.fill("#size", BODY["size"])
    page.evaluate(WATCH, BODY["n"])
    page.click("#generate-button")
    deadline = time.monotonic() + 120
    while page.evaluate("window.benchPainted") is None:  # the times are the page's own: this loop only waits
        if time.monotonic() > deadline:
            raise SystemExit("the images were not painted within 120 seconds")
        time.sleep(0.05)
    return page.evaluate("(window.benchPainted - window.benchStart) / 1000")


def main() -> None:
    upstream, painted = [], []
    with demo_server("--grain") as demo, tempfile.TemporaryDirectory() as data, \
            app_server(demo.url + "/v1", data) as app, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        for take in range(ROUNDS + 1):
            page = browser.new_page(viewport={"width": 1366, "height": 768})  # an empty cache: the images come anew
            direct, shown = upstream_seconds(demo.url + "/v1"), page_seconds(page, app.url)
            page.close()
            if take:  # the first of each is a warm-up
                upstream.append(direct)
                painted.append(shown)
        browser.close()
    ratios = [shown / direct for shown, direct in zip(painted, upstream)]
    print(f"image server's own answer (4 x 1024x1024 b64_json): median {statistics.median(upstream) * 1000:.0f} ms "
          "(the baseline)")
    print(f"submit -> all four painted in Chromium: median {statistics.median(painted) * 1000:.0f} ms")
    of_medians = statistics.median(painted) / statistics.median(upstream)
    print(f"ratio: median of the rounds' own ratios {statistics.median(ratios):.2f}x (range {min(ratios):.2f}-"
          f"{max(ratios):.2f}x over {ROUNDS} rounds); of the medians {of_medians:.2f}x (goal: <= 1.15x)")


if __name__ == "__main__":
    main()
