"""A small demo image server speaking the OpenAI images protocol, drawing labelled pictures with Pillow (not AI).

`python app.py --demo` starts it beside the app; the tests and benchmarks use it as a real server on a real socket.
"""
from __future__ import annotations

import argparse
import base64
import colorsys
import email.policy
import functools
import hashlib
import io
import json
import logging
import random
import re
import textwrap
import threading
import time
from collections import OrderedDict
from email.parser import BytesParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageFont

log = logging.getLogger(__name__)

IMAGE_MODELS = ["flux", "flux-dev", "flux-schnell", "sdxl-turbo", "dall-e-3", "gpt-image-1", "gpt-image-1-mini"]
TEXT_MODELS = ["gpt-4o-mini", "llama-3.3-70b"]
PROVIDERS = ["DemoFlux", "DemoGallery"]  # listed as gpt4free lists its providers: rows with "provider": true
PROVIDER_ROUTE = re.compile(r"/api/[^/]+/images/generations")  # gpt4free's per-provider route, beside /v1
GPT_IMAGE = ("gpt-image-1", "gpt-image-1-mini")
# Output tokens gpt-image-1 reports for a 1024×1024 image, by quality (larger sizes scale by area).
OUTPUT_TOKENS = {"low": 272, "medium": 1056, "high": 4160}
SAVE_AS = {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP"}
MAX_N = 10
MEDIA_KEPT = 256



class _Server(ThreadingHTTPServer):
    request_queue_size = 128  # many clients at once (a burst of generations) must not overflow the listen backlog

class DemoImageServer:
    """Runs the demo protocol on a free loopback port in a background thread."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, delay: float = 0.0, grain: bool = False,
                 model_delays: dict[str, float] | None = None, partial_delay: float = 0.4,
                 api_key: str | None = None) -> None:
        self.delay = delay
        self.api_key = api_key  # when set, every /v1 call must carry it, as OpenAI's does
        self.partial_delay = partial_delay  # seconds between streamed partial images
        self.model_delays = model_delays or {}  # seconds per model, to show a compare grid filling in
        self.grain = grain
        self.media: OrderedDict[str, bytes] = OrderedDict()
        self.media_lock = threading.Lock()
        self.requests_seen: list[dict[str, Any]] = []
        self.events_sent: list[tuple[str, float]] = []  # (event name, wall-clock time sent), for measuring relays
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

    def _key_refused(self) -> bool:
        """With a key set, a /v1 call without it gets OpenAI's 401 answer."""
        if not self.demo.api_key or not self.path.startswith("/v1/"):
            return False
        if self.headers.get("Authorization") == f"Bearer {self.demo.api_key}":
            return False
        if self.command == "POST":  # read what was sent, so that the client gets the answer, not a reset
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self._send_json(401, {"error": {"message": "Incorrect API key provided.", "type": "invalid_request_error",
                                        "param": None, "code": "invalid_api_key"}})
        return True

    def do_GET(self) -> None:
        if self._key_refused():
            return
        if self.path.rstrip("/") == "/v1/models":
            rows = [{"id": m, "object": "model", "owned_by": "demo", "image": True, "type": "image", "provider": False}
                    for m in IMAGE_MODELS]
            rows += [{"id": m, "object": "model", "owned_by": "demo", "image": False, "provider": False}
                     for m in TEXT_MODELS]
            rows += [{"id": p, "object": "model", "owned_by": "Demo", "image": True, "provider": True} for p in PROVIDERS]
            self._send_json(200, {"object": "list", "data": rows})
        elif self.path.startswith("/v1/models/"):
            name = self.path[len("/v1/models/"):]
            if name in IMAGE_MODELS + TEXT_MODELS:
                self._send_json(200, {"id": name, "object": "model", "owned_by": "demo", "created": 0})
            else:
                self._send_json(404, {"error": {"message": f"Model not found: {name}"}})
        elif self.path.startswith("/api/") and self.path.endswith("/models"):  # one provider's own list
            provider = self.path[len("/api/"):-len("/models")]
            if provider not in PROVIDERS:
                self._send_json(404, {"error": {"message": f"Provider not found: {provider}"}})
            else:
                models = IMAGE_MODELS[:3] if provider == "DemoFlux" else IMAGE_MODELS[3:]
                self._send_json(200, {"object": "list", "data": [{"id": m, "object": "model", "image": True}
                                                                  for m in models]})
        elif self.path.rstrip("/") == "/v1/providers":
            self._send_json(200, [{"id": p, "object": "provider", "created": 0, "url": None, "label": p}
                                  for p in PROVIDERS])
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
        if self._key_refused():
            return
        path = self.path.split("?")[0].rstrip("/")
        if path == "/v1/images/generations" or PROVIDER_ROUTE.fullmatch(path):
            body = self._json_body()
        elif path == "/v1/images/edits":
            body = self._multipart_body()
        else:
            self._send_json(404, {"detail": "Not Found"})
            return
        if body is None:
            return
        self.demo.requests_seen.append({key: value for key, value in body.items() if key not in ("image", "mask")})
        refusal = _refusal(body)
        if refusal:
            self._send_json(*refusal)
            return
        delay = self.demo.model_delays.get(body.get("model") or "flux", self.demo.delay)
        if delay:
            time.sleep(delay)
        edit = path.endswith("/edits")
        if body.get("stream") is True and body["model"] in GPT_IMAGE:
            self._stream(body, edit)
        else:
            self._send_json(200, self._answer(body, edit))

    def _json_body(self) -> dict[str, Any] | None:
        try:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"null")
        except ValueError:
            self._send_json(422, {"detail": [{"loc": ["body"], "msg": "JSON decode error", "type": "json_invalid"}]})
            return None
        if not isinstance(body, dict) or not isinstance(body.get("prompt"), str):
            self._send_json(422, {"detail": [{"loc": ["body", "prompt"], "msg": "Field required", "type": "missing"}]})
            return None
        body.setdefault("model", "flux")
        return body

    def _multipart_body(self) -> dict[str, Any] | None:
        """An edit, as OpenAI takes it: fields, one or more `image` (or `image[]`) files and an optional `mask`."""
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        message = BytesParser(policy=email.policy.HTTP).parsebytes(
            b"Content-Type: " + self.headers.get("Content-Type", "").encode() + b"\r\n\r\n" + raw)
        body: dict[str, Any] = {"image": []}
        for part in message.iter_parts() if message.is_multipart() else []:
            name = part.get_param("name", header="content-disposition")
            data = part.get_payload(decode=True) or b""
            if name in ("image", "image[]"):
                body["image"].append(data)
            elif name == "mask":
                body["mask"] = data
            elif name:
                text = data.decode("utf-8", "replace")
                body[name] = {"true": True, "false": False}.get(text, int(text) if text.isdigit() else text)
        if not body["image"] or not isinstance(body.get("prompt"), str):
            self._send_json(400, {"error": {"message": "An edit needs an image file and a prompt.",
                                            "type": "invalid_request_error"}})
            return None
        body.setdefault("model", "gpt-image-1")
        return body

    def _answer(self, body: dict[str, Any], edit: bool) -> dict[str, Any]:
        model = body["model"]
        pictures = [self._picture(body, index, edit) for index in range(_count(body))]
        if model in GPT_IMAGE:  # always base64, with what was made and the tokens it cost
            return {"created": int(time.time()), "data": [{"b64_json": _b64(data)} for data in pictures],
                    **_echo(body), "usage": _usage(body, len(pictures), edit)}
        data = [self._item(picture, body.get("response_format")) for picture in pictures]
        if model == "dall-e-3":
            for item in data:
                item["revised_prompt"] = "A demo picture of " + body["prompt"]
        return {"created": int(time.time()), "data": data, "model": model, "provider": "Demo"}

    def _picture(self, body: dict[str, Any], index: int, edit: bool) -> bytes:
        width, height = _size(body.get("size"))
        if edit:
            return draw_edit(body["image"][0], body.get("mask"), body["prompt"], body["model"], width, height,
                             SAVE_AS.get(body.get("output_format"), "PNG"))
        transparent = body["model"] in GPT_IMAGE and body.get("background") == "transparent"
        return draw_image(body["prompt"], body["model"], width, height, seed=(body.get("seed") or 0) + index,
                          grain=self.demo.grain, transparent=transparent,
                          image_format=SAVE_AS.get(body.get("output_format"), "PNG") if body["model"] in GPT_IMAGE
                          else "PNG")

    def _stream(self, body: dict[str, Any], edit: bool) -> None:
        """Server-Sent Events as OpenAI sends them: partial images, sharper each time, then the finished one."""
        prefix = "image_edit" if edit else "image_generation"
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()
        partials = max(0, min(3, int(body.get("partial_images") or 0)))
        count = _count(body)
        try:
            for index in range(count):
                final = self._picture(body, index, edit)
                for step in range(partials):
                    time.sleep(self.demo.partial_delay)
                    self._event(f"{prefix}.partial_image", {
                        "type": f"{prefix}.partial_image", "b64_json": _b64(blurred(final, partials - step)),
                        "partial_image_index": step, "created_at": int(time.time()), **_echo(body)})
                time.sleep(self.demo.partial_delay)
                self._event(f"{prefix}.completed", {
                    "type": f"{prefix}.completed", "b64_json": _b64(final), "created_at": int(time.time()),
                    **_echo(body), "usage": _usage(body, 1, edit)})
        except (BrokenPipeError, ConnectionResetError):
            pass
        self.close_connection = True

    def _item(self, png: bytes, fmt: Any) -> dict[str, str]:
        if fmt == "b64_json":
            return {"b64_json": _b64(png)}
        if fmt == "url":  # like providers that hand back a data: URI
            return {"url": "data:image/png;base64," + _b64(png)}
        # Like gpt4free: saved, then an absolute URL built from the Host header received.
        return {"url": f"http://{self.headers.get('Host')}/media/{self.demo.keep_media(png)}"}

    def _event(self, name: str, payload: dict[str, Any]) -> None:
        self.wfile.write(f"event: {name}\ndata: {json.dumps(payload)}\n\n".encode())
        self.wfile.flush()
        self.demo.events_sent.append((name, time.time()))

    def _send_json(self, status: int, payload: Any) -> None:
        self._send(status, json.dumps(payload).encode(), "application/json")

    def _send(self, status: int, data: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def _refusal(body: dict[str, Any]) -> tuple[int, dict[str, Any]] | None:
    """What a real server refuses, in its own words: unknown models (gpt4free), OpenAI's rules for its models."""
    model = body["model"]
    if model not in IMAGE_MODELS:  # as gpt4free answers an unknown model
        return 404, {"error": {"message": f"Model not found: {model}"}, "model": model}
    for name in ("n", "seed"):
        if body.get(name) is not None and (not isinstance(body[name], int) or isinstance(body[name], bool)):
            return 422, {"detail": [{"loc": ["body", name], "msg": "Input should be a valid integer", "type": "int_type"}]}
    if model in GPT_IMAGE and "response_format" in body:
        return 400, _openai_error("Unknown parameter: 'response_format'.", "response_format", "unknown_parameter")
    if model == "dall-e-3" and (body.get("n") or 1) > 1:
        return 400, _openai_error("You must provide n=1 for this model.", "n")
    if model in GPT_IMAGE and body.get("background") == "transparent" and body.get("output_format") == "jpeg":
        return 400, _openai_error("Transparent background is not supported for the jpeg output format.", "background")
    return None


def _openai_error(message: str, param: str, code: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": "invalid_request_error", "param": param, "code": code}}


def _count(body: dict[str, Any]) -> int:
    return max(1, min(MAX_N, int(body.get("n") or 1)))


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _echo(body: dict[str, Any]) -> dict[str, str]:
    """The fields gpt-image answers with: what it actually made."""
    quality = body.get("quality") if body.get("quality") in OUTPUT_TOKENS else "medium"
    background = "transparent" if body.get("background") == "transparent" else "opaque"
    size = "1024x1024" if body.get("size") in (None, "auto") else str(body["size"])
    return {"background": background, "output_format": body.get("output_format") or "png", "quality": quality,
            "size": size}


def _usage(body: dict[str, Any], images: int, edit: bool) -> dict[str, Any]:
    width, height = _size(body.get("size"))
    output = round(OUTPUT_TOKENS[_echo(body)["quality"]] * width * height / (1024 * 1024)) * images
    text = len(body["prompt"].split()) + 8
    image_in = 323 * len(body.get("image") or []) if edit else 0
    return {"input_tokens": text + image_in, "input_tokens_details": {"text_tokens": text, "image_tokens": image_in},
            "output_tokens": output, "total_tokens": text + image_in + output}


def _size(value: Any) -> tuple[int, int]:
    try:
        width, height = (int(part) for part in str(value).lower().split("x"))
        return max(64, min(width, 2048)), max(64, min(height, 2048))
    except ValueError:
        return 1024, 1024


@functools.lru_cache(maxsize=16)  # the same request draws the same picture; benchmarks ask for it again and again
def draw_image(prompt: str, model: str, width: int, height: int, seed: int = 0, grain: bool = False,
               transparent: bool = False, image_format: str = "PNG") -> bytes:
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
    _draw_label(image, prompt)
    if transparent:  # the picture on a round card, its corners see-through
        card = Image.new("L", image.size, 0)
        ImageDraw.Draw(card).rounded_rectangle((0, 0, width - 1, height - 1), radius=min(width, height) // 5, fill=255)
        image = image.convert("RGBA")
        image.putalpha(card)
    return _encode(image, image_format)


def _encode(image: Image.Image, image_format: str) -> bytes:
    out = io.BytesIO()
    if image_format == "PNG":
        image.save(out, "PNG", compress_level=1)
    else:
        (image if image_format == "WEBP" else image.convert("RGB")).save(out, image_format, quality=90)
    return out.getvalue()


def blurred(data: bytes, strength: int) -> bytes:
    """A partial image: the finished one, blurred (more for earlier partials), as the audience watches it sharpen."""
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        return _encode(image.filter(ImageFilter.GaussianBlur(radius=6 * strength)), image.format or "PNG")


def draw_edit(source: bytes, mask: bytes | None, prompt: str, model: str, width: int, height: int,
              image_format: str = "PNG") -> bytes:
    """An edit: the input image, the masked area (transparent in the mask) shaded, and the prompt written on it."""
    with Image.open(io.BytesIO(source)) as opened:
        image = opened.convert("RGB").resize((width, height))
    if mask:
        with Image.open(io.BytesIO(mask)) as opened:
            alpha = opened.convert("RGBA").resize((width, height)).getchannel("A")
        editable = alpha.point(lambda value: 255 if value == 0 else 0)
        image.paste(Image.new("RGB", image.size, (255, 80, 160)), (0, 0),
                    editable.point(lambda value: value * 45 // 100))
    _draw_label(image, "edit: " + prompt)
    return _encode(image, image_format)


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


def _draw_label(image: Image.Image, prompt: str) -> None:
    """The demo mark and the prompt. Not the model: pages name it beside each image, and a blind vote must not."""
    draw = ImageDraw.Draw(image)
    edge = min(image.size)
    big = ImageFont.load_default(size=max(10, edge // 14))
    small = ImageFont.load_default(size=max(8, edge // 28))
    margin = edge // 16
    draw.text((margin, margin), "DEMO · not AI", font=big, fill="white", stroke_width=max(1, edge // 256),
              stroke_fill=(0, 0, 0))
    lines = textwrap.wrap(prompt, width=max(12, image.width // max(1, edge // 50)))[:6]
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
    parser.add_argument("--partial-delay", type=float, default=0.4, help="seconds between streamed partial images")
    parser.add_argument("--api-key", help="refuse /v1 calls without this key (to try keys out)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO)
    server = DemoImageServer(args.host, args.port, args.delay, args.grain, partial_delay=args.partial_delay,
                             api_key=args.api_key)
    log.info("Demo image server at %s", server.api_base)
    try:
        server.httpd.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
