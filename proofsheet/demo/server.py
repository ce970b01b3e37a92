"""A small demo image server speaking the OpenAI images protocol, drawing labelled pictures with Pillow (not AI).

`python app.py --demo` starts it beside the app; the tests and benchmarks use it as a real server on a real socket.
"""
from __future__ import annotations

import argparse
import base64
import email.policy
import hashlib
import json
import logging
import re
import threading
import time
from collections import OrderedDict
from email.parser import BytesParser
from typing import Any, Callable

from proofsheet.demo.drawing import blurred, draw_edit, draw_image
from proofsheet.demo import rules
from proofsheet.demo.loopback import BodyUnreadable, LoopbackHandler, LoopbackServer

log = logging.getLogger(__name__)

TEXT_MODELS = ["gpt-4o-mini", "llama-3.3-70b"]
PROVIDERS = ["DemoFlux", "DemoGallery"]  # listed as gpt4free lists its providers: rows with "provider": true
PROVIDER_ROUTE = re.compile(r"/api/[^/]+/images/generations")  # gpt4free's per-provider route, beside /v1
SAVE_AS = {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP"}
MEDIA_KEPT = 256


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
        self.httpd = LoopbackServer(type("BoundHandler", (DemoHandler,), {"demo": self}), host, port)

    @property
    def base_url(self) -> str:
        return self.httpd.base_url

    @property
    def api_base(self) -> str:
        return f"{self.base_url}/v1"

    def start(self) -> "DemoImageServer":
        self.httpd.start("demo-image-server")
        return self

    def stop(self) -> None:
        self.httpd.stop()

    def delay_for(self, model: str) -> float:
        """Seconds a generation with `model` takes: its own delay if it has one, else the server's."""
        return self.model_delays.get(model, self.delay)

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


class DemoHandler(LoopbackHandler):
    demo: DemoImageServer
    server_version = "ProofsheetDemo/1"

    def _key_refused(self) -> bool:
        """With a key set, a /v1 call without it gets OpenAI's 401 answer."""
        if not self.demo.api_key or not self.path.startswith("/v1/"):
            return False
        if self.headers.get("Authorization") == f"Bearer {self.demo.api_key}":
            return False
        self._send_json(401, rules.openai_error("Incorrect API key provided.", None, "invalid_api_key"))
        return True

    def do_GET(self) -> None:
        if self._body() is None or self._key_refused():
            return
        if self.path.rstrip("/") == "/v1/models":
            rows = [{"id": m, "object": "model", "owned_by": "demo", "image": True, "type": "image",
                     "provider": False} for m in rules.IMAGE_MODELS]
            rows += [{"id": m, "object": "model", "owned_by": "demo", "image": False, "provider": False}
                     for m in TEXT_MODELS]
            rows += [{"id": p, "object": "model", "owned_by": "Demo", "image": True, "provider": True} for p in PROVIDERS]
            self._send_json(200, {"object": "list", "data": rows})
        elif self.path.startswith("/v1/models/"):
            name = self.path[len("/v1/models/"):]
            if name in rules.IMAGE_MODELS + TEXT_MODELS:
                self._send_json(200, {"id": name, "object": "model", "owned_by": "demo", "created": 0})
            else:
                self._send_json(404, {"error": {"message": f"Model not found: {name}"}})
        elif self.path.startswith("/api/") and self.path.endswith("/models"):  # one provider's own list
            provider = self.path[len("/api/"):-len("/models")]
            if provider not in PROVIDERS:
                self._send_json(404, {"error": {"message": f"Provider not found: {provider}"}})
            else:
                models = rules.IMAGE_MODELS[:3] if provider == "DemoFlux" else rules.IMAGE_MODELS[3:]
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
            self._unknown_url()

    def do_POST(self) -> None:
        raw = self._body()
        if raw is None or self._key_refused():
            return
        path = self.path.split("?")[0].rstrip("/")
        if path == "/v1/images/generations" or PROVIDER_ROUTE.fullmatch(path):
            body = self._json_body(raw)
        elif path == "/v1/images/edits":
            body = self._multipart_body(raw)
        else:
            self._unknown_url()
            return
        if body is None:
            return
        self.demo.requests_seen.append({key: value for key, value in body.items() if key not in ("image", "mask")})
        refusal = rules.refusal(body) or (rules.edit_refusal(body) if path.endswith("/edits") else None)
        if refusal:
            self._send_json(*refusal)
            return
        self._generate(body, path.endswith("/edits"))

    def _other_method(self) -> None:
        if self._body() is not None:
            self._unknown_url()

    do_PUT = do_PATCH = do_DELETE = _other_method

    def _body(self) -> bytes | None:
        """Every request's body is read (or refused, and the connection closed), whatever the path: on a kept-alive
        connection the next request starts right after it."""
        try:
            return self.read_body()
        except BodyUnreadable:
            self._send_json(400, rules.openai_error("The request body could not be read (a bad length or chunk).",
                                                    None))
            return None

    def _unknown_url(self) -> None:
        """A path the demo does not serve, answered as OpenAI answers one."""
        self._send_json(404, rules.openai_error(f"Invalid URL ({self.command} {self.path.split('?')[0]})", None))

    def _generate(self, body: dict[str, Any], edit: bool) -> None:
        delay = self.demo.delay_for(body["model"])
        if body.get("stream") is True and body["model"] in rules.GPT_IMAGE:
            self._stream(body, edit, delay)
            return
        time.sleep(delay)
        self._send_json(200, self._answer(body, edit))

    def _json_body(self, raw: bytes) -> dict[str, Any] | None:
        try:
            body = json.loads(raw or b"null")
        except (ValueError, RecursionError):  # not JSON, or nested deeper than Python's parser goes
            self._send_json(422, {"detail": [{"loc": ["body"], "msg": "JSON decode error", "type": "json_invalid"}]})
            return None
        if not isinstance(body, dict) or not isinstance(body.get("prompt"), str):
            self._send_json(422, {"detail": [{"loc": ["body", "prompt"], "msg": "Field required", "type": "missing"}]})
            return None
        body.setdefault("model", "flux")
        return body

    def _multipart_body(self, raw: bytes) -> dict[str, Any] | None:
        """An edit, as OpenAI takes it: fields, one or more `image` (or `image[]`) files and an optional `mask`."""
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
        pictures = [self._picture(body, index, edit) for index in range(rules.count(body))]
        if model in rules.GPT_IMAGE:  # always base64, with what was made and the tokens it cost
            return {"created": int(time.time()), "data": [{"b64_json": _b64(data)} for data in pictures],
                    **rules.echo(body), "usage": rules.usage(body, len(pictures), edit)}
        data = [self._item(picture, body.get("response_format")) for picture in pictures]
        if model == "dall-e-3":
            for item in data:
                item["revised_prompt"] = "A demo picture of " + body["prompt"]
        return {"created": int(time.time()), "data": data, "model": model, "provider": "Demo"}

    def _picture(self, body: dict[str, Any], index: int, edit: bool) -> bytes:
        width, height = rules.size(body.get("size"))
        if edit:
            return draw_edit(body["image"][0], body.get("mask"), body["prompt"], body["model"], width, height,
                             SAVE_AS.get(body.get("output_format"), "PNG"))
        transparent = body["model"] in rules.GPT_IMAGE and body.get("background") == "transparent"
        return draw_image(body["prompt"], body["model"], width, height, seed=(body.get("seed") or 0) + index,
                          grain=self.demo.grain, transparent=transparent,
                          image_format=SAVE_AS.get(body.get("output_format"), "PNG")
                          if body["model"] in rules.GPT_IMAGE else "PNG")

    def _stream(self, body: dict[str, Any], edit: bool, delay: float) -> None:
        """Server-Sent Events as OpenAI sends them: partial images, sharper each time, then the finished one.

        With a delay, the events are spread evenly over it (the last one at the end), as a slow server's would be."""
        prefix = "image_edit" if edit else "image_generation"
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()
        partials = max(0, min(3, int(body.get("partial_images") or 0)))
        count = rules.count(body)
        pause = self._pacer(delay, count * (partials + 1))
        try:
            for index in range(count):
                final = self._picture(body, index, edit)
                for step in range(partials):
                    pause()
                    self._event(f"{prefix}.partial_image", {
                        "type": f"{prefix}.partial_image", "b64_json": _b64(blurred(final, partials - step)),
                        "partial_image_index": step, "created_at": int(time.time()), **rules.echo(body)})
                pause()
                self._event(f"{prefix}.completed", {
                    "type": f"{prefix}.completed", "b64_json": _b64(final), "created_at": int(time.time()),
                    **rules.echo(body), "usage": rules.usage(body, 1, edit)})
        except (BrokenPipeError, ConnectionResetError):
            pass
        self.close_connection = True

    def _pacer(self, delay: float, events: int) -> Callable[[], None]:
        """Waits before each event: to its share of `delay` from now, or (no delay) the server's partial_delay."""
        started, sent = time.monotonic(), 0

        def pause() -> None:
            nonlocal sent
            sent += 1
            time.sleep(max(0.0, started + delay * sent / events - time.monotonic()) if delay
                       else self.demo.partial_delay)
        return pause

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


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def demo_delay(text: str) -> tuple[str | None, float]:
    """One delay flag's value, SECONDS for every model or MODEL=SECONDS for one (an argparse type)."""
    model, _, seconds = text.rpartition("=")
    try:
        value = float(seconds)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not SECONDS or MODEL=SECONDS (e.g. 3 or flux=4)") from None
    if not 0 <= value <= 3600:  # refuses nan and inf too
        raise argparse.ArgumentTypeError(f"{text!r}: a delay is between 0 and 3600 seconds")
    return model or None, value


def delay_options(given: list[tuple[str | None, float]] | None) -> dict[str, Any]:
    """DemoImageServer's `delay` and `model_delays` from the delay flags given; for each, the last one counts."""
    given = given or []
    return {"delay": next((seconds for model, seconds in reversed(given) if model is None), 0.0),
            "model_delays": {model: seconds for model, seconds in given if model is not None}}


def main() -> None:
    parser = argparse.ArgumentParser(description="Proofsheet's demo image server (draws placeholders, not AI).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=1337)
    parser.add_argument("--delay", type=demo_delay, action="append", metavar="[MODEL=]SECONDS",
                        help="seconds each generation takes, streamed partial images spread over them; repeat with "
                             "MODEL=SECONDS for one model's own (e.g. --delay 1 --delay flux=4)")
    parser.add_argument("--grain", action="store_true", help="photo-like texture: larger, realistic files")
    parser.add_argument("--partial-delay", type=float, default=0.4, help="seconds between streamed partial images")
    parser.add_argument("--api-key", help="refuse /v1 calls without this key (to try keys out)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO)
    server = DemoImageServer(args.host, args.port, grain=args.grain, partial_delay=args.partial_delay,
                             api_key=args.api_key, **delay_options(args.delay))
    log.info("Demo image server at %s", server.api_base)
    try:
        server.httpd.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
