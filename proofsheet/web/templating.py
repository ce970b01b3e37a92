"""What templates get beside their context: filters, the request snippets, and the header's facts."""
from __future__ import annotations

import json
import time
from typing import Any

from flask import Flask
from jinja2 import BytecodeCache
from jinja2.bccache import Bucket

from proofsheet.results import shorten_long_strings
from proofsheet.web.snippets import curl_command, python_snippet
from proofsheet.upstream import dialects
from proofsheet.web.context import servers, store


class CompiledTemplates(BytecodeCache):
    """Templates compiled to Python once per process, for every app it creates: each app has its own Jinja
    environment, which otherwise compiles each template again (about 40 ms a page: most of a new app's first render,
    and the test suite makes a thousand apps). Keyed by the template's file and its source, as Jinja's own file cache
    is, so an edited template compiles afresh; shared only by the apps `install` sets up, which compile alike."""

    def __init__(self) -> None:
        self._code: dict[tuple[str, str], Any] = {}

    def load_bytecode(self, bucket: Bucket) -> None:
        code = self._code.get((bucket.key, bucket.checksum))
        if code is not None:
            bucket.code = code

    def dump_bytecode(self, bucket: Bucket) -> None:
        self._code[(bucket.key, bucket.checksum)] = bucket.code


COMPILED = CompiledTemplates()


def install(app: Flask) -> None:
    app.jinja_env.bytecode_cache = COMPILED
    app.context_processor(lambda: {"history_notice": store().notice})
    app.jinja_env.filters.update(filesize=_filesize, when=_when, tojson_pretty=_pretty_json, json_size=_json_size,
                               per_minute=per_minute, time_left=time_left)
    # Globals, not context: imported macros (the form) see globals only.
    app.jinja_env.globals.update(curl_command=curl_command, python_snippet=python_snippet,
                                 dialect_table=dialects.table(), server_names=lambda: servers().names(),
                                 default_server=lambda: servers().default)


def _filesize(count: int | None) -> str:
    if count is None:
        return ""
    for unit in ("bytes", "KB", "MB"):
        if count < 1024 or unit == "MB":
            return f"{count:,} {unit}" if unit == "bytes" else f"{count:,.1f} {unit}"
        count /= 1024
    return ""


def _when(timestamp: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(timestamp))


def per_minute(rate: float) -> str:
    """A run's rate as a person reads it: '160 a minute', '4.5 a minute', 'one every 3 min'."""
    if rate >= 10:
        return f"{rate:,.0f} a minute"
    if rate >= 1:
        return f"{rate:.1f} a minute".replace(".0 ", " ")
    return f"one every {1 / rate:,.0f} min" if rate > 0 else ""


def time_left(seconds: float) -> str:
    """'about 40 s left', 'about 12 min left', 'about 3 h 20 min left'."""
    if seconds < 55:
        return f"about {round(seconds / 5) * 5 if seconds >= 5 else max(1, round(seconds))} s left"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"about {minutes} min left"
    return f"about {minutes // 60} h {minutes % 60} min left" if minutes % 60 else f"about {minutes // 60} h left"


def _pretty_json(value: Any) -> str:
    """Readable JSON as plain text, base64 and data: URIs shortened; autoescaping makes it safe in the page."""
    return json.dumps(shorten_long_strings(value), indent=2, ensure_ascii=False)


def _json_size(value: Any) -> int:
    return len(json.dumps(value))
