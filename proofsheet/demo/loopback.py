"""A small threaded HTTP server on a loopback socket: the demo image server runs on it, and so do the tests' fakes."""
from __future__ import annotations

import logging
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

log = logging.getLogger(__name__)


class BodyUnreadable(ValueError):
    """The request's body cannot be read to its end (a bad length or chunk): the connection cannot be reused."""


class LoopbackServer(ThreadingHTTPServer):
    """Serves `handler` from a background thread; `port` 0 takes a free one."""

    request_queue_size = 128  # many clients at once (a burst of generations) must not overflow the listen backlog
    daemon_threads = True
    block_on_close = False  # a slow answer in flight must not hold up stop()

    def __init__(self, handler: type[BaseHTTPRequestHandler], host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__((host, port), handler)
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def start(self, name: str = "loopback-server") -> None:
        self._thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05}, name=name,
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.shutdown()
        self.server_close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away mid-request (Proofsheet's Cancel cuts the connection it waits on) is routine: one
        line in the debug log, never socketserver's traceback on the terminal; anything else one warning line."""
        error = sys.exc_info()[1]
        if isinstance(error, (ConnectionError, TimeoutError)):
            log.debug("A client at %s went away: %s", client_address, error)
        else:
            log.warning("The demo server could not answer %s: %s", client_address, error)


class LoopbackHandler(BaseHTTPRequestHandler):
    """Keeps connections alive (HTTP/1.1) and reads every request's body, so the next request on it starts clean."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are separate writes: no 40 ms wait for a delayed ACK

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's name
        log.debug("%s: " + format, self.server_version, *args)

    def read_body(self) -> bytes:
        """The whole body, by Content-Length or chunked; raises BodyUnreadable (and marks the connection to close)."""
        try:
            if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
                return self._read_chunks()
            length = int(self.headers.get("Content-Length") or 0)
            if length < 0:
                raise ValueError(length)
            return self.rfile.read(length)
        except ValueError as exc:
            self.close_connection = True
            raise BodyUnreadable(str(exc)) from exc

    def _read_chunks(self) -> bytes:
        chunks = []
        while True:
            size = int(self.rfile.readline(1024).split(b";")[0].strip(), 16)
            if size < 0:
                raise ValueError(size)
            if size == 0:
                while self.rfile.readline(1024).strip():  # trailers, up to the blank line
                    pass
                return b"".join(chunks)
            chunks.append(self.rfile.read(size))
            self.rfile.readline(1024)  # the CRLF after each chunk
