"""What a failure answers with: the one table from a problem's kind to its HTTP status (and Retry-After), the JSON
error shape of the API, and the error pages — never a traceback.
"""
from __future__ import annotations

import logging
import re
from typing import Any

from flask import Flask, Response, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from proofsheet.history.store import StorageError
from proofsheet.results import Problem
from proofsheet.web.forms import compare_fields

log = logging.getLogger("proofsheet")
NAMED_V1 = re.compile(r"/servers/[^/]+/v1/")
# The status each kind of problem answers with, on the pages, at /api and at /v1. A kind not listed is something
# the image server did: a bad gateway (502).
STATUS = {
    # the work could not start
    "busy": 503, "gone": 400, "deleted": 410, "missing_input": 410, "bad_request": 400, "unknown_server": 400,
    "disk_full": 507, "not_writable": 507, "storage_failed": 507,
    # the image server, asked or relayed to
    "server_down": 502, "timeout": 504, "cancelled": 499, "rate_limited": 429,
}
# Adding or removing a server, the server is what was sent: a name not known is not found, and a server that does
# not answer as an images API (or refuses the key) makes the request one Proofsheet cannot take.
SERVER_CHANGE_STATUS = {**STATUS, "unknown_server": 404, "exists": 409, "not_removable": 409, "key_refused": 422,
                        "server_down": 422, "not_images_api": 422}
RETRY_AFTER = {"busy": "5"}  # seconds: a place frees up as soon as any generation ends


def status_of(kind: str, table: dict[str, int] = STATUS) -> int:
    return table.get(kind, 502)


def status_for(generation: Any) -> int:
    """A kept generation's status: 200 with an image to show, else what kept it from one."""
    if generation.shown_images:
        return 200
    kind = generation.error.kind if generation.error else ""
    if STATUS.get(kind) in (429, 504, 507):  # rate limited, too slow, or the disk is full: said as such
        return STATUS[kind]
    return 409 if generation.status == "cancelled" else 502


def with_retry_after(response: Response, kind: str) -> Response:
    if kind in RETRY_AFTER:
        response.headers["Retry-After"] = RETRY_AFTER[kind]
    return response


def generation_answer(generation: Any) -> Response:
    """A kept generation as the JSON API answers it; rate limited, with the server's wait as Retry-After."""
    response = jsonify(generation.to_dict())
    response.status_code = status_for(generation)
    wait = generation.error.retry_after if generation.error and response.status_code == 429 else None
    if wait is not None:
        response.headers["Retry-After"] = str(wait)
    return response


def refusal(problem: Problem) -> Response:
    """Why the work could not start, in the API's error shape."""
    return with_retry_after(api_error(status_of(problem.kind), problem.kind, problem.message), problem.kind)


def api_error(status: int, kind: str, message: str, **extra: Any) -> Response:
    response = jsonify({"error": {"kind": kind, "message": message, **extra}})
    response.status_code = status
    return response


def wants_json() -> bool:
    """Programs' addresses (the JSON API, the health check, the /v1 endpoint of each server) answer errors as JSON;
    pages answer them as a page."""
    path = request.path
    return path.startswith(("/api/", "/healthz", "/v1/")) or bool(NAMED_V1.match(path))


def install(app: Flask) -> None:
    app.register_error_handler(Exception, _error_page)
    app.register_error_handler(StorageError, _storage_error)
    app.register_error_handler(CSRFError, _csrf_error)


def _error_page(error: Exception) -> Any:
    """Every error, expected or not, as a plain message: never a traceback."""
    if isinstance(error, HTTPException):
        status, message = error.code or 500, _http_message(error)
    else:
        log.exception("Unexpected error on %s %s", request.method, request.path)
        status, message = 500, "Something went wrong inside Proofsheet. The details are in its log."
    if wants_json():
        return api_error(status, "http_error" if status < 500 else "internal_error", message)
    return render_template("error.html", status=status, message=message), status


def _http_message(error: HTTPException) -> str:
    messages = {404: "There is nothing at this address. It may have been deleted.",
                405: "That page does not take this kind of request.",
                413: f"The request is too large (at most {(request.max_content_length or 0) // (1024 * 1024)} MB)."}
    if error.description and error.description != type(error).description:
        return error.description  # said by Proofsheet where it stopped (abort(404, "..."))
    described = error.description if error.description and "browser (or proxy)" not in error.description else None
    return messages.get(error.code) or described or error.name


def _storage_error(error: StorageError) -> Any:
    """Disk full or a read-only folder while deleting or cancelling: said plainly, never a bare 500."""
    if wants_json():
        return api_error(507, error.problem.kind, error.problem.message)
    return render_template("error.html", status=507, message=error.problem.message), 507


def _csrf_error(error: CSRFError) -> Any:
    """A form without a valid token: nothing is sent, and the form comes back with what was typed."""
    message = "The form had expired or came from another site; nothing was sent. Please submit it again."
    template = {"pages.generate": "index.html", "compare.compare": "compare.html"}.get(request.endpoint)
    if template:
        values = compare_fields(request.form) if template == "compare.html" else request.form
        return render_template(template, values=values, errors={"form": message}, group=None), 400
    return render_template("error.html", status=400, message=message), 400
