"""The gallery with 1,000 generations: server time for its first page, and what a browser loads for it.

    python bench/gallery.py

Baselines measured in the same run: the same page with 24 generations, one page's worth (does the page grow with the history?) and the
full-size images the thumbnails stand for (what a gallery without thumbnails would load).
"""
from __future__ import annotations

import re
import tempfile
import time

from _common import median_seconds

from app import create_app
from proofsheet.demo.server import draw_image
from proofsheet.asking.generation import GenerationRequest
from proofsheet.images import verify_image
from proofsheet.results import GenerationResult, ImageItem
from proofsheet.history.store import Store

GENERATIONS = 1000
DISTINCT_IMAGES = 48  # the first two pages are all different pictures; later ones repeat (files are shared)
REPEATS = 40
ONE_PAGE = 24  # the baseline: a history that fits on the first page
ASSET = re.compile(r'(?:src|href)="(/(?:thumbnails|static)/[^"]+)"')


def fill(folder: str, count: int, pictures: list) -> None:
    store = Store(folder)
    for number in range(count):
        request = GenerationRequest(f"generation {number}: a lighthouse at dawn", response_format="b64_json")
        result = GenerationResult(request=request.to_body(), endpoint="http://127.0.0.1:1/v1/images/generations",
                                  status=200, elapsed=1.0, raw={"data": [{"b64_json": "…"}]}, raw_body=b"{}",
                                  raw_is_json=True)
        result.items = [ImageItem(0, "b64_json", image=pictures[number % len(pictures)])]
        store.finish(store.begin(request.to_body(), result.endpoint), result)
    store.close()  # one process per data folder: let go of it before the app opens it

def measure(folder: str) -> tuple[float, str, object, object]:
    app = create_app({"DATA_DIR": folder, "API_BASE": "http://127.0.0.1:1/v1", "SECRET_KEY": "bench"})
    client = app.test_client()
    html = client.get("/generations").get_data(as_text=True)
    seconds = median_seconds(lambda: client.get("/generations"), REPEATS)
    return seconds, html, client, app


def pictures(grain: bool) -> list:
    return [verify_image(draw_image(f"picture {n}", "flux", 1024, 1024, seed=n, grain=grain))
            for n in range(DISTINCT_IMAGES)]


def page_weight(html: str, client) -> tuple[int, int, int]:
    """(HTML + thumbnails + static files, number of thumbnails, the same images at full size), in bytes."""
    assets = ASSET.findall(html)
    thumbnails = [path for path in assets if path.startswith("/thumbnails/")]
    loaded = len(html.encode()) + sum(len(client.get(path).data) for path in assets)
    full = sum(len(client.get(path.replace("/thumbnails/", "/images/").replace(".webp", ".png")).data)
               for path in thumbnails)
    return loaded, len(thumbnails), full


def main() -> None:
    started = time.perf_counter()
    for label, grain in (("smooth demo pictures", False), ("photo-like grain (worst case)", True)):
        with tempfile.TemporaryDirectory() as small, tempfile.TemporaryDirectory() as large:
            drawn = pictures(grain)
            fill(small, ONE_PAGE, drawn)
            fill(large, GENERATIONS, drawn)
            small_seconds, _, _, small_app = measure(small)
            large_seconds, html, client, large_app = measure(large)
            loaded, count, full = page_weight(html, client)
            for app in (small_app, large_app):
                app.extensions["store"].close()
        print(f"[{label}]")
        print(f"  first gallery page, server time: {large_seconds * 1000:.1f} ms with {GENERATIONS} generations, "
              f"{small_seconds * 1000:.1f} ms with {ONE_PAGE} -> ratio {large_seconds / small_seconds:.2f}x")
        print(f"  bytes a browser loads: {loaded:,} ({loaded / 1024:.0f} KB: HTML {len(html.encode()):,}, "
              f"{count} thumbnails, CSS, scripts and icon)")
        print(f"  the same {count} images at full size: {full:,} bytes -> the page loads "
              f"{loaded / full:.3f}x of that")
    print(f"total bench time {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
