"""The kept history: the gallery, export, deleting, and the files (images, thumbnails, raw responses)."""
from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, abort, flash, jsonify, redirect, render_template, request, send_file, url_for

from proofsheet.history.run_grid import listed_before, run_count
from proofsheet.web.context import chosen_in_history, gallery_filters, ids_arg, page_number, runner, store
from proofsheet.web.guards import own_origin
from proofsheet.web.run_grid import run_card, run_cards

history = Blueprint("history", __name__)
_HASH = re.compile(r"^[0-9a-f]{64}$")
GALLERY_PAGE = 24  # generations a page of the History lists (the store's default)


@history.get("/generations/<id:generation_id>/raw.json")
def raw_json(generation_id: int) -> Response:
    generation = store().get(generation_id) or abort(404)
    body = store().raw_body(generation_id)
    if body is None:
        abort(404, "The raw response of this generation is not in the data folder (run python app.py --check).")
    answer = Response(body, mimetype="application/json" if generation.raw_is_json else "text/plain")
    answer.headers["Content-Disposition"] = f'attachment; filename="proofsheet-{generation_id}.json"'
    return answer


@history.get("/generations/<id:generation_id>/request.json")
def request_json(generation_id: int) -> Response:
    """The request as it was sent (keys hidden), whole: for one too large to copy from the page."""
    generation = store().get(generation_id) or abort(404)
    answer = jsonify(generation.request)
    answer.headers["Content-Disposition"] = f'attachment; filename="proofsheet-{generation_id}-request.json"'
    return answer


@history.post("/generations/<id:generation_id>/delete")
def delete_generation(generation_id: int) -> Any:
    generation = store().get(generation_id) or abort(404)
    runner().delete(generation_id) or abort(404)
    images = len(generation.shown_images)
    prompt = generation.prompt if len(generation.prompt) <= 80 else generation.prompt[:79] + "…"
    flash(f"Deleted #{generation_id} “{prompt}” ({generation.model}) and its {images} image{'s' * (images != 1)}.")
    return redirect(url_for("history.gallery"), code=303)


@history.post("/generations/<id:generation_id>/star")
def star_generation(generation_id: int) -> Any:
    """Without JavaScript: toggle the star and come back to the page that asked."""
    store().star(generation_id) is not None or abort(404)
    back = request.referrer if request.referrer and own_origin(request.referrer) else None
    return redirect(back or url_for("pages.generation_page", generation_id=generation_id), code=303)


@history.get("/generations")
def gallery() -> str:
    filters = gallery_filters()
    result = store().gallery(page=page_number(), query=filters["q"], model=filters["model"],
                             outcome=filters["outcome"], server=filters["server"], starred=filters["starred"] == "1")
    entries, runs = _with_runs(result.rows, filters), run_count(store().db)
    # A filtered or searched page lists no run (see _with_runs): its heading counts none either.
    return render_template("gallery.html", page=result, entries=entries, filters=filters,
                           runs_total=0 if any(filters.values()) else runs, has_runs=runs > 0,
                           choosable=any(not entry.get("run") for entry in entries),
                           models=store().models(),
                           servers_used=store().servers(),
                           spending=store().spending(), prices_problem=store().prices.problem)


def _with_runs(rows: list[dict[str, Any]], filters: dict[str, str]) -> list[dict[str, Any]]:
    """The page's generations with the runs started in the same stretch of time among them, newest first: a run
    is one entry of the History, its generations are not listed. A filtered or searched page lists generations
    only."""
    if any(filters.values()):
        return rows
    # This page's stretch ends where the page before it ended: at the generation listed just before its first.
    newest = None if page_number() == 1 or not rows else listed_before(store().db, rows[0]["id"])
    oldest = rows[-1]["created_at"] if len(rows) == GALLERY_PAGE else None  # the last page: every older run
    cards = run_cards(oldest, newest)
    return sorted([*rows, *cards], key=lambda entry: entry["created_at"], reverse=True)


@history.get("/generations/<id:generation_id>/card")
def generation_card(generation_id: int) -> str:
    """One generation as the gallery (or the main page's recent strip) shows it, for pages that follow live."""
    row = store().gallery_row(generation_id) or abort(404)
    template = "_recent_item.html" if request.args.get("style") == "recent" else "_gallery_card.html"
    return render_template(template, row=row)


@history.get("/runs/<id:run_id>/card")
def run_card_fragment(run_id: int) -> str:
    """A run as the History shows it, for the History page following the run live."""
    return render_template("_run_card.html", row=run_card(run_id) or abort(404))


@history.get("/generations/export")
@chosen_in_history
def export() -> Response:
    ids = ids_arg(500)
    if not ids:
        abort(400, "Choose at least one generation to export.")
    archive = tempfile.TemporaryFile()  # on disk, not in memory: an export can hold many large images
    store().export_zip(ids, archive)
    archive.seek(0)
    return send_file(archive, mimetype="application/zip", as_attachment=True, download_name="proofsheet-export.zip")


@history.get("/images/<name>")
def image(name: str) -> Response:
    found = store().image_file(_sha256_of(name)) or abort(404)
    return _immutable_file(*found)


@history.get("/thumbnails/<name>")
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
