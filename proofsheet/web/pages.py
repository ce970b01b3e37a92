"""The pages where a person generates: the form, a result, and the health check the header reads."""
from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, abort, jsonify, redirect, render_template, request, url_for

from proofsheet.asking.generation import DEFAULT_MODEL, PROOFSHEET_FIELDS, RequestErrors, parse_request
from proofsheet.results import Problem
from proofsheet.upstream.dialects import asked_body
from proofsheet.upstream.edits import EDIT_FILES
from proofsheet.web.context import REFUSAL_STATUS, asker_gone, id_arg, runner, server, store, unknown_server

pages = Blueprint("pages", __name__)
MAX_FORM_VALUE = 64 * 1024  # an extra field longer than this (as JSON) is not put in the form, which sends 1 MB at most
FORM_FIELDS = ("prompt", "model", "response_format", "n", "size", "seed", "negative_prompt")
# Options with a control of their own in the form (by dialect); any other field goes to Extra fields (JSON).
FORM_OPTIONS = ("quality", "style", "background", "output_format", "output_compression", "moderation", "stream",
                "partial_images", "provider", "aspect_ratio", "num_inference_steps", "guidance_scale")


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
            REFUSAL_STATUS[generation.kind]
    return redirect(url_for("pages.generation_page", generation_id=generation.id), code=303)


@pages.get("/generations/<id:generation_id>")
def generation_page(generation_id: int) -> str:
    generation = store().get(generation_id) or abort(404)
    return render_template("index.html", generation=generation, errors={},
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
        abort(REFUSAL_STATUS[again.kind], again.message)
    return redirect(url_for("pages.generation_page", generation_id=again.id), code=303)


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


def form_values(body: dict[str, Any]) -> dict[str, Any]:
    """A sent body back in the form: fields with a control in their boxes, the rest in Extra fields (JSON)."""
    values = {name: body[name] for name in (*FORM_FIELDS, *FORM_OPTIONS) if body.get(name) is not None}
    values["response_format"] = body.get("response_format") or ""
    if "stream" in values:
        values["stream"] = "on" if body["stream"] is True else ""
    extras = {name: value for name, value in body.items() if name not in FORM_FIELDS and name not in FORM_OPTIONS
              and name not in PROOFSHEET_FIELDS and name not in EDIT_FILES}
    # A program's call through /v1 may carry megabytes (reference images as base64): more than a form sends.
    sizes = {name: len(json.dumps(value, ensure_ascii=False)) for name, value in extras.items()}
    values["left_out"] = {name: size for name, size in sizes.items() if size > MAX_FORM_VALUE}
    kept = {name: value for name, value in extras.items() if name not in values["left_out"]}
    if kept:
        values["extra_fields"] = json.dumps(kept, ensure_ascii=False)
    return values
