"""Peak memory while refusing a 200 MB answer from the image server, against the app's own memory when idle.

    python bench/memory.py

A server on loopback streams 200 MB of JSON, once with a Content-Length (refused before reading) and once chunked
without one (read up to the cap, then dropped). The app runs in its own process; its peak resident memory (VmHWM)
is read from /proc. Goal: at most 100 MB above idle.
"""
from __future__ import annotations

import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests
from _common import app_server

ANSWER_MB = 200
CHUNK = b'{"data": [{"b64_json": "' + b"A" * (1024 * 1024 - 24)


class HugeAnswer(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        if self.path.startswith("/with-length"):
            self.send_header("Content-Length", str(ANSWER_MB * len(CHUNK)))
        else:
            self.send_header("Connection", "close")
        self.end_headers()
        try:
            for _ in range(ANSWER_MB):  # the same megabyte again and again: the server itself stays small
                self.wfile.write(CHUNK)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the app hung up, as it should


def refuse(server_base: str, variant: str) -> tuple[int, str]:
    with tempfile.TemporaryDirectory() as data, app_server(f"{server_base}/{variant}/v1", data) as app:
        requests.post(app.url + "/api/generate", json={"prompt": "warm up", "model": "x"}, timeout=120)
        idle = app.rss_kb()
        answer = requests.post(app.url + "/api/generate", json={"prompt": "a huge answer"}, timeout=120).json()
        peak = app.rss_kb("VmHWM")
    return (peak - idle) // 1024, answer["error"]["message"]


def main() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), HugeAnswer)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    for variant, label in (("with-length", "with a Content-Length"), ("chunked", "streamed, no length")):
        above_idle, message = refuse(base, variant)
        print(f"{ANSWER_MB} MB answer {label}: peak {above_idle} MB above idle (goal <= 100 MB)")
        print(f"  the person reads: {message}")
    server.shutdown()


if __name__ == "__main__":
    main()
