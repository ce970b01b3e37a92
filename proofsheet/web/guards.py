"""Who may ask and what every answer carries: the host check, the origin check, security headers, error pages."""
from __future__ import annotations

import ipaddress
import logging
import re
import urllib.parse
from typing import Any

from flask import Flask, Response, current_app, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from proofsheet.history.store import StorageError
from proofsheet.web.compare import compare_fields
from proofsheet.web.context import api_error
from proofsheet.web.multipart import LimitsNamedRequest

log = logging.getLogger("proofsheet")
NAMED_V1 = re.compile(r"/servers/[^/]+/v1/")
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data: blob:; object-src 'none'; frame-ancestors 'none'; "
    "base-uri 'none'; form-action 'self'"
)


def install(app: Flask) -> None:
    app.request_class = LimitsNamedRequest
    app.before_request(_not_from_itself)
    app.before_request(_known_host_only)
    app.after_request(_security_headers)
    app.register_error_handler(Exception, _error_page)
    app.register_error_handler(StorageError, _storage_error)
    app.register_error_handler(CSRFError, _csrf_error)


def json_api_only() -> Any:
    """The JSON API has no CSRF token, so: JSON bodies only, and never from a foreign page."""
    origin = request.headers.get("Origin")
    if origin and not own_origin(origin):
        return api_error(403, "forbidden_origin", "Requests from another site are refused.")
    if request.headers.get("Sec-Fetch-Site") == "cross-site":
        return api_error(403, "forbidden_origin", "Requests from another site are refused.")
    if request.method in ("POST", "PUT", "PATCH") and request.mimetype != "application/json" and request.content_length:
        return api_error(415, "bad_request", "Send the body as JSON with Content-Type: application/json.")
    return None


def json_api_paths_only() -> Any:
    """For a blueprint with pages and JSON routes side by side: the JSON API's guard on its /api/ paths."""
    return json_api_only() if request.path.startswith("/api/") else None


def host_allowed(host: str, allowed: list[str]) -> bool:
    """Loopback names, any IP address (a page cannot rebind to an address), and names the person allowed.

    A page on evil.example whose name an attacker re-points at 127.0.0.1 (DNS rebinding) arrives with its own name
    in the Host header, so it is refused.
    """
    name = host.rsplit("]", 1)[0].lstrip("[") if host.startswith("[") else host.rsplit(":", 1)[0]
    name = name.rstrip(".").lower()
    if name == "localhost" or name.endswith(".localhost") or name in allowed:
        return True
    try:
        ipaddress.ip_address(name)
        return True
    except ValueError:
        return False


def _not_from_itself() -> Any:
    """A request this Proofsheet sent (its name in Via) has come back to it: an image server is set to its own
    address. Answered at once, in the error shape every caller reads, instead of calling itself again and again."""
    if current_app.extensions["via"] not in request.headers.get("Via", ""):
        return None
    return api_error(508, "loop_detected", "This image server's address is Proofsheet's own: the request came back "
                     "to the Proofsheet that sent it. Point the server at the real image server instead (for example "
                     "http://localhost:1337/v1 for gpt4free).")


def _known_host_only() -> Any:
    if host_allowed(request.host, current_app.config["ALLOWED_HOSTS"]):
        return None
    message = (f"Proofsheet does not answer to the name \"{request.host}\". Open it as http://localhost:PORT, or "
               "start it with --allow-host NAME to allow this name.")
    if wants_json():
        return api_error(400, "unknown_host", message)
    return render_template("error.html", status=400, message=message), 400


def wants_json() -> bool:
    """Programs' addresses (the JSON API, the health check, the /v1 endpoint of each server) answer errors as JSON;
    pages answer them as a page."""
    path = request.path
    return path.startswith(("/api/", "/healthz", "/v1/")) or bool(NAMED_V1.match(path))


def own_origin(origin: str) -> bool:
    """The page that sent the request was served by this app: an allowed name, on the port the app listens on."""
    parts = urllib.parse.urlsplit(origin)
    try:
        port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    except ValueError:
        return False
    listening = request.environ.get("SERVER_PORT", "")
    return bool(parts.hostname) and host_allowed(parts.netloc, current_app.config["ALLOWED_HOSTS"]) and \
        str(port) == listening


def _security_headers(response: Response) -> Response:
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)  # or a response's stricter own
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["X-Frame-Options"] = "DENY"
    return response


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
