"""Who may ask, and what every answer carries: the host check, the origin check, the routes that take no CSRF token,
security headers.
"""
from __future__ import annotations

import functools
import ipaddress
import re
import urllib.parse
from typing import Any, Callable, TypeVar

from flask import Flask, Response, current_app, render_template, request
from flask_wtf.csrf import CSRFProtect

from proofsheet.web.errors import api_error, wants_json
from proofsheet.web.multipart import LimitsNamedRequest

Target = TypeVar("Target")
View = TypeVar("View", bound=Callable[..., Any])
TAKES_NO_TOKEN = "takes_no_csrf_token"
# An origin's host[:port]: a bracketed IPv6 address or a plain name, nothing after it but the port.
ORIGIN_NETLOC = re.compile(r"(\[[0-9A-Fa-f:.]+\]|[^\[\]:@/?#]+)(:[0-9]+)?")
DEFAULT_PORTS = {"http": 80, "https": 443}
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data: blob:; object-src 'none'; frame-ancestors 'none'; "
    "base-uri 'none'; form-action 'self'"
)


def install(app: Flask) -> None:
    app.request_class = LimitsNamedRequest
    app.before_request(_not_from_itself)
    app.before_request(_known_host_only)
    app.after_request(_security_headers)


def csrf_exempt(target: Target) -> Target:
    """Declares, beside the route (or on the blueprint), that it takes no CSRF token; create_app exempts what is
    marked. Whatever is marked must keep other sites' pages out otherwise: same_origin_only, json_api_only."""
    setattr(target, TAKES_NO_TOKEN, True)
    return target


def exempt_marked(app: Flask, csrf: CSRFProtect) -> None:
    """Exempt from the CSRF token the blueprints and views marked with csrf_exempt (after they are registered)."""
    for target in [*app.blueprints.values(), *app.view_functions.values()]:
        if getattr(target, TAKES_NO_TOKEN, False):
            csrf.exempt(target)


def from_another_site() -> bool:
    """The request came from a page Proofsheet did not serve: by its Origin, or by the browser's own word."""
    origin = request.headers.get("Origin")
    return bool(origin and not own_origin(origin)) or request.headers.get("Sec-Fetch-Site") == "cross-site"


def same_origin_only(view: View) -> View:
    """For a route that takes no CSRF token: a request from another site's page is refused before the view runs."""
    @functools.wraps(view)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        refused = _foreign_origin_refused()
        return refused if refused is not None else view(*args, **kwargs)
    return guarded  # type: ignore[return-value]


def json_api_only() -> Any:
    """The JSON API has no CSRF token, so: JSON bodies only, and never from a foreign page."""
    refused = _foreign_origin_refused()
    if refused is not None:
        return refused
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
    name = _host_name(host)
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


def own_origin(origin: str) -> bool:
    """The page that sent the request was served by this Proofsheet: on the port it listens on, at a loopback name
    or address, a name allowed with --allow-host, or the address this very request came to. Not any IP address nor
    any *.localhost: a page there is someone else's. Never raises: an origin that does not parse is not its own."""
    parsed = _origin_parts(origin)
    if parsed is None or str(parsed[1]) != request.environ.get("SERVER_PORT", ""):
        return False
    name = parsed[0]
    return _loopback(name) or name in current_app.config["ALLOWED_HOSTS"] or _address_asked(name)


def _origin_parts(origin: str) -> tuple[str, int] | None:
    """(host name, port) of an http(s) origin or URL; None for anything else (null, garbage, a bad port)."""
    try:
        parts = urllib.parse.urlsplit(origin)
        port = parts.port or DEFAULT_PORTS.get(parts.scheme)
    except ValueError:  # http://[::1 or a port out of range
        return None
    if not ORIGIN_NETLOC.fullmatch(parts.netloc):  # Python's own check of brackets differs between 3.11 releases
        return None
    name = (parts.hostname or "").rstrip(".")
    return (name, port) if name and port and parts.scheme in DEFAULT_PORTS else None


def _loopback(name: str) -> bool:
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _address_asked(name: str) -> bool:
    """The origin is the IP address this request was sent to, so one Proofsheet listens on (--host 0.0.0.0, opened
    from another machine). Only an address: the Host check lets any *.localhost name through, whose pages (a browser
    sends them to 127.0.0.1) may be anyone's."""
    try:
        return ipaddress.ip_address(name) == ipaddress.ip_address(_host_name(request.host))
    except ValueError:
        return False


def _host_name(host: str) -> str:
    """The name in a Host header (or an origin's netloc), without port, brackets or trailing dot, in lower case."""
    name = host.rsplit("]", 1)[0].lstrip("[") if host.startswith("[") else host.rsplit(":", 1)[0]
    return name.rstrip(".").lower()


def _foreign_origin_refused() -> Response | None:
    if from_another_site():
        return api_error(403, "forbidden_origin", "Requests from another site are refused.")
    return None


def _security_headers(response: Response) -> Response:
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)  # or a response's stricter own
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["X-Frame-Options"] = "DENY"
    return response
