"""A scriptable image server on a real loopback socket: each test says how it should misbehave."""
from __future__ import annotations

import json
import select
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any, Callable

from proofsheet.demo.loopback import LoopbackHandler, LoopbackServer


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    drip_every: float | None = None  # send the body one byte at a time, this many seconds apart
    send_length: bool = True


class FakeImageServer:
    def __init__(self) -> None:
        self.replies: dict[tuple[str, str], Reply | Callable[[BaseHTTPRequestHandler], None]] = {}
        self.received: list[dict[str, Any]] = []
        self.httpd = LoopbackServer(type("Handler", (_Handler,), {"fake": self}))
        self.httpd.start("fake-image-server")

    @property
    def base_url(self) -> str:
        return self.httpd.base_url

    @property
    def api_base(self) -> str:
        return self.base_url + "/v1"

    def on(self, method: str, path: str, status: int = 200, json_body: Any = None, body: bytes = b"",
           content_type: str = "application/json", **options: Any) -> None:
        if json_body is not None:
            body = json.dumps(json_body).encode()
        self.replies[(method, path)] = Reply(status, body, {"Content-Type": content_type}, **options)

    def on_generate(self, **kwargs: Any) -> None:
        self.on("POST", "/v1/images/generations", **kwargs)

    def on_call(self, method: str, path: str, respond: Callable[[BaseHTTPRequestHandler], None]) -> None:
        self.replies[(method, path)] = respond

    def hang(self, method: str = "POST", path: str = "/v1/images/generations", limit: float = 60.0) -> None:
        """Never answer: hold each request until the client closes the connection (or `limit` passes).

        `open_hangs` counts the connections still held; `closed_after` the seconds each was held before the client
        went away.
        """
        self.open_hangs = 0
        self.closed_after: list[float] = []
        lock = threading.Lock()

        def respond(handler: BaseHTTPRequestHandler) -> None:
            started = time.monotonic()
            with lock:
                self.open_hangs += 1
            poller = select.poll()  # not select(): the test process may hold descriptors above 1024
            poller.register(handler.connection, select.POLLIN)
            try:
                while time.monotonic() - started < limit:
                    if poller.poll(50) and not handler.connection.recv(1, 0):
                        break  # the client closed its end
            except OSError:
                pass
            finally:
                with lock:
                    self.open_hangs -= 1
                    self.closed_after.append(time.monotonic() - started)
                handler.close_connection = True

        self.on_call(method, path, respond)

    def stop(self) -> None:
        self.httpd.stop()


class _Handler(LoopbackHandler):
    fake: FakeImageServer
    server_version = "FakeImageServer/1"

    def do_GET(self) -> None:
        self._answer("GET")

    def do_POST(self) -> None:
        self._answer("POST")

    def _answer(self, method: str) -> None:
        raw = self.body = self.read_body()  # the body, for a scripted reply to read
        self.fake.received.append({"method": method, "path": self.path, "headers": dict(self.headers), "body": raw})
        reply = self.fake.replies.get((method, self.path.split("?")[0]))
        if reply is None:
            reply = Reply(404, b'{"detail": "Not Found"}', {"Content-Type": "application/json"})
        if callable(reply):
            reply(self)
            return
        time.sleep(reply.delay)
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        if reply.send_length:
            self.send_header("Content-Length", str(len(reply.body)))
        else:
            self.send_header("Connection", "close")
        self.end_headers()
        try:
            if reply.drip_every is None:
                self.wfile.write(reply.body)
            else:
                for byte in reply.body:
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                    time.sleep(reply.drip_every)
        except (BrokenPipeError, ConnectionResetError):
            pass
        if not reply.send_length:
            self.close_connection = True


def close_mid_body(handler: BaseHTTPRequestHandler) -> None:
    """Promises a whole answer (its Content-Length), sends its first bytes, and hangs up."""
    handler.send_response(200)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", "100000")
    handler.end_headers()
    handler.wfile.write(b'{"data": [{"b64_json": "iVBOR')
    handler.close_connection = True
