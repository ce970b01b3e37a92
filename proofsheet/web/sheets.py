"""Contact sheets of a comparison, a page of a run's grid or a selection: one labelled PNG, or one self-contained HTML file to hand out."""
from __future__ import annotations

import time
from typing import Any

from flask import Blueprint, Response, abort, render_template, request

from proofsheet.contact_sheet import Sheet, SheetCell, inline_image, render_png
from proofsheet.history.records import Group, StoredGeneration
from proofsheet.web.context import chosen_in_history, ids_arg, page_number, run_book, store
from proofsheet.web.run_grid import grid_page, grid_sheet

sheets = Blueprint("sheets", __name__)
MAX_SELECTED = 48
# The HTML sheet is a document to keep and mail: nothing in it may load or run anything. Shown in a tab of our own
# origin, it is sandboxed as well, so even a flaw in its escaping could not act as the app.
SHEET_POLICY = ("default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; "
                "frame-ancestors 'none'; sandbox")


@sheets.get("/compare/<id:group_id>/contact-sheet.png")
def group_sheet_png(group_id: int) -> Response:
    return _png(_group_sheet(group_id), f"proofsheet-comparison-{group_id}")


@sheets.get("/compare/<id:group_id>/contact-sheet.html")
def group_sheet_html(group_id: int) -> Response:
    return _html(_group_sheet(group_id), f"proofsheet-comparison-{group_id}")


@sheets.get("/runs/<id:run_id>/contact-sheet.png")
def run_sheet_png(run_id: int) -> Response:
    """The sheet of the run's grid page named in the query (its page and filters, as the run page shows it)."""
    return _png(_run_sheet(run_id), f"proofsheet-run-{run_id}-page-{page_number()}")


@sheets.get("/runs/<id:run_id>/contact-sheet.html")
def run_sheet_html(run_id: int) -> Response:
    return _html(_run_sheet(run_id), f"proofsheet-run-{run_id}-page-{page_number()}")


@sheets.get("/generations/contact-sheet.png")
@chosen_in_history
def selection_sheet_png() -> Response:
    return _png(_selection_sheet(), "proofsheet-selection")


@sheets.get("/generations/contact-sheet.html")
@chosen_in_history
def selection_sheet_html() -> Response:
    return _html(_selection_sheet(), "proofsheet-selection")


def _group_sheet(group_id: int) -> Sheet:
    group: Group = store().group(group_id) or abort(404)
    cells = []
    for position in range(len(group.cells)):
        label = group.columns[position % len(group.columns)] if group.rows else group.label_of(position)
        cells.append(_cell(label, group.generation_at(position)))
    prompts = (group.layout or {}).get("row_axis") == "prompt"  # then each row has its own prompt
    count = len(group.columns)
    title = f"{len(group.rows)} prompts × {count} model{'s' * (count != 1)}" if prompts else group.prompt
    return Sheet(title, group.created_at, group.columns, group.rows, cells, group.cells,
                 base_prompt=group.prompt if (group.layout or {}).get("y_axis") == "prompt_sr" else "")


def _run_sheet(run_id: int) -> Sheet:
    grid = grid_page(run_book().get(run_id) or abort(404))
    if not grid.rows:
        abort(404, "No cell of this run matches these filters: there is nothing to put on a sheet.")
    return grid_sheet(grid)


def _selection_sheet() -> Sheet:
    generations = [generation for generation in map(store().get, ids_arg(MAX_SELECTED)) if generation]
    if not generations:
        abort(400, "Choose at least one generation for the contact sheet.")
    prompts = {generation.prompt for generation in generations}
    title = prompts.pop() if len(prompts) == 1 else f"{len(generations)} generations from the history"
    cells = [_cell(f"#{g.id} · {g.server} · {g.model}", g, caption=g.prompt if title != g.prompt else "")
             for g in generations]
    return Sheet(title, time.time(), [cell.label for cell in cells], [], cells, [g.request for g in generations])


def _cell(label: str, generation: StoredGeneration | None, caption: str = "") -> SheetCell:
    if generation is None:
        return SheetCell(label, None, "Not run.")
    shown = generation.shown_images
    if not shown:
        return SheetCell(label, None, generation.error.message if generation.error else f"No image ({generation.status}).")
    found = store().image_file(shown[0].sha256)
    return SheetCell(label, found[0] if found else None, caption or ("" if found else "The image file is missing."))


def _png(sheet: Sheet, name: str) -> Response:
    response = Response(render_png(sheet), mimetype="image/png")
    response.headers["Content-Disposition"] = _disposition(f"{name}.png")
    return response


def _html(sheet: Sheet, name: str) -> Response:
    images: list[dict[str, Any]] = [{"label": cell.label, "note": cell.note, "src": inline_image(cell.image)}
                                    for cell in sheet.cells]
    rows = [images[index:index + sheet.per_row] for index in range(0, len(images), sheet.per_row)]
    page = render_template("contact_sheet.html", sheet=sheet, grid=rows)
    response = Response(page, mimetype="text/html")
    response.headers["Content-Security-Policy"] = SHEET_POLICY
    response.headers["Content-Disposition"] = _disposition(f"{name}.html")
    return response


def _disposition(file_name: str) -> str:
    """Shown in the tab (a presenter clicking wants to see it), or saved when the link asks for `download=1`."""
    how = "attachment" if request.args.get("download") == "1" else "inline"
    return f'{how}; filename="{file_name}"'

