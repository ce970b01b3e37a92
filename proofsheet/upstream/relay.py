"""Passing a caller's request to the image server and its answer back, byte for byte, as the bytes arrive.

Used by Proofsheet's own /v1 endpoint. The answer is read chunk by chunk within the same bounds as any answer (a
total deadline, a size cap); each chunk goes to the caller at once and into a copy that the history keeps afterwards.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Iterator

import requests

from proofsheet.results import Problem
from proofsheet.upstream import cancellation
from proofsheet.upstream.client import ImageServerClient

CHUNK = 1024 * 1024  # read1 hands over what has arrived, up to this: small events at once, large bodies in few writes
# Headers that belong to one hop, not to the answer (RFC 9110, 7.6.1), and those waitress sets itself.
HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
              "transfer-encoding", "upgrade", "content-encoding", "content-length", "server", "date"}


@dataclass
class Relayed:
    """The image server's answer as it streams through."""

    status: int
    reason: str
    headers: dict[str, str]
    response: requests.Response
    deadline: float
    cap: int
    copy: bytearray = field(default_factory=bytearray)
    problem: Problem | None = None  # set when reading stopped early (time, size, a broken connection)

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type", "")

    def chunks(self) -> Iterator[bytes]:
        """Each chunk as it arrives, kept in `copy` too; stops at the deadline or the cap."""
        try:
            while True:
                if time.monotonic() > self.deadline:
                    self.problem = Problem("timeout", "The image server did not finish answering in time.")
                    return
                try:
                    chunk = self.response.raw.read1(CHUNK, decode_content=True)
                except Exception as exc:  # urllib3's own family; a cut connection (Cancel) lands here
                    self.problem = Problem("server_down", f"The connection to the image server broke ({type(exc).__name__}).")
                    return
                if not chunk:
                    return
                self.copy += chunk
                if len(self.copy) > self.cap:
                    self.problem = Problem("too_large", "The image server's answer was larger than Proofsheet reads.")
                    return
                yield chunk
        finally:
            self.response.close()


def open_relay(client: ImageServerClient, method: str, path: str, body: bytes, content_type: str | None,
               caller_authorization: str | None) -> Relayed | Problem:
    """Send the caller's request on; the answer's status and headers come back at once, its body as it streams."""
    flight = cancellation.current()
    if flight is not None and flight.cancelled:
        return Problem("cancelled", "Cancelled.")
    headers = client.relay_authorization(caller_authorization)
    if content_type:
        headers["Content-Type"] = content_type
    url = client.api_base + path
    try:
        response = client.session.request(method, url, data=body or None, headers=headers, stream=True,
                                          timeout=(client.connect_timeout, client.timeout), allow_redirects=False)
    except requests.exceptions.ConnectTimeout:
        return Problem("server_down", f"Could not reach the image server at {client.api_base}: it did not accept a "
                                      "connection in time.")
    except requests.exceptions.Timeout:
        return Problem("timeout", f"The image server at {client.api_base} did not answer within "
                                  f"{client.timeout:g} seconds.")
    except requests.exceptions.RequestException:
        return Problem("server_down", f"Could not reach the image server at {client.api_base}: it refused the "
                                      "connection or is not running.")
    kept = {name: value for name, value in response.headers.items() if name.lower() not in HOP_BY_HOP}
    return Relayed(response.status_code, response.reason or "", kept, response,
                   time.monotonic() + client.timeout, client.max_response_bytes)


def openai_error(status: int, message: str, code: str) -> dict[str, Any]:
    """Proofsheet's own refusals, in the shape OpenAI's SDKs read (so they raise with this message)."""
    return {"error": {"message": message, "type": "proofsheet_error" if status < 500 else "server_error",
                      "param": None, "code": code}}
