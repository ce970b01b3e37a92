"""What the run pages, the sheets and the History share about a run's grid: its filters read from the query, a page
of it ready for the template, its contact sheet, and a run's card in the History. Not a blueprint.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import request

from proofsheet.contact_sheet import Sheet, SheetCell
from proofsheet.history import run_grid
from proofsheet.history.run_grid import STATUS_FILTER, GridFilters, GridRow
from proofsheet.history.runs import Run
from proofsheet.running.runs import progress
from proofsheet.web.context import page_number, run_book, store

MAX_CATEGORY = 60


@dataclass
class GridPage:
    run: Run
    filters: GridFilters
    rows: list[GridRow]
    total: int  # prompt rows matching the filters
    page: int
    columns: list[tuple[int, dict[str, Any]]]  # (target index, target) of the columns shown
    categories: list[str]

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // run_grid.PROMPTS_PER_PAGE))

    @property
    def generation_ids(self) -> list[int]:
        return [generation_id for row in self.rows for generation_id in row.generation_ids]


def grid_filters(targets: int) -> GridFilters:
    """The grid's filters from the query; anything unknown (a status, a target past the last) is left out."""
    status = request.args.get("status", "")
    target = request.args.get("target", "")
    index = int(target) if target.isascii() and target.isdigit() and len(target) < 4 else None
    return GridFilters(status if status in STATUS_FILTER else "",
                       index if index is not None and index < targets else None,
                       request.args.get("category", "").strip()[:MAX_CATEGORY])


def grid_page(run: Run) -> GridPage:
    """The page of the grid the query asks for."""
    filters = grid_filters(len(run.targets))
    db = store().db
    rows, total = run_grid.grid_page(db, run.id, filters, page_number())
    columns = [(index, target) for index, target in enumerate(run.targets)
               if filters.target is None or filters.target == index]
    return GridPage(run, filters, rows, total, page_number(), columns, run_grid.categories(db, run.id))


def target_label(target: dict[str, Any]) -> str:
    return f"{target.get('server')} · {target.get('model')}"


def grid_sheet(grid: GridPage) -> Sheet:
    """The contact sheet of the grid page shown: its prompts as rows, its targets as columns, each cell's first
    repeat (a failed cell with its message)."""
    cells, requests = [], []
    for row in grid.rows:
        for index, target in grid.columns:
            shown = (row.cells.get(index) or [None])[0]
            cells.append(_sheet_cell(target_label(target), shown))
            requests.append({"prompt": row.prompt, **{k: v for k, v in target.items() if k != "server"}})
    labels = [row.prompt if len(row.prompt) <= 80 else row.prompt[:79] + "…" for row in grid.rows]
    title = f"Run #{grid.run.id}: {grid.run.name} — page {grid.page} of {grid.pages}"
    return Sheet(title, grid.run.created_at, [target_label(target) for _, target in grid.columns], labels, cells,
                 requests)


def _sheet_cell(label: str, cell: dict[str, Any] | None) -> SheetCell:
    if cell is None:
        return SheetCell(label, None, "Not in this filter.")
    if cell["status"] != "done" or not cell["cover"]:
        return SheetCell(label, None, cell["error"]["message"] if cell["error"] else cell["status"].capitalize())
    found = store().image_file(cell["cover"])
    return SheetCell(label, found[0] if found else None, "" if found else "The image file is missing.")


def run_cards(after: float | None, up_to: float | None) -> list[dict[str, Any]]:
    """The runs started in a stretch of the History's time, each as its card shows it: progress and covers."""
    cards = [run_card(run_id) for run_id in run_grid.runs_between(store().db, after, up_to)]
    return [card for card in cards if card]


def run_card(run_id: int) -> dict[str, Any] | None:
    """A run as its History card shows it: its progress and its first images; None when there is no such run."""
    found = progress(run_book(), run_id)
    return {**found, "run": True, "covers": run_grid.covers(store().db, run_id)} if found else None
