"""Passing a caller's request to the image server and its answer back, byte for byte, as the bytes arrive.

Used by Proofsheet's own /v1 endpoint. The request goes through the client's own `open` (its failures, its
cancellation) and the answer is read with its `BoundedRead` (a total deadline, a size cap); each chunk goes to the
caller at once and into a copy that the history keeps afterwards.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Iterator

import requests
from requests.structures import CaseInsensitiveDict

from proofsheet.redaction import StreamMask
from proofsheet.results import Problem
from proofsheet.upstream.client import ImageServerClient
from proofsheet.upstream.reading import BoundedRead

# Headers that belong to one hop, not to the answer (RFC 9110, 7.6.1), and those waitress sets itself.
HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
              "transfer-encoding", "upgrade", "content-encoding", "content-length", "server", "date"}


@dataclass
class Relayed:
    """The image server's answer as it streams through."""

    status: int
    reason: str
    headers: CaseInsensitiveDict[str]  # as the server named them; uvicorn's servers send "content-type"
    response: requests.Response
    body: BoundedRead
    mask: StreamMask | None = None  # Proofsheet's own secrets, should the server echo them
    pieces: list[bytes] = field(default_factory=list)  # kept as they came: joined once, off the caller's path

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type", "")

    @property
    def problem(self) -> Problem | None:
        """Why reading stopped early (time, size, a broken connection), if it did."""
        return self.body.problem

    @property
    def copy(self) -> bytes:
        """Everything relayed so far, as one piece."""
        return b"".join(self.pieces)

    def chunks(self) -> Iterator[bytes]:
        """Each chunk as it arrives (Proofsheet's own secrets masked), kept in `pieces` too."""
        try:
            for chunk in self.body.chunks():
                if self.mask:
                    chunk = self.mask.feed(chunk)
                if chunk:
                    self.pieces.append(chunk)
                    yield chunk
            tail = self.mask.flush() if self.mask else b""
            if tail:
                self.pieces.append(tail)
                yield tail
        finally:
            self.response.close()


def open_relay(client: ImageServerClient, method: str, path: str, body: bytes, content_type: str | None,
               caller_authorization: str | None, caller_via: str | None = None) -> Relayed | Problem:
    """Send the caller's request on; the answer's status and headers come back at once, its body as it streams.

    When Proofsheet's own key (or the URL's credentials) went with the request, whatever the server echoes of them
    is masked, at the same length, in the headers and the body: the caller never learns a key it was not given.
    """
    headers = client.relay_headers(caller_authorization, caller_via)
    if content_type:
        headers["Content-Type"] = content_type
    response = client.open(method, client.api_base + path, client.timeout, headers=headers, data=body or None,
                           allow_redirects=False)
    if isinstance(response, Problem):
        return response
    mask = client.redactor.stream_mask() if client.has_key else None
    kept = CaseInsensitiveDict({name: mask.masked_text(value) if mask else value
                                for name, value in response.headers.items() if name.lower() not in HOP_BY_HOP})
    length = response.headers.get("Content-Length", "")
    if length.isdigit() and "Content-Encoding" not in response.headers:  # relayed as read: the length holds
        kept["Content-Length"] = length  # (no chunked framing to add; an answer cut short stays visibly cut)
    reader = BoundedRead(response, client.max_response_bytes, time.monotonic() + client.timeout)
    return Relayed(response.status_code, response.reason or "", kept, response, reader, mask)


def openai_error(status: int, message: str, code: str) -> dict[str, Any]:
    """Proofsheet's own refusals, in the shape OpenAI's SDKs read (so they raise with this message)."""
    return {"error": {"message": message, "type": "proofsheet_error" if status < 500 else "server_error",
                      "param": None, "code": code}}
