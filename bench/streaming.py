"""Streamed partial images: from the image server's first partial event to that partial painted in Chromium.

    python bench/streaming.py

The demo server runs in this process (it notes when it sent each event), the app in its own process, and Debian's
Chromium loads the page and generates with stream on. The baseline, measured in the same run, is the upstream's own
gap between partial events. Goal: the median delay to paint at most 150 ms.
"""
from __future__ import annotations

import statistics
import tempfile

from _common import app_server
from playwright.sync_api import sync_playwright

from proofsheet.demo.server import DemoImageServer

ROUNDS = 7
PARTIAL_DELAY = 0.5
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]


def main() -> None:
    delays, gaps = [], []
    with DemoImageServer(partial_delay=PARTIAL_DELAY) as demo, tempfile.TemporaryDirectory() as data, \
            app_server(demo.api_base, data) as app, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1366, "height": 768})
        for round_number in range(ROUNDS + 1):
            page.goto(app.url)
            page.fill("#prompt", f"a slow sunrise over the sea, take {round_number}")
            page.fill("#model", "gpt-image-1")
            page.click(".more-options summary")
            page.check("#stream")
            page.fill("#partial_images", "2")
            sent_before = len(demo.events_sent)
            page.click("#generate-button")
            painted = page.wait_for_selector(".waiting-card .partial img[data-painted-at]", timeout=30_000)
            log = painted.get_attribute("data-paint-log").split()
            page.wait_for_selector(".result .image-card img", timeout=30_000)
            partials = [sent for name, sent in demo.events_sent[sent_before:] if name.endswith("partial_image")]
            if round_number == 0:
                continue  # warm-up
            first_painted = int(log[0].split(":")[1]) / 1000
            delays.append((first_painted - partials[0]) * 1000)
            gaps.append((partials[1] - partials[0]) * 1000)
        browser.close()
    print(f"upstream gap between partial events: median {statistics.median(gaps):.0f} ms (the baseline)")
    print(f"first partial sent upstream -> painted in Chromium: median {statistics.median(delays):.0f} ms, "
          f"max {max(delays):.0f} ms over {ROUNDS} runs (goal: median <= 150 ms) -> "
          f"{statistics.median(delays) / statistics.median(gaps):.2f}x of the upstream's own gap")


if __name__ == "__main__":
    main()
