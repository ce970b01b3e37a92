"""The JSON API: generate, compare, cancel, models and the history, for the page's scripts and for programs."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, jsonify, request

from proofsheet.asking.compare import parse_compare
from proofsheet.asking.generation import MAX_ANY_PROMPT, parse_request
from proofsheet.results import Problem
from proofsheet.web.context import (asker_gone, catalog, gallery_filters, json_body, on_named_server, page_number,
                                    prompt_book, runner, server, store, valid)
from proofsheet.web.errors import api_error, generation_answer, refusal
from proofsheet.web.guards import csrf_exempt, json_api_only
from proofsheet.web.streaming import stream_generation

api = csrf_exempt(Blueprint("api", __name__, url_prefix="/api"))


api.before_request(json_api_only)  # no CSRF token on the API, so: JSON bodies only, never from a foreign page


@api.post("/generate")
def api_generate() -> Any:
    body = json_body()
    parsed = valid(parse_request(body))
    client_ref = body["client_ref"][:100] if isinstance(body.get("client_ref"), str) else None
    group, gone, work = _group_cell(body), asker_gone(), runner()
    if parsed.streams:
        return stream_generation(lambda listener: work.generate(parsed, client_ref, group, gone, listener))
    generation = work.generate(parsed, client_ref, group, gone=gone)
    if isinstance(generation, Problem):
        return refusal(generation)
    return generation_answer(generation)


def _group_cell(body: dict[str, Any]) -> tuple[int, int] | None:
    """A cell of a comparison started with POST /api/groups: its group id and position."""
    if body.get("group_id") is None:
        return None
    group_id, position = body.get("group_id"), body.get("group_position", 0)
    group = store().group(group_id) if _whole(group_id) else None
    if group is None:
        abort(api_error(400, "bad_request", "\"group_id\" must name a comparison started with POST /api/groups."))
    if not _whole(position) or position >= len(group.cells):
        abort(api_error(400, "bad_request", f"\"group_position\" must be a cell of comparison {group_id}: a whole "
                                             f"number from 0 to {len(group.cells) - 1}."))
    return group_id, position


def _whole(value: Any) -> bool:
    """A whole number that can name a row (not a boolean, and small enough for SQLite)."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**63


@api.post("/compare")
def api_compare() -> Any:
    """Every cell in parallel; answers when the last one is done."""
    parsed = valid(parse_compare(on_named_server(json_body())))
    group = runner().compare(parsed, gone=asker_gone())
    return refusal(group) if isinstance(group, Problem) else jsonify(group.to_dict())


@api.post("/groups")
def api_start_group() -> Any:
    """Start a comparison whose cells the page then sends one by one, filling the grid as each answer arrives."""
    parsed = valid(parse_compare(on_named_server(json_body())))
    group_id = runner().start_compare(parsed)
    if isinstance(group_id, Problem):
        return refusal(group_id)
    layout = parsed.layout or {}
    return jsonify({"id": group_id, "permalink": f"/compare/{group_id}", "cells": [cell.to_cell() for cell in parsed.cells],
                    "columns": layout.get("columns"), "rows": layout.get("rows") or []}), 201


@api.get("/models")
def api_models() -> Any:
    provider = request.args.get("provider", "").strip()[:100]
    if provider:
        return jsonify(catalog().provider_models(provider))
    chosen = server()
    listed = chosen.catalog.models(store().recent_models(server=chosen.name), refresh=request.args.get("refresh") == "1")
    return jsonify({**listed, "server_name": chosen.name})


@api.get("/generations")
def api_generations() -> Any:
    filters = gallery_filters()
    per_page = max(1, min(request.args.get("per_page", 24, type=int), 1000))
    result = store().gallery(page=page_number(), per_page=per_page, query=filters["q"], model=filters["model"],
                             outcome=filters["outcome"], server=filters["server"], starred=filters["starred"] == "1")
    for row in result.rows:
        cover = row.pop("cover")
        row["thumbnail"] = f"/thumbnails/{cover}.webp" if cover else None
    return jsonify({"generations": result.rows, "total": result.total, "total_exact": not result.more,
                    "page": result.page, "pages": result.pages})


@api.get("/generations/<id:generation_id>")
def api_generation(generation_id: int) -> Any:
    generation = store().get(generation_id)
    if generation is None:
        return api_error(404, "not_found", f"There is no generation {generation_id}.")
    return jsonify(generation.to_dict())


@api.delete("/generations/<id:generation_id>")
def api_delete(generation_id: int) -> Any:
    if not runner().delete(generation_id):
        return api_error(404, "not_found", f"There is no generation {generation_id}.")
    return jsonify({"deleted": generation_id})


@api.post("/generations/<id:generation_id>/star")
def api_star(generation_id: int) -> Any:
    """Toggle the star, or set it with {"starred": true|false}."""
    wanted = json_body().get("starred") if request.content_length else None
    if wanted is not None and not isinstance(wanted, bool):
        return api_error(400, "bad_request", "\"starred\" must be true or false (or leave it out to toggle).")
    starred = store().star(generation_id, wanted)
    if starred is None:
        return api_error(404, "not_found", f"There is no generation {generation_id}.")
    return jsonify({"id": generation_id, "starred": starred})


@api.get("/prompts")
def api_prompts() -> Any:
    return jsonify({"prompts": prompt_book().all()})


@api.post("/prompts")
def api_save_prompt() -> Any:
    body = json_body()
    name, prompt = body.get("name"), body.get("prompt")
    if not isinstance(name, str) or not name.strip() or len(name.strip()) > 80 or "\n" in name:
        return api_error(400, "bad_request", "Name the prompt with one line of at most 80 characters.",
                         fields={"name": "Name the prompt with one line of at most 80 characters."})
    if not isinstance(prompt, str) or not prompt.strip() or len(prompt) > MAX_ANY_PROMPT:
        return api_error(400, "bad_request", f"The prompt must be text of 1 to {MAX_ANY_PROMPT:,} characters.",
                         fields={"prompt": f"The prompt must be text of 1 to {MAX_ANY_PROMPT:,} characters."})
    saved, new = prompt_book().save(name.strip(), prompt.strip())
    return jsonify(saved), 201 if new else 200


@api.delete("/prompts/<id:prompt_id>")
def api_delete_prompt(prompt_id: int) -> Any:
    if not prompt_book().delete(prompt_id):
        return api_error(404, "not_found", f"There is no saved prompt {prompt_id}.")
    return jsonify({"deleted": prompt_id})


@api.post("/cancel")
def api_cancel() -> Any:
    client_ref = json_body().get("client_ref")
    if not isinstance(client_ref, str) or not client_ref:
        return api_error(400, "bad_request", "Say which generation to cancel with \"client_ref\".")
    generation_id = runner().cancel(client_ref[:100])
    if generation_id is None:
        return api_error(404, "not_found", "No generation with that client_ref is running.")
    return jsonify({"cancelled": generation_id})
