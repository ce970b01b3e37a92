"""Editing an image: the Edit page (upload, drop or paste images, paint a mask), its plain-form fallback, and
POST /api/edit (multipart, like /v1/images/edits, plus source_generation and source_image to start from a kept image).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Blueprint, redirect, render_template, request, url_for

from proofsheet.asking.edit import DEFAULT_EDIT_MODEL, EditRequest, parse_edit
from proofsheet.asking.generation import RequestErrors
from proofsheet.results import Problem
from proofsheet.web.context import ID, asker_gone, runner, store
from proofsheet.web.errors import api_error, generation_answer, refusal, status_of
from proofsheet.web.guards import csrf_exempt, same_origin_only
from proofsheet.web.streaming import stream_generation

edit_pages = Blueprint("edit", __name__)
MAX_EDIT_BYTES = 100 * 1024 * 1024  # up to 16 images and a mask
MAX_FILE_BYTES = 50 * 1024 * 1024


@edit_pages.get("/edit")
def edit_form() -> str:
    values = {"model": DEFAULT_EDIT_MODEL, "source_generation": request.args.get("from", ""),
              "source_image": request.args.get("image", "0")}
    return render_template("edit.html", values=values, errors={}, source=_source_url(values))


@edit_pages.post("/edit")
def edit_submit() -> Any:
    """Without JavaScript: a plain multipart form (a mask can be uploaded as a file)."""
    parsed = _read_edit()
    if isinstance(parsed, RequestErrors):
        return _form_again(parsed, 400)
    generation = runner().edit(parsed, gone=asker_gone())
    if isinstance(generation, Problem):
        return _form_again({"form": generation.message}, status_of(generation.kind))
    return redirect(url_for("pages.generation_page", generation_id=generation.id), code=303)


@edit_pages.post("/api/edit")
@csrf_exempt  # multipart, as /v1/images/edits takes it: no CSRF token, so same origin only
@same_origin_only
def api_edit() -> Any:
    if request.mimetype != "multipart/form-data":
        return api_error(415, "bad_request", "Send an edit as multipart/form-data, as /v1/images/edits takes it.")
    parsed = _read_edit()
    if isinstance(parsed, RequestErrors):
        return api_error(400, "bad_request", parsed.summary(), fields=dict(parsed))
    client_ref = request.form.get("client_ref", "")[:100] or None
    work, gone = runner(), asker_gone()
    if parsed.request.streams:
        return stream_generation(lambda listener: work.edit(parsed, client_ref, gone, listener))
    generation = work.edit(parsed, client_ref, gone)
    if isinstance(generation, Problem):
        return refusal(generation)
    return generation_answer(generation)


def _read_edit() -> EditRequest | RequestErrors:
    request.max_content_length = MAX_EDIT_BYTES
    uploads = [(file.filename or "", file.read(MAX_FILE_BYTES + 1))
               for file in request.files.getlist("image") + request.files.getlist("image[]") if file.filename]
    if any(len(data) > MAX_FILE_BYTES for _, data in uploads):
        return RequestErrors(image=f"Each image may be at most {MAX_FILE_BYTES // (1024 * 1024)} MB.")
    mask_file = request.files.get("mask")
    mask = (mask_file.filename or "mask", mask_file.read(MAX_FILE_BYTES)) if mask_file and mask_file.filename else None
    return parse_edit(request.form, uploads, mask, _kept_image(request.form.get("source_generation", ""),
                                                               request.form.get("source_image", "0")))


def _kept_image(generation_text: str, image_text: str) -> tuple[tuple[int, int], bytes] | Problem | None:
    """The bytes of image `image_text` of kept generation `generation_text`, to start an edit from."""
    found = _kept_source(generation_text, image_text)
    if not isinstance(found, tuple):
        return found
    source, path, _ = found
    return source, path.read_bytes()


def _source_url(values: dict[str, Any]) -> str | None:
    """The address of the kept image an edit starts from, to show it (the file itself is not read here)."""
    found = _kept_source(values.get("source_generation", ""), values.get("source_image", "0"))
    return url_for("history.image", name=found[2]) if isinstance(found, tuple) else None


def _kept_source(generation_text: str, image_text: str) -> tuple[tuple[int, int], Path, str] | Problem | None:
    """(generation id, image index), the file and its name, for a kept image named in the form; None if none is."""
    if not generation_text:
        return None
    if not ID.match(generation_text) or not ID.match(image_text or "0"):
        return Problem("bad_source", "The image to start from must be named by a generation id and an image index.")
    generation_id, index = int(generation_text), int(image_text or "0")
    generation = store().get(generation_id)
    image = next((image for image in (generation.shown_images if generation else []) if image.position == index), None)
    found = store().image_file(image.sha256) if image else None
    if found is None or not found[0].exists():
        return Problem("bad_source", f"Generation #{generation_id} has no kept image {index + 1} to start from.")
    return (generation_id, index), found[0], image.file_name


def _form_again(errors: dict[str, str], status: int) -> tuple[str, int]:
    values = request.form.to_dict()
    return render_template("edit.html", values=values, errors=errors, source=_source_url(values)), status
