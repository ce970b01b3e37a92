"""The voters' app: a Flask app of its own, served on its own listener (python app.py --room ADDRESS:PORT), that
knows only the voting page of a round open to the room, its blind images, and an allow-list of static files.

Nothing of the presenter's app is registered here, so every other path is a 404 whatever the method, Host or cookie.
It shares the presenter's history and room (the same objects, in the same process) but none of its routes.
"""
from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import re
import secrets
import socket
import threading
import time
from pathlib import Path
from typing import Any

from flask import Blueprint, Flask, Response, abort, current_app, jsonify, redirect, render_template, request, \
    send_file, send_from_directory
from werkzeug.exceptions import HTTPException

from proofsheet.history.arena import ArenaRound
from proofsheet.history.records import Group
from proofsheet.history.room import RoomRound, choices
from proofsheet.running.room import Room
from proofsheet.settings import ROOM_THREADS

log = logging.getLogger("proofsheet")
voters = Blueprint("voters", __name__)
DEVICE_COOKIE = "proofsheet_voter"
STATIC_FILES = {"proofsheet.css": "text/css", "room-vote.js": "text/javascript"}  # all the voters may fetch
GROUPS_LOCK = threading.Lock()
RASTER = {"image/png", "image/jpeg", "image/webp", "image/gif"}
TOKEN = "<token>"
TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{8}")
CONTENT_SECURITY_POLICY = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
                           "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
MESSAGES = {404: "There is nothing here. Scan the code on the screen again, or type the address it shows.",
            413: "That request is too large.", 429: "Too many requests from here: wait a few seconds and try again."}


class RateLimit:
    """At most `limit` requests per key in each window of `seconds` (in memory: the room lives in one process)."""

    def __init__(self, limit: int, seconds: float) -> None:
        self.limit, self.seconds = limit, seconds
        self._counts: dict[str, tuple[float, int]] = {}
        self._lock = threading.Lock()

    def allow(self, key: str) -> bool:
        now = time.monotonic()
        with self._lock:
            if len(self._counts) > 50_000:  # forget the windows that are over, so a flood of keys cannot grow it
                self._counts = {k: v for k, v in self._counts.items() if now - v[0] < self.seconds}
            started, count = self._counts.get(key, (now, 0))
            if now - started >= self.seconds:
                started, count = now, 0
            self._counts[key] = (started, count + 1)
            return count < self.limit


def create_voters_app(presenter: Flask) -> Flask:
    """The voters' app for a presenter's app: its room, history and secret key, nothing else of it."""
    app = Flask(__name__, root_path=presenter.root_path, static_folder=None)
    config = presenter.config
    app.config.update(SECRET_KEY=config["SECRET_KEY"], MAX_CONTENT_LENGTH=4096, PROPAGATE_EXCEPTIONS=False,
                      TRAP_HTTP_EXCEPTIONS=False, TESTING=config.get("TESTING", False))
    app.extensions.update(room=presenter.extensions["room"], store=presenter.extensions["store"], groups={},
                          per_address=RateLimit(int(config["ROOM_ADDRESS_LIMIT"]), 10.0),
                          per_device=RateLimit(int(config["ROOM_DEVICE_LIMIT"]), 10.0))
    app.register_blueprint(voters)
    app.register_error_handler(Exception, _error_page)
    app.before_request(_not_too_often)
    app.after_request(_security_headers)
    return app


@voters.get(f"/r/{TOKEN}", provide_automatic_options=False)
def vote_page(token: str) -> Any:
    found, group, kept = _open_round(token)
    device = request.cookies.get(DEVICE_COOKIE, "")
    new_device = not _is_device(device)
    if new_device:
        device = secrets.token_urlsafe(18)
    tally = _room().book.tally(found)
    response = Response(render_template(
        "room_vote.html", token=token, shown=found.blind(group), round=found, tally=tally, closed=not tally.open,
        revealed=found.reveal(group) if found.voted else None, check=_check_for(device),
        chosen=_room().book.choice_of(found.id, device), choices=choices(found)))
    if new_device:
        response.set_cookie(DEVICE_COOKIE, device, max_age=86400, httponly=True, samesite="Lax", path="/")
    return _no_store(response)


@voters.post(f"/r/{TOKEN}", provide_automatic_options=False)
def vote(token: str) -> Any:
    found, _, _ = _open_round(token)
    device = request.cookies.get(DEVICE_COOKIE, "")
    if not _same_site() or not _is_device(device) or \
            not hmac.compare_digest(request.form.get("check", "").encode(), _check_for(device).encode()):
        return _answer(403, "This vote did not come from the voting page. Open the page again and vote there.", token)
    if not current_app.extensions["per_device"].allow(device):
        return _answer(429, MESSAGES[429], token)
    choice = request.form.get("choice", "")
    if choice not in choices(found):
        return _answer(400, "Choose one of the buttons on the page.", token)
    if not _room().vote(found, device, choice):
        return _answer(409, "The vote is closed.", token)
    if _wants_json():
        return _no_store(jsonify({"choice": choice}))
    return redirect(f"/r/{token}", code=303)


@voters.get(f"/r/{TOKEN}/state", provide_automatic_options=False)
def state(token: str) -> Any:
    found, _, _ = _open_round(token)
    return _no_store(jsonify({"open": _room().book.tally(found).open}))


@voters.get(f"/r/{TOKEN}/<any(A, B, C, D):label>", provide_automatic_options=False)
def image(token: str, label: str) -> Any:
    """A contender's image by its letter: no file name, no hash, and only a verified raster type."""
    found, group, _ = _open_round(token)
    contender = next((c for c in found.contenders if c.label == label), None) or abort(404)
    generation = group.generation_at(contender.position)
    shown = generation.shown_images[0] if generation and generation.shown_images else None
    kept = current_app.extensions["store"].image_file(shown.sha256) if shown else None
    if kept is None or kept[1] not in RASTER or not kept[0].exists():
        abort(404)
    response = send_file(kept[0], mimetype=kept[1], conditional=False, etag=False, max_age=3600)
    del response.headers["Content-Disposition"]  # send_file names the file (its content hash): no name here
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response


@voters.get("/s/<name>", provide_automatic_options=False)
def static_file(name: str) -> Any:
    if name not in STATIC_FILES:
        abort(404)
    return send_from_directory(Path(current_app.root_path) / "static", name, mimetype=STATIC_FILES[name],
                               max_age=300)


def _room() -> Room:
    return current_app.extensions["room"]


def _open_round(token: str) -> tuple[ArenaRound, Group, RoomRound]:
    """The round behind a token; a 404 for a token never given (or a round since deleted)."""
    kept = _room().book.by_token(token) if TOKEN_SHAPE.fullmatch(token) else None
    found = _room().arena.get(kept.round_id) if kept else None
    group = _group_of(found.group_id) if found else None
    if kept is None or found is None or group is None:
        abort(404)
    return found, group, kept


def _group_of(group_id: int) -> Group | None:
    """The round's comparison, kept in memory: it no longer changes once opened to the room (every image is back),
    and reading it (with its costs) is most of a page's time when a room votes at once."""
    groups: dict[int, Group] = current_app.extensions["groups"]
    group = groups.get(group_id)
    if group is None:
        group = current_app.extensions["store"].group(group_id)
        if group is not None:
            with GROUPS_LOCK:
                while len(groups) >= 64:
                    groups.pop(next(iter(groups)))
                groups[group_id] = group
    return group


def _is_device(device: str) -> bool:
    return 16 <= len(device) <= 40 and device.replace("-", "").replace("_", "").isalnum() and device.isascii()


def _check_for(device: str) -> str:
    """The form's proof that it was served to this device's cookie: another site can read neither."""
    key = current_app.config["SECRET_KEY"]
    key = key if isinstance(key, bytes) else str(key).encode()
    return hmac.new(key, b"room-vote:" + device.encode(), hashlib.sha256).hexdigest()[:32]


def _same_site() -> bool:
    """A vote from another site's page is refused: its Origin names another host, or the browser says so. With
    no referrer (our policy) a browser posts the form with `Origin: null`; its Sec-Fetch-Site still tells."""
    origin = request.headers.get("Origin")
    if origin not in (None, "null") and origin.split("://", 1)[-1].lower() != request.host.lower():
        return False
    return request.headers.get("Sec-Fetch-Site") not in ("cross-site", "same-site")


def _wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json"


def _not_too_often() -> Any:
    """Counted on the voters' own addresses only: any other path is the same 404 for everyone, however often."""
    if request.url_rule is None or current_app.extensions["per_address"].allow(request.remote_addr or "?"):
        return None
    return _answer(429, MESSAGES[429])


def _answer(status: int, message: str, token: str | None = None) -> Any:
    if _wants_json():
        response = jsonify({"error": {"message": message}})
    else:
        response = Response(render_template("room_error.html", status=status, message=message, token=token))
    response.status_code = status
    if status == 429:
        response.headers["Retry-After"] = "5"
    return _no_store(response)


def _error_page(error: Exception) -> Any:
    """Every error as a short plain page; a method or path not known is a 404 like any other path."""
    if isinstance(error, HTTPException):
        status = 404 if error.code in (404, 405) else (error.code or 500)
        message = MESSAGES.get(status) or (error.description if status == 409 else error.name)
    else:
        log.exception("Unexpected error on the voters' listener: %s %s", request.method, request.path)
        status, message = 500, "Something went wrong. Try again in a moment."
    return _answer(status if status >= 400 else 404, message)


def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


def _security_headers(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Frame-Options"] = "DENY"
    return response


def serve_room(app: Flask, host: str, port: int, threads: int = ROOM_THREADS) -> Any:
    """The voters' listener: a waitress server of its own, on its own thread, serving only the voters' app (the
    presenter's app shares its history and room with it, nothing else). Raises OSError when it cannot listen."""
    from waitress.server import create_server

    server = create_server(create_voters_app(app), host=host, port=port, threads=threads, channel_timeout=60,
                           asyncore_use_poll=True, ident="Proofsheet room")
    shown, note = room_host(host)
    address = f"[{shown}]" if ":" in shown else shown
    app.extensions["room"].listening_at(f"http://{address}:{server.effective_port}", note)
    app.extensions["room_listener"] = server  # closed with the app, before the history it reads
    threading.Thread(target=server.run, name="room-listener", daemon=True).start()
    return server


def room_host(host: str) -> tuple[str, str | None]:
    """The address phones should use for a listener on `host`, and a note when it may not be the right one. For
    every network (0.0.0.0, ::) it is this machine's address on the local network, found without sending anything."""
    if host not in ("0.0.0.0", "::", ""):
        return host, None
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(("10.254.254.254", 9))  # a UDP "connect" only picks the route: no packet leaves
            found = probe.getsockname()[0]
    except OSError:
        found = "127.0.0.1"
    if ipaddress.ip_address(found).is_loopback:
        return found, ("This machine has no network address Proofsheet could find: phones cannot reach this "
                       "address. Join the room's network, then start again, or give --room your address.")
    return found, None
