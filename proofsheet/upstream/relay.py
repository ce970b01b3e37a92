"""Passing a caller's request to the image server and its answer back, byte for byte, as the bytes arrive.

Used by Proofsheet's own /v1 endpoint. The request goes through the client's own `open` (its failures, its
cancellation) and the answer is read with its `BoundedRead` (a total deadline, a size cap); each chunk goes to the
caller at once and, when the history keeps the call, into a file beside (never a copy held in memory: an answer of
64 MB passing through eight callers at once would be half a gigabyte).
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import IO, Any, Iterator

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
    copy_to: IO[bytes] | None = None  # where the copy the history keeps is written as it passes, if anywhere
    size: int = 0  # bytes relayed so far
    copy_failed: OSError | None = None  # why the copy stopped short (a full disk): the caller still gets it all

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type", "")

    @property
    def problem(self) -> Problem | None:
        """Why reading stopped early (time, size, a broken connection), if it did."""
        return self.body.problem

    def read_copy(self) -> bytes:
        """Everything relayed so far, as one piece, read back from `copy_to`."""
        if self.copy_to is None:
            return b""
        self.copy_to.flush()
        self.copy_to.seek(0)
        return self.copy_to.read()

    def chunks(self) -> Iterator[bytes]:
        """Each chunk as it arrives (Proofsheet's own secrets masked), written to `copy_to` too."""
        try:
            for chunk in self.body.chunks():
                if self.mask:
                    chunk = self.mask.feed(chunk)
                if chunk:
                    self._copy(chunk)
                    yield chunk
            tail = self.mask.flush() if self.mask else b""
            if tail:
                self._copy(tail)
                yield tail
        finally:
            self.response.close()

    def _copy(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.copy_to is None or self.copy_failed:
            return
        try:
            self.copy_to.write(chunk)
        except OSError as exc:  # the copy is lost, not the caller's answer
            self.copy_failed = exc


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
