"""Reading an image server's answer off the wire: within a size cap and a total deadline, chunk by chunk."""
from __future__ import annotations

import functools
import json
import time
from dataclasses import dataclass, field
from typing import Any, Iterator, Mapping, Protocol

import requests
from requests.structures import CaseInsensitiveDict

from proofsheet.results import Problem
from proofsheet.upstream.messages import timed_out, too_large

CHUNK = 1024 * 1024
NOT_JSON = object()


@dataclass(frozen=True)
class Body:
    """A whole answer: status, headers (their names compared in any case, as HTTP says) and the bytes."""

    status: int
    reason: str
    data: bytes | bytearray
    headers: Mapping[str, str] = field(default_factory=CaseInsensitiveDict)

    def __post_init__(self) -> None:
        if not isinstance(self.headers, CaseInsensitiveDict):  # uvicorn's servers send "content-type"
            object.__setattr__(self, "headers", CaseInsensitiveDict(self.headers))

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type", "")

    @property
    def is_event_stream(self) -> bool:
        return self.content_type.split(";")[0].strip().lower() == "text/event-stream"

    @functools.cached_property
    def parsed(self) -> Any:
        """The body as JSON, or NOT_JSON."""
        return parse_json(self.data)

    @property
    def is_json(self) -> bool:
        return self.parsed is not NOT_JSON


def parse_json(data: bytes | bytearray) -> Any:
    try:
        return json.loads(data)
    except (ValueError, RecursionError):
        return NOT_JSON


class ChunkListener(Protocol):
    def feed(self, chunk: bytes) -> None: ...


class BoundedRead:
    """A response's body chunk by chunk as it arrives, within a size cap and a total deadline.

    `problem` says why reading stopped early (too large, too slow, a broken or cut connection), else None.
    """

    def __init__(self, response: requests.Response, cap: int, deadline: float, what: str = "image server") -> None:
        self.response = response
        self.cap = cap
        self.deadline = deadline
        self.what = what
        self.problem: Problem | None = None

    def chunks(self) -> Iterator[bytes]:
        response, what = self.response, self.what
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > self.cap:
            self.problem = too_large(response.url, what, self.cap, int(declared))
            return
        read = 0
        while True:
            if time.monotonic() > self.deadline:
                self.problem = timed_out(response.url, what, None)
                return
            try:
                chunk = response.raw.read1(CHUNK, decode_content=True)
            except Exception as exc:  # urllib3 raises its own family here; requests does not wrap raw reads
                self.problem = timed_out(response.url, what, None) if "timed out" in str(exc).lower() else \
                    Problem("server_down", f"The connection to the {what} broke while reading its answer "
                                           f"({type(exc).__name__}).")
                return
            if not chunk:
                return
            read += len(chunk)
            if read > self.cap:
                self.problem = too_large(response.url, what, self.cap, None)
                return
            yield chunk


def read_capped(response: requests.Response, cap: int, deadline: float, what: str,
                on_chunk: ChunkListener | None = None) -> bytearray | Problem:
    """The whole body, read within the cap and the deadline; `on_chunk` sees each chunk as it arrives."""
    body = BoundedRead(response, cap, deadline, what)
    data = bytearray()  # json.loads and decode take a bytearray as it is, without a second copy
    for chunk in body.chunks():
        data += chunk
        if on_chunk is not None:
            on_chunk.feed(chunk)
    return body.problem or data
