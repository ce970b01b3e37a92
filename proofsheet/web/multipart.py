"""Multipart forms (/api/edit, /v1/images/edits) read within werkzeug's limits, saying which limit was exceeded.

werkzeug refuses too many parts, a field too large and a body too large alike, with a bare 413; the person would be
told their 3,000 small parts were "too large". Here each refusal says what it was about, and the limit.
"""
from __future__ import annotations

from typing import IO, Any

from flask import Request
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.formparser import FormDataParser


class _CountingStream:
    """Passes a multipart body through, counting the boundary delimiters in it (one before each part)."""

    def __init__(self, stream: IO[bytes], boundary: bytes) -> None:
        self._stream = stream
        self._delimiter = b"--" + boundary
        self._tail = b""  # a delimiter may be cut between two reads
        self.delimiters = 0
        self.too_long = False  # the body went past the request's size limit

    def read(self, size: int = -1) -> bytes:
        try:
            data = self._stream.read(size)
        except RequestEntityTooLarge:
            self.too_long = True
            raise
        seen = self._tail + data
        self.delimiters += seen.count(self._delimiter)
        self._tail = seen[-(len(self._delimiter) - 1):]
        return data


class _LimitsNamedParser(FormDataParser):
    def _parse_multipart(self, stream: IO[bytes], mimetype: str, content_length: int | None,
                         options: dict[str, str]) -> Any:
        counted = _CountingStream(stream, options.get("boundary", "").encode("ascii"))
        try:
            _, form, files = super()._parse_multipart(counted, mimetype, content_length, options)  # type: ignore
        except RequestEntityTooLarge as error:
            raise self._named(error, counted) from None
        return stream, form, files

    def _named(self, error: RequestEntityTooLarge, counted: _CountingStream) -> RequestEntityTooLarge:
        if counted.too_long:
            return error  # the error page names the size limit
        if self.max_form_parts is not None and counted.delimiters > self.max_form_parts:
            return RequestEntityTooLarge(f"The form has too many parts (at most {self.max_form_parts:,}).")
        if self.max_form_memory_size is not None:
            return RequestEntityTooLarge(f"A field of the form that is not a file is too large (at most "
                                         f"{self.max_form_memory_size / 1000:,.0f} KB).")
        return error


class LimitsNamedRequest(Request):
    """Flask's request, its multipart refusals naming the limit exceeded."""

    form_data_parser_class = _LimitsNamedParser
