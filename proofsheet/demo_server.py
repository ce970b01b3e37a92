"""A small demo image server speaking the OpenAI images protocol, drawing labelled pictures with Pillow (not AI).

`python app.py --demo` starts it beside the app; the tests and benchmarks use it as a real server on a real socket.
"""
from __future__ import annotations

import argparse
import base64
import colorsys
import functools
import hashlib
import io
import json
import logging
import random
import textwrap
import threading
import time
from collections import OrderedDict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from PIL import Image, ImageChops, ImageDraw, ImageFont

log = logging.getLogger(__name__)

IMAGE_MODELS = ["flux", "flux-dev", "flux-schnell", "sdxl-turbo", "dall-e-3", "gpt-image-1"]
TEXT_MODELS = ["gpt-4o-mini", "llama-3.3-70b"]
MAX_N = 10
MEDIA_KEPT = 256



class _Server(ThreadingHTTPServer):
    request_queue_size = 128  # many clients at once (a burst of generations) must not overflow the listen backlog

class DemoImageServer:
    """Runs the demo protocol on a free loopback port in a background thread."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, delay: float = 0.0, grain: bool = False,
                 model_delays: dict[str, float] | None = None) -> None:
        self.delay = delay
        self.model_delays = model_delays or {}  # seconds per model, to show a compare grid filling in
        self.grain = grain
        self.media: OrderedDict[str, bytes] = OrderedDict()
        self.media_lock = threading.Lock()
        self.requests_seen: list[dict[str, Any]] = []
        handler = type("BoundHandler", (DemoHandler,), {"demo": self})
        self.httpd = _Server((host, port), handler)
        self.httpd.daemon_threads = True
        self.httpd.block_on_close = False  # a slow answer in flight must not hold up stop()
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def api_base(self) -> str:
        return f"{self.base_url}/v1"

    def start(self) -> "DemoImageServer":
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="demo-image-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> "DemoImageServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def keep_media(self, png: bytes) -> str:
        name = hashlib.sha256(png).hexdigest()[:24] + ".png"
        with self.media_lock:
            self.media[name] = png
            while len(self.media) > MEDIA_KEPT:
                self.media.popitem(last=False)
        return name


class DemoHandler(BaseHTTPRequestHandler):
    demo: DemoImageServer
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are separate writes: no 40 ms wait for a delayed ACK
    server_version = "ProofsheetDemo/1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's name
        log.debug("demo: " + format, *args)

    def do_GET(self) -> None:
        if self.path.rstrip("/") == "/v1/models":
            rows = [{"id": m, "object": "model", "owned_by": "demo", "image": True, "type": "image"}
                    for m in IMAGE_MODELS]
            rows += [{"id": m, "object": "model", "owned_by": "demo", "image": False} for m in TEXT_MODELS]
            self._send_json(200, {"object": "list", "data": rows})
        elif self.path.startswith("/media/"):
            with self.demo.media_lock:
                png = self.demo.media.get(self.path[len("/media/"):])
            if png is None:
                self._send_json(404, {"error": {"message": "Media not found"}})
            else:
                self._send(200, png, "image/png")
        else:
            self._send_json(404, {"detail": "Not Found"})

    def do_POST(self) -> None:
        if self.path.rstrip("/") != "/v1/images/generations":
            self._send_json(404, {"detail": "Not Found"})
            return
        try:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"null")
        except ValueError:
            self._send_json(422, {"detail": [{"loc": ["body"], "msg": "JSON decode error", "type": "json_invalid"}]})
            return
        if not isinstance(body, dict) or not isinstance(body.get("prompt"), str):
            self._send_json(422, {"detail": [{"loc": ["body", "prompt"], "msg": "Field required", "type": "missing"}]})
            return
        self.demo.requests_seen.append(body)
        model = body.get("model") or "flux"
        if model not in IMAGE_MODELS:  # as gpt4free answers an unknown model
            self._send_json(404, {"error": {"message": f"Model not found: {model}"}, "model": model})
            return
        for name in ("n", "seed"):
            if body.get(name) is not None and (not isinstance(body[name], int) or isinstance(body[name], bool)):
                self._send_json(422, {"detail": [{"loc": ["body", name], "msg": "Input should be a valid integer",
                                                  "type": "int_type"}]})
                return
        delay = self.demo.model_delays.get(model, self.demo.delay)
        if delay:
            time.sleep(delay)
        self._send_json(200, self._generate(body))

    def _generate(self, body: dict[str, Any]) -> dict[str, Any]:
        n = max(1, min(MAX_N, int(body.get("n") or 1)))
        width, height = _size(body.get("size"))
        fmt = body.get("response_format")
        data = []
        for index in range(n):
            png = draw_image(body["prompt"], body.get("model") or "flux", width, height,
                             seed=(body.get("seed") or 0) + index, grain=self.demo.grain)
            data.append(self._item(png, fmt))
        return {"created": int(time.time()), "data": data, "model": body.get("model"), "provider": "Demo"}

    def _item(self, png: bytes, fmt: Any) -> dict[str, str]:
        if fmt == "b64_json":
            return {"b64_json": base64.b64encode(png).decode("ascii")}
        if fmt == "url":  # like providers that hand back a data: URI
            return {"url": "data:image/png;base64," + base64.b64encode(png).decode("ascii")}
        # Like gpt4free: saved, then an absolute URL built from the Host header received.
        return {"url": f"http://{self.headers.get('Host')}/media/{self.demo.keep_media(png)}"}

    def _send_json(self, status: int, payload: Any) -> None:
        self._send(status, json.dumps(payload).encode(), "application/json")

    def _send(self, status: int, data: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def _size(value: Any) -> tuple[int, int]:
    try:
        width, height = (int(part) for part in str(value).lower().split("x"))
        return max(64, min(width, 2048)), max(64, min(height, 2048))
    except ValueError:
        return 1024, 1024


@functools.lru_cache(maxsize=16)  # the same request draws the same picture; benchmarks ask for it again and again
def draw_image(prompt: str, model: str, width: int, height: int, seed: int = 0, grain: bool = False) -> bytes:
    """A pleasant, clearly labelled placeholder: colours from the prompt, the prompt written on it."""
    rng = random.Random(hashlib.sha256(f"{prompt}|{model}|{seed}".encode()).digest())
    hue = rng.random()
    corners = [_colour(hue + shift, 0.55, value) for shift, value in ((0, 0.95), (0.08, 0.8), (0.5, 0.55), (0.6, 0.35))]
    image = Image.new("RGB", (2, 2))
    image.putdata(corners)
    image = image.resize((width, height), Image.Resampling.BICUBIC)
    _draw_circles(image, rng, hue)
    if grain:  # a photo-like, barely compressible texture for benchmarks
        noise = Image.merge("RGB", [Image.effect_noise((width, height), 40) for _ in range(3)])
        image = ImageChops.add(ImageChops.multiply(image, Image.new("RGB", image.size, (200,) * 3)), noise, 1.0, -40)
    _draw_label(image, prompt, model)
    out = io.BytesIO()
    image.save(out, "PNG", compress_level=1)
    return out.getvalue()


def _colour(hue: float, saturation: float, value: float) -> tuple[int, int, int]:
    red, green, blue = colorsys.hsv_to_rgb(hue % 1.0, saturation, value)
    return int(red * 255), int(green * 255), int(blue * 255)


def _draw_circles(image: Image.Image, rng: random.Random, hue: float) -> None:
    overlay = Image.new("RGBA", image.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    edge = min(image.size)
    for _ in range(7):
        radius = rng.uniform(0.08, 0.3) * edge
        x, y = rng.uniform(0, image.width), rng.uniform(0, image.height)
        draw.ellipse((x - radius, y - radius, x + radius, y + radius),
                     fill=_colour(hue + rng.uniform(-0.15, 0.15), 0.5, 1.0) + (70,))
    image.paste(overlay, (0, 0), overlay)


def _draw_label(image: Image.Image, prompt: str, model: str) -> None:
    draw = ImageDraw.Draw(image)
    edge = min(image.size)
    big = ImageFont.load_default(size=max(10, edge // 14))
    small = ImageFont.load_default(size=max(8, edge // 28))
    margin = edge // 16
    draw.text((margin, margin), "DEMO · not AI", font=big, fill="white", stroke_width=max(1, edge // 256),
              stroke_fill=(0, 0, 0))
    lines = textwrap.wrap(prompt, width=max(12, image.width // max(1, edge // 50)))[:6]
    lines.append(f"model: {model}")
    y = image.height - margin - len(lines) * edge // 22
    for line in lines:
        draw.text((margin, y), line, font=small, fill="white", stroke_width=1, stroke_fill=(0, 0, 0))
        y += edge // 22


def main() -> None:
    parser = argparse.ArgumentParser(description="Proofsheet's demo image server (draws placeholders, not AI).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=1337)
    parser.add_argument("--delay", type=float, default=0.0, help="seconds to wait before answering")
    parser.add_argument("--grain", action="store_true", help="photo-like texture: larger, realistic files")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO)
    server = DemoImageServer(args.host, args.port, args.delay, args.grain)
    log.info("Demo image server at %s", server.api_base)
    try:
        server.httpd.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
