"""Proofsheet's web layer: the app factory, the pages, the JSON API and the command line."""
from __future__ import annotations

import argparse
import errno
import ipaddress
import json
import logging
import re
import secrets
import sqlite3
import sys
import threading
import tempfile
import time
import urllib.parse
from pathlib import Path
from typing import Any

from flask import (Blueprint, Flask, Response, abort, current_app, jsonify, redirect, render_template, request,
                   send_file, url_for)
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import HTTPException
from werkzeug.routing import BaseConverter

from proofsheet import settings
from proofsheet.history.lock import FolderInUse
from proofsheet.generation_request import DEFAULT_MODEL, RequestErrors, has_lone_surrogate, parse_compare, parse_request
from proofsheet.generations import Runner
from proofsheet.upstream.client import ImageServerClient
from proofsheet.upstream.models import ModelCatalog
from proofsheet.redaction import install_log_redaction
from proofsheet.results import Problem
from proofsheet.snippets import curl_command, python_snippet
from proofsheet.history.store import HistoryUnavailable, StorageError, Store

log = logging.getLogger("proofsheet")
csrf = CSRFProtect()
pages = Blueprint("pages", __name__)
api = Blueprint("api", __name__, url_prefix="/api")
_HASH = re.compile(r"^[0-9a-f]{64}$")
_ID = re.compile(r"^[0-9]{1,18}$")  # ASCII digits, small enough for SQLite
PAGE_THREADS = 16  # web server threads kept free for pages, whatever the generations in flight
# What each reason a generation could not start answers with.
REFUSAL_STATUS = {"busy": 503, "gone": 400, "deleted": 410, "disk_full": 507, "not_writable": 507,
                  "storage_failed": 507}
FORM_FIELDS = ("prompt", "model", "response_format", "n", "size", "seed", "negative_prompt")

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data: blob:; object-src 'none'; frame-ancestors 'none'; "
    "base-uri 'none'; form-action 'self'"
)


def create_app(config: dict[str, Any] | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_mapping(
        API_BASE=settings.DEFAULT_API_BASE,
        API_KEY=None,
        TIMEOUT=300.0,
        DATA_DIR=app.instance_path,
        MAX_CONTENT_LENGTH=1024 * 1024,
        PROPAGATE_EXCEPTIONS=False,
        WTF_CSRF_TIME_LIMIT=None,
        SERVER_LABEL=None,
        MAX_RESPONSE_BYTES=64 * 1024 * 1024,
        MAX_IMAGE_BYTES=32 * 1024 * 1024,
        IMAGE_TIMEOUT=60.0,
        MAX_IN_FLIGHT=80,
        ALLOWED_HOSTS=[],
    )
    app.config.update(settings.from_environment())
    app.config.update(config or {})
    data_dir = Path(app.config["DATA_DIR"])
    app.extensions["store"] = Store(data_dir)  # first: it says plainly when the folder cannot be used
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _secret_key(data_dir)
    app.extensions["client"] = ImageServerClient(
        app.config["API_BASE"], app.config["API_KEY"], timeout=float(app.config["TIMEOUT"]),
        max_response_bytes=app.config["MAX_RESPONSE_BYTES"], max_image_bytes=app.config["MAX_IMAGE_BYTES"],
        image_timeout=float(app.config["IMAGE_TIMEOUT"]))
    app.extensions["models"] = ModelCatalog(app.extensions["client"])
    app.extensions["runner"] = Runner(app.extensions["store"], app.extensions["client"],
                                      int(app.config["MAX_IN_FLIGHT"]))
    app.url_map.converters["id"] = IdConverter
    csrf.init_app(app)
    csrf.exempt(api)  # the JSON API has its own guard: JSON only, same origin only
    app.register_blueprint(pages)
    app.register_blueprint(api)
    app.before_request(_known_host_only)
    app.after_request(_security_headers)
    app.context_processor(lambda: {"server_url": client().api_base, "history_notice": store().notice})
    app.register_error_handler(Exception, _error_page)
    app.register_error_handler(StorageError, _storage_error)
    app.register_error_handler(CSRFError, _csrf_error)
    app.jinja_env.filters.update(filesize=_filesize, when=_when, tojson_pretty=_pretty_json)
    app.jinja_env.globals.update(curl_command=curl_command, python_snippet=python_snippet)
    return app


def _secret_key(data_dir: Path) -> bytes:
    """Kept in the data folder so that a form opened before a restart still submits."""
    path = data_dir / "secret_key"
    data_dir.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        path.write_bytes(secrets.token_bytes(32))
        path.chmod(0o600)
    return path.read_bytes()


class IdConverter(BaseConverter):
    """A generation or comparison id in a URL: ASCII digits SQLite can hold, else the route does not match (404)."""

    regex = r"[0-9]{1,18}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: Any) -> str:
        return str(int(value))


def store() -> Store:
    return current_app.extensions["store"]


def client() -> ImageServerClient:
    return current_app.extensions["client"]


def runner() -> Runner:
    return current_app.extensions["runner"]


def _asker_gone() -> Any:
    """The web server's own check that the browser or client is still connected (waitress), if it has one."""
    return request.environ.get("waitress.client_disconnected")


# -- pages ----------------------------------------------------------------------------------------------------------

@pages.get("/")
def index() -> str:
    values = {"model": DEFAULT_MODEL, "response_format": ""}
    source = store().get(_id_arg("from"))
    if source:
        values = _form_values(source.request)
    return render_template("index.html", values=values, errors={}, recent=store().gallery(per_page=12).rows)


@pages.post("/generate")
def generate() -> Any:
    parsed = parse_request(request.form)
    if isinstance(parsed, RequestErrors):
        return render_template("index.html", values=request.form, errors=parsed), 400
    generation = runner().generate(parsed, gone=_asker_gone())
    if isinstance(generation, Problem):
        return render_template("index.html", values=request.form, errors={"form": generation.message}), \
            REFUSAL_STATUS[generation.kind]
    return redirect(url_for("pages.generation_page", generation_id=generation.id), code=303)


@pages.get("/generations/<id:generation_id>")
def generation_page(generation_id: int) -> str:
    generation = store().get(generation_id) or abort(404)
    return render_template("index.html", generation=generation, values=_form_values(generation.request), errors={})


@pages.get("/generations/<id:generation_id>/fragment")
def generation_fragment(generation_id: int) -> str:
    """The result alone, for the page's script to put in place without a reload."""
    generation = store().get(generation_id) or abort(404)
    return render_template("_result.html", generation=generation)


@pages.get("/generations/<id:generation_id>/cell")
def generation_cell(generation_id: int) -> str:
    """One cell of a comparison grid."""
    generation = store().get(generation_id) or abort(404)
    return render_template("_cell.html", generation=generation)


@pages.get("/compare")
def compare_form() -> str:
    values: dict[str, Any] = {"models": "flux, sdxl-turbo, dall-e-3", "response_format": ""}
    group = store().group(_id_arg("from"))
    if group:
        values = _compare_values(group.cells)
    return render_template("compare.html", values=values, errors={}, group=None)


@pages.post("/compare")
def compare() -> Any:
    parsed = parse_compare(request.form)
    if isinstance(parsed, RequestErrors):
        return render_template("compare.html", values=request.form, errors=parsed, group=None), 400
    group = runner().compare(parsed, gone=_asker_gone())
    if isinstance(group, Problem):
        return render_template("compare.html", values=request.form, errors={"form": group.message}, group=None), \
            REFUSAL_STATUS[group.kind]
    return redirect(url_for("pages.compare_page", group_id=group.id), code=303)


@pages.get("/compare/<id:group_id>")
def compare_page(group_id: int) -> str:
    group = store().group(group_id) or abort(404)
    return render_template("compare.html", values=_compare_values(group.cells), errors={}, group=group)


@pages.get("/generations/<id:generation_id>/raw.json")
def raw_json(generation_id: int) -> Response:
    generation = store().get(generation_id) or abort(404)
    body = store().raw_body_file(generation_id) or abort(404)
    mimetype = "application/json" if generation.raw_is_json else "text/plain"
    return send_file(body, mimetype=mimetype, as_attachment=True, download_name=f"proofsheet-{generation_id}.json")


@pages.post("/generations/<id:generation_id>/rerun")
def rerun(generation_id: int) -> Any:
    generation = store().get(generation_id) or abort(404)
    parsed = parse_request(generation.request)
    if isinstance(parsed, RequestErrors):
        abort(400)
    again = runner().generate(parsed, gone=_asker_gone())
    if isinstance(again, Problem):
        abort(REFUSAL_STATUS[again.kind], again.message)
    return redirect(url_for("pages.generation_page", generation_id=again.id), code=303)


@pages.post("/generations/<id:generation_id>/delete")
def delete_generation(generation_id: int) -> Any:
    store().delete(generation_id) or abort(404)
    return redirect(url_for("pages.gallery"), code=303)


@pages.get("/generations")
def gallery() -> str:
    filters = _gallery_filters()
    result = store().gallery(page=_page_number(), query=filters["q"], model=filters["model"],
                             outcome=filters["outcome"])
    return render_template("gallery.html", page=result, filters=filters, models=store().models())


def _gallery_filters() -> dict[str, str]:
    outcome = request.args.get("outcome", "")
    return {"q": request.args.get("q", "").strip()[:200], "model": request.args.get("model", "")[:200],
            "outcome": outcome if outcome in ("succeeded", "failed") else ""}


def _page_number() -> int:
    return max(1, min(request.args.get("page", 1, type=int), 100_000))


@pages.get("/generations/export")
def export() -> Response:
    ids = [int(value) for value in request.args.getlist("id") if _ID.match(value)][:500]
    if not ids:
        abort(400, "Choose at least one generation to export.")
    archive = tempfile.TemporaryFile()  # on disk, not in memory: an export can hold many large images
    store().export_zip(ids, archive)
    archive.seek(0)
    return send_file(archive, mimetype="application/zip", as_attachment=True, download_name="proofsheet-export.zip")


@pages.get("/images/<name>")
def image(name: str) -> Response:
    found = store().image_file(_sha256_of(name)) or abort(404)
    return _immutable_file(*found)


@pages.get("/thumbnails/<name>")
def thumbnail(name: str) -> Response:
    path = store().thumbnail_file(_sha256_of(name)) or abort(404)
    return _immutable_file(path, "image/webp")


def _sha256_of(name: str) -> str:
    sha256 = name.split(".", 1)[0]
    return sha256 if _HASH.match(sha256) else abort(404)


def _immutable_file(path: Path, mimetype: str) -> Response:
    if not path.exists():
        abort(404)
    response = send_file(path, mimetype=mimetype, max_age=31536000, conditional=True)
    response.headers["Cache-Control"] = "public, max-age=31536000, immutable"  # named by content hash
    return response


def _id_arg(name: str) -> int:
    """An id from the query string, or 0 (which names nothing) when it is not one."""
    value = request.args.get(name, "")
    return int(value) if _ID.match(value) else 0


def _compare_values(cells: list[dict[str, Any]]) -> dict[str, Any]:
    values = _form_values(cells[0])
    values["models"] = ", ".join(dict.fromkeys(cell["model"] for cell in cells))
    values["seeds"] = ", ".join(dict.fromkeys(str(cell["seed"]) for cell in cells if cell.get("seed") is not None))
    return values


def _form_values(body: dict[str, Any]) -> dict[str, Any]:
    values = {name: body.get(name) for name in FORM_FIELDS if body.get(name) is not None}
    values["response_format"] = body.get("response_format") or ""
    return values


# -- JSON API -------------------------------------------------------------------------------------------------------

@api.before_request
def _json_only_from_this_origin() -> Any:
    """No CSRF token on the API, so: JSON bodies only, and never from a foreign page."""
    origin = request.headers.get("Origin")
    if origin and not _own_origin(origin):
        return _api_error(403, "forbidden_origin", "Requests from another site are refused.")
    if request.headers.get("Sec-Fetch-Site") == "cross-site":
        return _api_error(403, "forbidden_origin", "Requests from another site are refused.")
    if request.method in ("POST", "PUT", "PATCH") and request.mimetype != "application/json":
        return _api_error(415, "bad_request", "Send the body as JSON with Content-Type: application/json.")
    return None


@api.post("/generate")
def api_generate() -> Any:
    body = _json_body()
    parsed = _valid(parse_request(body))
    client_ref = body.get("client_ref") if isinstance(body.get("client_ref"), str) else None
    generation = runner().generate(parsed, client_ref[:100] if client_ref else None, _group_cell(body),
                                   gone=_asker_gone())
    if isinstance(generation, Problem):
        return _refusal(generation)
    return jsonify(generation.to_dict()), _status_for(generation)


def _refusal(problem: Problem) -> Response:
    response = _api_error(REFUSAL_STATUS[problem.kind], problem.kind, problem.message)
    if problem.kind == "busy":
        response.headers["Retry-After"] = "5"
    return response


def _group_cell(body: dict[str, Any]) -> tuple[int, int] | None:
    """A cell of a comparison started with POST /api/groups: its group id and position."""
    if body.get("group_id") is None:
        return None
    group_id, position = body.get("group_id"), body.get("group_position", 0)
    if not (isinstance(group_id, int) and isinstance(position, int)) or not store().group_exists(group_id):
        abort(_api_error(400, "bad_request", "\"group_id\" must name a comparison started with POST /api/groups."))
    return group_id, position


@api.post("/compare")
def api_compare() -> Any:
    """Every cell in parallel; answers when the last one is done."""
    parsed = _valid(parse_compare(_json_body()))
    group = runner().compare(parsed, gone=_asker_gone())
    return _refusal(group) if isinstance(group, Problem) else jsonify(group.to_dict())


@api.post("/groups")
def api_start_group() -> Any:
    """Start a comparison whose cells the page then sends one by one, filling the grid as each answer arrives."""
    parsed = _valid(parse_compare(_json_body()))
    group_id = runner().start_compare(parsed)
    if isinstance(group_id, Problem):
        return _refusal(group_id)
    return jsonify({"id": group_id, "permalink": f"/compare/{group_id}",
                    "cells": [cell.to_body() for cell in parsed.cells]}), 201


@api.get("/models")
def api_models() -> Any:
    catalog: ModelCatalog = current_app.extensions["models"]
    return jsonify(catalog.models(store().recent_models(), refresh=request.args.get("refresh") == "1"))


@api.get("/generations")
def api_generations() -> Any:
    filters = _gallery_filters()
    per_page = max(1, min(request.args.get("per_page", 24, type=int), 1000))
    result = store().gallery(page=_page_number(), per_page=per_page, query=filters["q"], model=filters["model"],
                             outcome=filters["outcome"])
    for row in result.rows:
        cover = row.pop("cover")
        row["thumbnail"] = f"/thumbnails/{cover}.webp" if cover else None
    return jsonify({"generations": result.rows, "total": result.total, "page": result.page, "pages": result.pages})


@api.get("/generations/<id:generation_id>")
def api_generation(generation_id: int) -> Any:
    generation = store().get(generation_id)
    if generation is None:
        return _api_error(404, "not_found", f"There is no generation {generation_id}.")
    return jsonify(generation.to_dict())


@api.delete("/generations/<id:generation_id>")
def api_delete(generation_id: int) -> Any:
    if not store().delete(generation_id):
        return _api_error(404, "not_found", f"There is no generation {generation_id}.")
    return jsonify({"deleted": generation_id})


@api.post("/cancel")
def api_cancel() -> Any:
    client_ref = _json_body().get("client_ref")
    if not isinstance(client_ref, str) or not client_ref:
        return _api_error(400, "bad_request", "Say which generation to cancel with \"client_ref\".")
    generation_id = runner().cancel(client_ref[:100])
    if generation_id is None:
        return _api_error(404, "not_found", "No generation with that client_ref is running.")
    return jsonify({"cancelled": generation_id})


@pages.get("/healthz")
def healthz() -> Any:
    health = client().check_health()
    return jsonify({
        "app": "ok",
        "image_server": {"url": client().api_base, "answers": health.answers, "state": health.state,
                         "error": health.message},
        "history": {"notice": store().notice},
    })


def _json_body() -> dict[str, Any]:
    """The request's JSON object; anything else ends the request with a 400 that says what is wrong."""
    try:
        text = request.get_data(cache=True).decode("utf-8")
    except UnicodeDecodeError:
        abort(_api_error(400, "bad_request", "The body is not UTF-8 text."))
    try:
        body = json.loads(text)
    except (ValueError, RecursionError) as exc:
        where = f" (line {exc.lineno}, column {exc.colno})" if isinstance(exc, json.JSONDecodeError) else ""
        abort(_api_error(400, "bad_request", f"The body is not valid JSON{where}."))
    if not isinstance(body, dict):
        abort(_api_error(400, "bad_request", "The body must be a JSON object, like "
                                             "{\"prompt\": \"...\", \"model\": \"flux\"}."))
    if has_lone_surrogate(body):
        abort(_api_error(400, "bad_request", "The body contains a lone UTF-16 surrogate (such as \\ud800), which "
                                             "is not a character; send valid Unicode text."))
    return body


def _valid(parsed: Any) -> Any:
    """The parsed request, or the end of the request with each field's message."""
    if isinstance(parsed, RequestErrors):
        abort(_api_error(400, "bad_request", parsed.summary(), fields=dict(parsed)))
    return parsed


def _status_for(generation: Any) -> int:
    if generation.shown_images:
        return 200
    if generation.error and generation.error.kind == "timeout":
        return 504
    if generation.error and REFUSAL_STATUS.get(generation.error.kind) == 507:
        return 507
    if generation.status == "cancelled":
        return 409
    return 502


def _api_error(status: int, kind: str, message: str, **extra: Any) -> Response:
    response = jsonify({"error": {"kind": kind, "message": message, **extra}})
    response.status_code = status
    return response


# -- who may ask ---------------------------------------------------------------------------------------------------

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


def _known_host_only() -> Any:
    if host_allowed(request.host, current_app.config["ALLOWED_HOSTS"]):
        return None
    message = (f"Proofsheet does not answer to the name \"{request.host}\". Open it as http://localhost:PORT, or "
               "start it with --allow-host NAME to allow this name.")
    if request.path.startswith(("/api/", "/healthz")):
        return _api_error(400, "unknown_host", message)
    return render_template("error.html", status=400, message=message), 400


def _own_origin(origin: str) -> bool:
    """The page that sent the request was served by this app: an allowed name, on the port the app listens on."""
    parts = urllib.parse.urlsplit(origin)
    try:
        port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    except ValueError:
        return False
    listening = request.environ.get("SERVER_PORT", "")
    return bool(parts.hostname) and host_allowed(parts.netloc, current_app.config["ALLOWED_HOSTS"]) and \
        str(port) == listening


# -- every response -------------------------------------------------------------------------------------------------

def _security_headers(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
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
    if request.path.startswith("/api/") or request.path == "/healthz":
        return _api_error(status, "http_error" if status < 500 else "internal_error", message)
    return render_template("error.html", status=status, message=message), status


def _http_message(error: HTTPException) -> str:
    messages = {404: "There is nothing at this address. It may have been deleted.",
                405: "That page does not take this kind of request.",
                413: "The request is too large (at most 1 MB)."}
    described = error.description if error.description and "browser (or proxy)" not in error.description else None
    return messages.get(error.code) or described or error.name


def _storage_error(error: StorageError) -> Any:
    """Disk full or a read-only folder while deleting or cancelling: said plainly, never a bare 500."""
    if request.path.startswith("/api/"):
        return _api_error(507, error.problem.kind, error.problem.message)
    return render_template("error.html", status=507, message=error.problem.message), 507


def _csrf_error(error: CSRFError) -> Any:
    """A form without a valid token: nothing is sent, and the form comes back with what was typed."""
    message = "The form had expired or came from another site; nothing was sent. Please submit it again."
    template = {"pages.generate": "index.html", "pages.compare": "compare.html"}.get(request.endpoint)
    if template:
        return render_template(template, values=request.form, errors={"form": message}, group=None), 400
    return render_template("error.html", status=400, message=message), 400


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
    """Readable JSON as plain text; autoescaping makes it safe in the page."""
    return json.dumps(value, indent=2, ensure_ascii=False)


# -- command line ---------------------------------------------------------------------------------------------------

def exposure_warning(host: str) -> str | None:
    """A warning when the app listens beyond this machine, where anyone on the network could use it."""
    try:
        if ipaddress.ip_address(host.strip("[]")).is_loopback:
            return None
    except ValueError:
        if host == "localhost":
            return None
    return (f"WARNING: Proofsheet is listening on {host}, not only on this machine: anyone who can reach it can "
            "generate images with your server and API key and read the whole history. Use --host 127.0.0.1 "
            "unless you mean it.")


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    logging.basicConfig(level=logging.DEBUG if args.debug else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.check or args.backup:
        return _look_after_history(args)
    config: dict[str, Any] = {"MAX_IN_FLIGHT": max(1, args.threads - PAGE_THREADS)}
    if args.api_base:
        config["API_BASE"] = settings.checked_api_base(args.api_base, "--api-base")
    if args.allow_host:
        config["ALLOWED_HOSTS"] = settings.allowed_hosts(args.allow_host)
    if args.demo:
        from proofsheet.demo_server import DemoImageServer

        demo = DemoImageServer().start()
        config.update(API_BASE=demo.api_base, SERVER_LABEL="built-in demo server (not AI)")
        log.info("Demo image server (draws placeholders, not AI) at %s", demo.api_base)
    try:
        app = create_app(config)
    except (HistoryUnavailable, FolderInUse) as exc:
        return _refuse_to_start(_start_message(exc, app_data_dir(config)))
    install_log_redaction(app.extensions["client"].redactor)
    from waitress.server import create_server

    try:
        server = create_server(app, host=args.host, port=args.port, threads=args.threads, channel_timeout=600,
                               channel_request_lookahead=WAITRESS_LOOKAHEAD, ident="Proofsheet")
    except OSError as exc:
        return _refuse_to_start(_listen_message(exc, args.host, args.port))
    address = f"http://{args.host}:{args.port}"
    app.extensions["store"].describe_holder(address)
    warning = exposure_warning(args.host)
    if warning:
        log.warning(warning)
    log.info("Proofsheet at %s, image server %s", address, app.extensions["client"].api_base)
    threading.Thread(target=_warn_if_server_unhealthy, args=(app.extensions["client"],), daemon=True).start()
    server.run()
    return 0


# Lets waitress notice a browser or client that went away while its request waits or runs.
WAITRESS_LOOKAHEAD = 5


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Proofsheet: see what an image generation server gives back.")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=5000)
    parser.add_argument("--api-base", help="the image server's base URL (default http://localhost:1337/v1)")
    parser.add_argument("--demo", action="store_true", help="start the built-in demo image server and use it")
    parser.add_argument("--debug", action="store_true", help="verbose logging")
    parser.add_argument("--threads", type=int, default=96,
                        help=f"web server threads; {PAGE_THREADS} are always kept for pages (default 96)")
    parser.add_argument("--allow-host", action="append", metavar="NAME",
                        help="also answer to this host name (loopback names and IP addresses always work)")
    parser.add_argument("--check", action="store_true",
                        help="check the data folder (database and files) without changing anything, then exit")
    parser.add_argument("--backup", metavar="FOLDER", help="copy the history into FOLDER (safe while running)")
    return parser.parse_args(argv)


def app_data_dir(config: dict[str, Any]) -> Path:
    return Path(config.get("DATA_DIR") or settings.data_dir())


def _look_after_history(args: argparse.Namespace) -> int:
    from proofsheet.history import tools as history_tools

    folder = settings.data_dir()
    try:
        report = history_tools.backup(folder, Path(args.backup)) if args.backup else history_tools.check(folder)
    except (OSError, sqlite3.Error) as exc:
        return _refuse_to_start(f"Could not {'back up' if args.backup else 'check'} {folder}: {exc}")
    print("\n".join(report.lines))
    return 1 if report.problems else 0


def _start_message(exc: Exception, folder: Path) -> str:
    if isinstance(exc, FolderInUse):
        return (f"The data folder {folder} is in use by another Proofsheet ({exc}). Stop that one first, or give "
                "this one a folder of its own with PROOFSHEET_DATA=/another/folder.")
    return str(exc)


def _listen_message(exc: OSError, host: str, port: int) -> str:
    if exc.errno == errno.EADDRINUSE:
        return (f"Port {port} on {host} is already in use (another Proofsheet, or another program). Choose another "
                f"with --port, for example --port {port + 1}.")
    if exc.errno == errno.EACCES:
        return f"Not allowed to listen on port {port}; choose one above 1023 with --port."
    return f"Cannot listen on {host}:{port} ({exc.strerror or exc}). Check --host and --port."


def _refuse_to_start(message: str) -> int:
    print(message, file=sys.stderr)
    return 2


def _warn_if_server_unhealthy(image_server: ImageServerClient) -> None:
    """At start, one line if the image server is not there yet: Proofsheet starts anyway."""
    health = image_server.check_health()
    if not health.answers:
        log.warning("The image server is not ready: %s Proofsheet is running and will use it once it answers.",
                    health.message)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
