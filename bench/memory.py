"""Memory while the image server sends 200 MB answers, against the app's own memory when idle.

    python bench/memory.py

A server on loopback streams 200 MB of JSON, once with a Content-Length (refused before reading) and once chunked
without one (read up to the cap, then dropped). The app runs in its own process; its resident memory is read from
/proc. Goals:
- /api/generate refusing one such answer: peak (VmHWM) at most 100 MB above idle.
- /v1 relaying them (each cut at the 64 MB cap, a copy kept in the history), rounds of 16 calls at concurrency 8:
  resident memory (VmRSS) once every call is kept at most 150 MB above idle, and not climbing from round to round.
"""
from __future__ import annotations

import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests
from _common import app_server

ANSWER_MB = 200
ROUNDS, CALLS, CONCURRENCY = 3, 16, 8
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


def relay_once(app_url: str) -> str:
    """One call through /v1, read to the end as a caller would; the id of the generation kept beside."""
    with requests.post(app_url + "/v1/images/generations", json={"prompt": "a huge answer"}, stream=True,
                       timeout=300) as response:
        for _ in response.iter_content(1024 * 1024):
            pass
        return response.headers.get("X-Proofsheet-Generation", "")


def wait_until_kept(app_url: str, generation_ids: list[str]) -> None:
    """Until no call of the round is still running (its copy kept, or recorded as not kept); bounded: 10 minutes."""
    deadline = time.monotonic() + 600
    for generation_id in filter(None, generation_ids):
        while time.monotonic() < deadline:
            if requests.get(f"{app_url}/api/generations/{generation_id}", timeout=30).json()["status"] != "running":
                break
            time.sleep(0.2)


def relay_rounds(server_base: str) -> None:
    with tempfile.TemporaryDirectory() as data, app_server(f"{server_base}/chunked/v1", data) as app:
        requests.get(app.url + "/generations", timeout=30)
        idle = app.rss_kb() // 1024
        print(f"/v1, rounds of {CALLS} answers of {ANSWER_MB} MB at concurrency {CONCURRENCY}: idle {idle} MB")
        for number in range(1, ROUNDS + 1):
            started = time.monotonic()
            with ThreadPoolExecutor(CONCURRENCY) as pool:
                kept = list(pool.map(lambda _: relay_once(app.url), range(CALLS)))
            wait_until_kept(app.url, kept)
            time.sleep(1)  # let the last thumbnails and frees settle
            statuses = [requests.get(f"{app.url}/api/generations/{generation_id}", timeout=30).json()["status"]
                        for generation_id in kept if generation_id]
            rss = app.rss_kb() // 1024
            print(f"  round {number}: {rss} MB after idle = idle + {rss - idle} MB (goal <= +150 MB); "
                  f"peak {app.rss_kb('VmHWM') // 1024} MB; {time.monotonic() - started:.0f} s; "
                  f"kept as {', '.join(f'{statuses.count(s)} {s}' for s in sorted(set(statuses)))}")


def main() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), HugeAnswer)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    for variant, label in (("with-length", "with a Content-Length"), ("chunked", "streamed, no length")):
        above_idle, message = refuse(base, variant)
        print(f"{ANSWER_MB} MB answer {label}: peak {above_idle} MB above idle (goal <= 100 MB)")
        print(f"  the person reads: {message}")
    relay_rounds(base)
    server.shutdown()


if __name__ == "__main__":
    main()
