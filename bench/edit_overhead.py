"""What Proofsheet adds to an edit: POST /api/edit versus posting the same multipart straight to the server.

    python bench/edit_overhead.py

A 1024×1024 PNG (photo-like texture) and a mask, edited by the demo server (gpt-image-1, base64 answer). The
baseline, measured in the same run and interleaved, is requests.post(...).json() of the same files to
/v1/images/edits. Proofsheet's side includes verifying both files, keeping them and the result. Goal: at most 1.2x.
"""
from __future__ import annotations

import io
import statistics
import tempfile
import time

import requests
from _common import app_server, demo_server
from PIL import Image

from proofsheet.demo.server import draw_image

ROUNDS = 9


def files() -> dict[str, tuple[str, bytes, str]]:
    image = draw_image("a photo to edit", "bench", 1024, 1024, grain=True)
    mask = Image.new("RGBA", (1024, 1024), (0, 0, 0, 255))
    mask.paste((0, 0, 0, 0), (256, 256, 768, 768))
    out = io.BytesIO()
    mask.save(out, "PNG")
    return {"image": ("photo.png", image, "image/png"), "mask": ("mask.png", out.getvalue(), "image/png")}


def main() -> None:
    upload = files()
    fields = {"prompt": "a window in the wall", "model": "gpt-image-1", "size": "1024x1024"}
    with demo_server() as demo, tempfile.TemporaryDirectory() as data, app_server(demo.url + "/v1", data) as app:
        direct_url, ours_url = demo.url + "/v1/images/edits", app.url + "/api/edit"
        for url in (direct_url, ours_url):  # warm both paths
            requests.post(url, data=fields, files=upload, timeout=60).raise_for_status()
        direct, ours = [], []
        for _ in range(ROUNDS):
            started = time.perf_counter()
            requests.post(direct_url, data=fields, files=upload, timeout=60).json()
            direct.append(time.perf_counter() - started)
            started = time.perf_counter()
            answer = requests.post(ours_url, data=fields, files=upload, timeout=60).json()
            ours.append(time.perf_counter() - started)
        assert answer["status"] == "ok" and answer["kind"] == "edit", answer["error"]
    baseline, proofsheet = statistics.median(direct), statistics.median(ours)
    print(f"upload: {sum(len(item[1]) for item in upload.values()) / 1e6:.1f} MB (a 1024x1024 PNG and its mask)")
    print(f"straight to /v1/images/edits: {baseline * 1000:.0f} ms   POST /api/edit: {proofsheet * 1000:.0f} ms   "
          f"-> ratio {proofsheet / baseline:.2f}x (goal <= 1.2x)")


if __name__ == "__main__":
    main()
