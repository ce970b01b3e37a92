"""What every blueprint shares: the app's parts (store, client, runner, recorder), ids in URLs, JSON bodies.

Blueprints import from here, never from app.py, so the web layer has no import loop.
"""
from __future__ import annotations

import functools
import re
import urllib.parse
from typing import Any, Callable, TypeVar

from flask import abort, current_app, flash, g, redirect, request, url_for
from werkzeug.routing import BaseConverter, Rule

from proofsheet.asking.bodies import read_json
from proofsheet.asking.generation import RequestErrors
from proofsheet.running.recording import Recorder
from proofsheet.running.room import Room
from proofsheet.running.runner import Runner
from proofsheet.running.run_control import RunControl
from proofsheet.history.arena import ArenaBook
from proofsheet.history.prompts import PromptBook
from proofsheet.history.runs import RunBook
from proofsheet.history.store import Store
from proofsheet.history.tournament import TournamentBook
from proofsheet.results import Problem
from proofsheet.upstream.client import ImageServerClient
from proofsheet.upstream.models import ModelCatalog
from proofsheet.upstream.servers import Server, ServerRegistry
from proofsheet.web.errors import api_error
from proofsheet.web.guards import own_origin

View = TypeVar("View", bound=Callable[..., Any])
ID = re.compile(r"^[0-9]{1,18}$")  # ASCII digits, small enough for SQLite


class IdConverter(BaseConverter):
    """A generation or comparison id in a URL: ASCII digits SQLite can hold, else the route does not match (404)."""

    regex = r"[0-9]{1,18}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: Any) -> str:
        return str(int(value))


class BuiltOnceRule(Rule):
    """A URL rule whose `url_for` builder Werkzeug compiles once per process, not once per app.

    Werkzeug writes each rule's builder as Python source (an ast, then compile) when the rule joins an app: about two
    thirds of creating an app, most of its cost for the test suite's thousand apps. The builder is a function of the
    rule's parts and defaults, and takes the rule as its first argument, so the same rule shares one.
    """

    _builders: dict[tuple, Any] = {}

    def _compile_builder(self, append_unknown: bool = True):  # Werkzeug's own (private) step, as it names it
        defaults = sorted((name, repr(value), type(self._converters.get(name)))
                          for name, value in (self.defaults or {}).items())
        key = (self.rule, tuple(self._trace), tuple(defaults), append_unknown)
        if key not in self._builders:
            self._builders[key] = super()._compile_builder(append_unknown)
        return self._builders[key]


def store() -> Store:
    return current_app.extensions["store"]


def servers() -> ServerRegistry:
    return current_app.extensions["servers"]


def server() -> Server:
    """The server this request is about: named in the path (/servers/<name>/v1) or the query, else the default."""
    name = g.get("server_name") or request.args.get("server") or None
    found = servers().get(name)
    if found is None:
        abort(api_error(404, "unknown_server", servers().unknown(name or "").message))
    return found


def client() -> ImageServerClient:
    return server().client


def runner() -> Runner:
    return current_app.extensions["runner"]


def run_scheduler() -> RunControl:
    return current_app.extensions["runs"]


def run_book() -> RunBook:
    return run_scheduler().book


def recorder() -> Recorder:
    return current_app.extensions["recorder"]


def arena_book() -> ArenaBook:
    return current_app.extensions["arena"]


def tournament_book() -> TournamentBook:
    return current_app.extensions["tournament"]


def prompt_book() -> PromptBook:
    return current_app.extensions["prompts"]


def catalog() -> ModelCatalog:
    return server().catalog


def on_named_server(fields: Any) -> dict[str, Any]:
    """A comparison's fields with its server named: cells, labels and the history then say which server it was,
    even when the default one is called something else than "default"."""
    return {**fields, "server": fields.get("server") or servers().default_name}


def unknown_server(*requests: Any) -> Problem | None:
    """A refusal naming the first server asked for that Proofsheet does not know, if any."""
    for asked in requests:
        if servers().get(asked.server) is None:
            return servers().unknown(asked.server or "")
    return None


def asker_gone() -> Any:
    """The web server's own check that the browser or client is still connected (waitress), if it has one."""
    return request.environ.get("waitress.client_disconnected")


def id_arg(name: str) -> int:
    """An id from the query string, or 0 (which names nothing) when it is not one."""
    value = request.args.get(name, "")
    return int(value) if ID.match(value) else 0


def ids_arg(limit: int) -> list[int]:
    """Generations chosen in the query — repeated `id=` (the gallery's checkboxes) and/or `ids=1,2,3` — in order,
    each once, at most `limit`; anything that is not an id is left out."""
    given = [value.strip() for value in ",".join([request.args.get("ids", ""), *request.args.getlist("id")]).split(",")]
    return list(dict.fromkeys(int(value) for value in given if ID.match(value)))[:limit]


def chosen_in_history(view: View) -> View:
    """For a route the History's action bar sends its chosen cards to: pressed with none chosen (without
    JavaScript, which keeps those buttons disabled until a card is), it goes back to the History saying so, rather
    than to an error page."""
    @functools.wraps(view)
    def checked(*args: Any, **kwargs: Any) -> Any:
        back = request.referrer or ""
        from_history = own_origin(back) and urllib.parse.urlsplit(back).path == url_for("history.gallery")
        if not from_history or ids_arg(1):
            return view(*args, **kwargs)  # a program asking with nothing chosen is told why, as before
        flash("Choose a card first: tick the box on each card to present, export or print.")
        return redirect(back, code=303)  # the page of the History it was pressed on, its filters kept
    return checked  # type: ignore[return-value]


def gallery_filters() -> dict[str, str]:
    outcome = request.args.get("outcome", "")
    return {"q": request.args.get("q", "").strip()[:200], "model": request.args.get("model", "")[:200],
            "outcome": outcome if outcome in ("succeeded", "failed") else "",
            "server": request.args.get("server", "")[:40], "starred": "1" if request.args.get("starred") == "1" else ""}


def page_number() -> int:
    return max(1, min(request.args.get("page", 1, type=int), 100_000))


def json_body() -> dict[str, Any]:
    """The request's JSON object; anything else ends the request with a 400 that says what is wrong."""
    try:
        body = read_json(request.get_data(cache=True), finite=False)  # the fields' checks name a 1e400
    except ValueError as exc:
        abort(api_error(400, "bad_request", str(exc)))
    if not isinstance(body, dict):
        abort(api_error(400, "bad_request", "The body must be a JSON object, like "
                                             "{\"prompt\": \"...\", \"model\": \"flux\"}."))
    return body


def valid(parsed: Any) -> Any:
    """The parsed request, or the end of the request with each field's message (a server it names must exist)."""
    if isinstance(parsed, RequestErrors):
        abort(api_error(400, "bad_request", parsed.summary(), fields=dict(parsed)))
    problem = unknown_server(*asked_requests(parsed))
    if problem:
        abort(api_error(400, "unknown_server", problem.message, fields={"server": problem.message}))
    return parsed


def asked_requests(parsed: Any) -> list[Any]:
    """The generation requests inside a parsed generation, edit, comparison or arena round."""
    parsed = getattr(parsed, "compare", parsed)
    return getattr(parsed, "cells", None) or [getattr(parsed, "request", parsed)]


def room() -> Room:
    """The room's vote (the voters' listener, opened rounds, their tallies); the voters' app shares the same one."""
    return current_app.extensions["room"]
