"""Comparison pages: one prompt across models or seeds, as a grid that fills in cell by cell."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, redirect, render_template, request, url_for

from proofsheet.asking.compare import parse_compare
from proofsheet.asking.generation import RequestErrors
from proofsheet.history.records import Group
from proofsheet.results import Problem
from proofsheet.web.context import asker_gone, id_arg, on_named_server, runner, store, unknown_server
from proofsheet.web.errors import status_of
from proofsheet.web.forms import compare_fields, form_values

compare_pages = Blueprint("compare", __name__)


@compare_pages.get("/compare")
def compare_form() -> str:
    values: dict[str, Any] = {"targets": [], "response_format": ""}
    group = store().group(id_arg("from"))
    if group:
        values = _compare_values(group)
    return render_template("compare.html", values=values, errors={}, group=None)


@compare_pages.post("/compare")
def compare() -> Any:
    fields = compare_fields(request.form)
    parsed = parse_compare(on_named_server(fields), from_form=True)
    if isinstance(parsed, RequestErrors):
        return render_template("compare.html", values=fields, errors=parsed, group=None), 400
    unknown = unknown_server(*parsed.cells)
    if unknown:
        return render_template("compare.html", values=fields, errors={"targets": unknown.message}, group=None), 400
    group = runner().compare(parsed, gone=asker_gone())
    if isinstance(group, Problem):
        return render_template("compare.html", values=fields, errors={"form": group.message}, group=None), \
            status_of(group.kind)
    return redirect(url_for("compare.compare_page", group_id=group.id), code=303)


@compare_pages.get("/compare/<id:group_id>")
def compare_page(group_id: int) -> str:
    group = store().group(group_id) or abort(404)
    return render_template("compare.html", values=_compare_values(group), errors={}, group=group)


@compare_pages.get("/generations/<id:generation_id>/cell")
def generation_cell(generation_id: int) -> str:
    """One cell of a comparison grid."""
    generation = store().get(generation_id) or abort(404)
    return render_template("_cell.html", generation=generation)


def _compare_values(group: Group) -> dict[str, Any]:
    """The comparison's form, filled again: its rows of (server, model), and its row axis."""
    cells, layout = group.cells, group.layout or {}
    values = form_values({**cells[0], "prompt": group.prompt})
    values["targets"] = list({(cell.get("server"), cell["model"]): {"server": cell.get("server"), "model": cell["model"]}
                              for cell in cells}.values())
    axis = layout.get("y_axis") or ("seed" if any(cell.get("seed") is not None for cell in cells) else "")
    given = layout.get("y_values") or list(dict.fromkeys(cell["seed"] for cell in cells if cell.get("seed") is not None))
    values["y_axis"] = axis
    values["y_values"] = ("\n" if axis == "prompt" else ", ").join(str(value) for value in given)
    for name in ("seed", axis):
        values.pop(name, None)  # set by each row, not by the form (a search/replace keeps the prompt it works on)
    return values
