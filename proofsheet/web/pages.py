"""The pages where a person generates: the form, a result, and the health check the header reads."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, jsonify, redirect, render_template, request, url_for

from proofsheet.asking.generation import DEFAULT_MODEL, RequestErrors, parse_request
from proofsheet.history import run_grid
from proofsheet.results import Problem
from proofsheet.upstream.dialects import asked_body
from proofsheet.web.context import asker_gone, id_arg, runner, server, store, unknown_server
from proofsheet.web.errors import status_of
from proofsheet.web.forms import form_values

pages = Blueprint("pages", __name__)


@pages.get("/")
def index() -> str:
    values = {"model": DEFAULT_MODEL, "response_format": ""}
    source = store().get(id_arg("from"))
    if source:
        values = {**form_values(asked_body(source.request, source.endpoint)), "server": source.server}
    return render_template("index.html", values=values, errors={}, recent=store().gallery(per_page=12).rows)


@pages.post("/generate")
def generate() -> Any:
    parsed = parse_request(request.form, from_form=True)
    if isinstance(parsed, RequestErrors):
        return render_template("index.html", values=request.form, errors=parsed), 400
    unknown = unknown_server(parsed)
    if unknown:
        return render_template("index.html", values=request.form, errors={"server": unknown.message}), 400
    generation = runner().generate(parsed, gone=asker_gone())
    if isinstance(generation, Problem):
        return render_template("index.html", values=request.form, errors={"form": generation.message}), \
            status_of(generation.kind)
    return redirect(url_for("pages.generation_page", generation_id=generation.id), code=303)


@pages.get("/generations/<id:generation_id>")
def generation_page(generation_id: int) -> str:
    generation = store().get(generation_id) or abort(404)
    made_by = run_grid.place_of(store().db, generation_id) if generation.via == "run" else None
    return render_template("index.html", generation=generation, errors={}, made_by=made_by,
                           values={**form_values(asked_body(generation.request, generation.endpoint)),
                                   "server": generation.server})


@pages.get("/generations/<id:generation_id>/fragment")
def generation_fragment(generation_id: int) -> str:
    """The result alone, for the page's script to put in place without a reload."""
    generation = store().get(generation_id) or abort(404)
    return render_template("_result.html", generation=generation)


@pages.post("/generations/<id:generation_id>/rerun")
def rerun(generation_id: int) -> Any:
    generation = store().get(generation_id) or abort(404)
    # "without=stream" is offered when a server refused to stream
    again = runner().rerun(generation, without_stream=request.args.get("without") == "stream", gone=asker_gone())
    if isinstance(again, Problem):
        abort(status_of(again.kind), again.message)
    return redirect(url_for("pages.generation_page", generation_id=again.id), code=303)


@pages.get("/favicon.ico")
def favicon() -> Any:
    """The icon, where a browser asks for it unbidden (a slideshow, an image or a contact sheet opened in a tab)."""
    return current_app.send_static_file("icon.png")


@pages.get("/healthz")
def healthz() -> Any:
    """Proofsheet, and the image server (the default one, or ?server=NAME): checked now."""
    chosen = server()
    health = chosen.check().health
    return jsonify({
        "app": "ok",
        "image_server": {"name": chosen.name, "url": chosen.api_base, "answers": health.answers, "state": health.state,
                         "error": health.message, "models": health.models},
        "history": {"notice": store().notice},
    })
