"""Prompt-set runs: the /runs pages (a new run; its progress and grid, pause/resume/cancel, export) and /api/runs.

The pages work without JavaScript; the API takes JSON, or a multipart upload of a prompt file (`prompts_file`)
from a program or a page of this Proofsheet.
"""
from __future__ import annotations

import json
import tempfile
from typing import Any

from flask import Blueprint, Response, abort, jsonify, redirect, render_template, request, send_file, url_for

from proofsheet.asking.generation import RequestErrors
from proofsheet.asking.runs import DEFAULT_CONCURRENCY, MAX_CELLS, PromptRow, estimate, parse_run, read_prompt_file
from proofsheet.history.run_export import export_run
from proofsheet.history.run_grid import STATUS_FILTER
from proofsheet.history.runs import CELL_STATUSES
from proofsheet.results import Problem
from proofsheet.running.runs import progress
from proofsheet.web.context import (json_body, page_number, run_book, run_scheduler, servers, store, unknown_server,
                                    valid)
from proofsheet.web.errors import api_error, refusal, status_of
from proofsheet.web.forms import compare_fields
from proofsheet.web.guards import csrf_exempt, json_api_only, same_origin_only
from proofsheet.web.run_grid import grid_page

runs_pages = Blueprint("runs", __name__)
runs_api = csrf_exempt(Blueprint("runs_api", __name__, url_prefix="/api/runs"))
CELLS_PER_PAGE = 50
ACTIONS = ("pause", "resume", "cancel")
NOT_NOW = {"pause": "Only a running run can be paused.", "resume": "Only a paused run can be resumed.",
           "cancel": "This run has already ended."}


@runs_api.before_request
def _json_or_own_upload() -> Any:
    """JSON, as the rest of the API; a new run may also come as a multipart upload (guarded by same_origin_only)."""
    if request.endpoint == "runs_api.api_create" and request.mimetype == "multipart/form-data":
        return None
    return json_api_only()


# -- the API -----------------------------------------------------------------------------------------------------------

@runs_api.post("")
@same_origin_only
def api_create() -> Any:
    """A new run (or, with "dry_run": true, only what it would take): its id, status, number of calls and estimate."""
    if request.mimetype == "multipart/form-data":
        fields, rows = _uploaded_fields()
    else:
        fields, rows = json_body(), None
    parsed = valid(parse_run(fields, servers().default_name, rows))
    estimated = estimate(parsed, store().prices)
    if parsed.dry_run:
        return jsonify({"id": None, "status": "dry_run", "total": parsed.total, "estimate": estimated})
    run_id = run_scheduler().start(parsed)
    if isinstance(run_id, Problem):
        return refusal(run_id)
    return jsonify({"id": run_id, "status": "running", "total": parsed.total, "estimate": estimated,
                    "permalink": f"/runs/{run_id}"}), 201


@runs_api.get("")
def api_list() -> Any:
    return jsonify({"runs": [progress(run_book(), run.id) for run in run_book().recent()]})


@runs_api.get("/<id:run_id>")
def api_run(run_id: int) -> Any:
    found = progress(run_book(), run_id)
    return jsonify(found) if found else _no_run(run_id)


@runs_api.get("/<id:run_id>/cells")
def api_cells(run_id: int) -> Any:
    if run_book().get(run_id) is None:
        return _no_run(run_id)
    per_page = max(1, min(request.args.get("per_page", CELLS_PER_PAGE, type=int), 1000))
    status, target = _cell_filters()
    cells, total = run_book().cells(run_id, page_number(), per_page, status, target)
    return jsonify({"cells": cells, "total": total, "page": page_number(), "pages": max(1, -(-total // per_page))})


@runs_api.post("/<id:run_id>/<action>")
def api_action(run_id: int, action: str) -> Any:
    if action not in ACTIONS:
        abort(404)
    if run_book().get(run_id) is None:
        return _no_run(run_id)
    if not getattr(run_scheduler(), action)(run_id):
        return api_error(409, "conflict", NOT_NOW[action])
    return jsonify(progress(run_book(), run_id))


def _no_run(run_id: int) -> Any:
    return api_error(404, "not_found", f"There is no run {run_id}.")


def _uploaded_fields() -> tuple[dict[str, Any], list[PromptRow] | None]:
    """A multipart new run: `targets` as JSON text, the other fields as text, the prompts as `prompts_file`."""
    fields: dict[str, Any] = {name: request.form.get(name) for name in request.form.keys()}
    try:
        fields["targets"] = json.loads(fields.get("targets") or "null")
    except ValueError:
        abort(api_error(400, "bad_request", "\"targets\" must be JSON text, like [{\"model\": \"flux\"}]."))
    fields["dry_run"] = (fields.get("dry_run") or "").lower() in ("1", "true", "on")
    rows = _file_rows()
    if isinstance(rows, str):
        abort(api_error(400, "bad_request", rows, fields={"prompts_file": rows}))
    return fields, rows


def _file_rows() -> list[PromptRow] | str | None:
    upload = request.files.get("prompts_file")
    if upload is None or not upload.filename:
        return None
    return read_prompt_file(upload.filename, upload.read())


def _cell_filters() -> tuple[str, int | None]:
    status = request.args.get("status", "")
    target = request.args.get("target", "")
    return (status if status in CELL_STATUSES else "",
            int(target) if target.isascii() and target.isdigit() and len(target) < 4 else None)


# -- the pages ---------------------------------------------------------------------------------------------------------

@runs_pages.get("/runs")
def runs_page() -> str:
    values = {"targets": [], "repeats": 1, "concurrency": DEFAULT_CONCURRENCY}
    return _runs_form(values, {})


@runs_pages.post("/runs")
def create_run() -> Any:
    """Estimate, or start (a run over the person's budget, or of unknown cost, waits for their confirmation)."""
    fields = compare_fields(request.form)
    rows = _file_rows()
    if isinstance(rows, str):
        return _runs_form(fields, {"prompts": rows}), 400
    parsed = parse_run(fields, servers().default_name, rows)
    unknown = None if isinstance(parsed, RequestErrors) else unknown_server(*parsed.cells)
    if isinstance(parsed, RequestErrors) or unknown:
        return _runs_form(fields, parsed if unknown is None else {"targets": unknown.message}), 400
    estimated = estimate(parsed, store().prices)
    over = _over_budget(estimated, fields.get("budget"))
    if fields.get("action") != "start" or (over and not fields.get("confirm")):
        return _runs_form(fields, {"form": over} if over and fields.get("action") == "start" else {}, estimated,
                          over)
    run_id = run_scheduler().start(parsed)
    if isinstance(run_id, Problem):
        return _runs_form(fields, {"form": run_id.message}), status_of(run_id.kind)
    return redirect(url_for("runs.run_page", run_id=run_id), code=303)


@runs_pages.get("/runs/<id:run_id>")
def run_page(run_id: int) -> str:
    """The run's progress and its grid of prompts × targets, a page of prompts at a time, filtered by the query."""
    found = progress(run_book(), run_id) or abort(404)
    grid = grid_page(run_book().get(run_id) or abort(404))
    return render_template("run.html", run=found, grid=grid, statuses=tuple(STATUS_FILTER))


@runs_pages.get("/runs/<id:run_id>/export.zip")
def run_export(run_id: int) -> Response:
    """Every image of the run, and every cell in cells.csv and cells.jsonl."""
    run = run_book().get(run_id) or abort(404)
    archive = tempfile.TemporaryFile()  # on disk, not in memory: a run can hold thousands of images
    export_run(store(), run, archive)
    archive.seek(0)
    return send_file(archive, mimetype="application/zip", as_attachment=True,
                     download_name=f"proofsheet-run-{run_id}.zip")


@runs_pages.post("/runs/<id:run_id>/<action>")
def run_action(run_id: int, action: str) -> Any:
    if action not in ACTIONS or run_book().get(run_id) is None:
        abort(404)
    getattr(run_scheduler(), action)(run_id)  # a button pressed twice changes nothing the second time
    return redirect(url_for("runs.run_page", run_id=run_id), code=303)


def _runs_form(values: dict[str, Any], errors: dict[str, str], estimated: dict[str, Any] | None = None,
               over_budget: str | None = None) -> str:
    """The form again, as the person left it; with the estimate, and the Confirm box when it is over their budget."""
    runs = [progress(run_book(), run.id) for run in run_book().recent()]
    return render_template("runs.html", values=values, errors=errors, estimate=estimated, over_budget=over_budget,
                           runs=runs, max_cells=MAX_CELLS)


def _over_budget(estimated: dict[str, Any], budget: Any) -> str | None:
    """Why the run waits for a confirmation: its estimate is over the budget set, or unknown."""
    try:
        limit = float(budget) if budget not in (None, "") else None
    except ValueError:
        return "The budget is a number of US dollars, like 5 or 12.50."
    if limit is None:
        return None
    cost = estimated["cost_usd"]
    if cost == "unknown":
        return "The cost of this run is unknown (a model has no price in prices.json): tick Confirm to start it."
    if cost > limit:
        return f"This run would cost about ${cost:.2f}, over your budget of ${limit:.2f}: tick Confirm to start it."
    return None
