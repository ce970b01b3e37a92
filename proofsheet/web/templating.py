"""What templates get beside their context: filters, the request snippets, and the header's facts."""
from __future__ import annotations

import json
import time
from typing import Any

from flask import Flask

from proofsheet.results import shorten_long_strings
from proofsheet.web.snippets import curl_command, python_snippet
from proofsheet.upstream import dialects
from proofsheet.web.context import servers, store


def install(app: Flask) -> None:
    app.context_processor(lambda: {"history_notice": store().notice})
    app.jinja_env.filters.update(filesize=_filesize, when=_when, tojson_pretty=_pretty_json, json_size=_json_size)
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


def _pretty_json(value: Any) -> str:
    """Readable JSON as plain text, base64 and data: URIs shortened; autoescaping makes it safe in the page."""
    return json.dumps(shorten_long_strings(value), indent=2, ensure_ascii=False)


def _json_size(value: Any) -> int:
    return len(json.dumps(value))
