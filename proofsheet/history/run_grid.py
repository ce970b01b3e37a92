"""Reading a run for the eye: its grid of prompts × targets a page of prompts at a time (filtered by status, target
or category), the categories it holds, a few covers for its History entry, and the runs to show among the History's
generations. Every function takes the calling thread's connection; none writes.

A run may hold 10,000 cells: each query reads one run's cells through the run_cells indexes, never the generations
table beyond the cells of the page shown.
"""
from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any, Iterator

PROMPTS_PER_PAGE = 25
COVERS = 4  # thumbnails on a run's History card
# A cell with what the grid shows of its generation: the first image kept, and how long the call took.
CELL_ROW = (
    "SELECT c.id, c.prompt_index, c.target_index, c.repeat, c.position, c.server, c.fields_json, c.category, "
    "c.status, c.retried, c.generation_id, c.error_kind, c.error_message, c.cost_usd, c.finished_at, g.elapsed, "
    "(SELECT i.sha256 FROM images i WHERE i.generation_id = c.generation_id AND i.sha256 IS NOT NULL "
    " ORDER BY i.position LIMIT 1) AS cover "
    "FROM run_cells c LEFT JOIN generations g ON g.id = c.generation_id"
)
# The grid's status filter: "pending" is every cell still to come, whether waiting or being sent.
STATUS_FILTER = {"done": ("done",), "failed": ("failed",), "pending": ("pending", "sending"),
                 "cancelled": ("cancelled",)}


@dataclass(frozen=True)
class GridFilters:
    """Which cells the grid shows: one status (of STATUS_FILTER), one target (its index), one category."""

    status: str = ""
    target: int | None = None
    category: str = ""

    def to_args(self) -> dict[str, Any]:
        """As GET parameters, for the links that keep them (paging, the sheet, the export)."""
        args: dict[str, Any] = {"status": self.status, "target": self.target, "category": self.category}
        return {name: value for name, value in args.items() if value not in ("", None)}


@dataclass
class GridRow:
    prompt_index: int
    prompt: str
    category: str | None
    cells: dict[int, list[dict[str, Any]]]  # target index -> the cells of each repeat, in order

    @property
    def generation_ids(self) -> list[int]:
        """The generations that gave an image, target by target: what the row's slideshow shows."""
        return [cell["generation_id"] for target in sorted(self.cells) for cell in self.cells[target]
                if cell["status"] == "done" and cell["generation_id"]]


@dataclass(frozen=True)
class RunPlace:
    """Where a run's generation sits: its run and the prompt row of its cell."""

    run_id: int
    run_name: str
    prompt_index: int

    @property
    def page(self) -> int:
        """The page of the run's grid, unfiltered, that shows the cell."""
        return self.prompt_index // PROMPTS_PER_PAGE + 1


def place_of(db: sqlite3.Connection, generation_id: int) -> RunPlace | None:
    """The run and grid row a generation was made for (through run_cells.generation_id), if a run made it."""
    row = db.execute("SELECT c.run_id, r.name, c.prompt_index FROM run_cells c JOIN runs r ON r.id = c.run_id "
                     "WHERE c.generation_id = ? LIMIT 1", (generation_id,)).fetchone()
    return RunPlace(*row) if row else None


def grid_page(db: sqlite3.Connection, run_id: int, filters: GridFilters, page: int = 1,
              per_page: int = PROMPTS_PER_PAGE) -> tuple[list[GridRow], int]:
    """One page of the grid: the prompt rows that have a cell matching the filters (only those cells), and how
    many prompt rows match in all."""
    where, params = _where(run_id, filters)
    total = db.execute(f"SELECT COUNT(DISTINCT c.prompt_index) FROM run_cells c WHERE {where}", params).fetchone()[0]
    indexes = [row[0] for row in db.execute(
        f"SELECT DISTINCT c.prompt_index FROM run_cells c WHERE {where} ORDER BY c.prompt_index LIMIT ? OFFSET ?",
        [*params, per_page, (page - 1) * per_page])]
    if not indexes:
        return [], total
    rows: dict[int, GridRow] = {}
    for row in db.execute(f"{CELL_ROW} WHERE {where} AND c.prompt_index IN ({', '.join('?' * len(indexes))}) "
                          "ORDER BY c.prompt_index, c.target_index, c.repeat", [*params, *indexes]):
        cell = grid_cell(row)
        found = rows.setdefault(row["prompt_index"], GridRow(row["prompt_index"], cell["prompt"], row["category"], {}))
        found.cells.setdefault(row["target_index"], []).append(cell)
    return [rows[index] for index in indexes], total


def grid_cell(row: sqlite3.Row) -> dict[str, Any]:
    """A cell as the grid and the export show it."""
    fields = json.loads(row["fields_json"])
    return {"id": row["id"], "position": row["position"], "prompt_index": row["prompt_index"],
            "target_index": row["target_index"], "repeat": row["repeat"], "server": row["server"],
            "model": fields.get("model"), "prompt": fields.get("prompt", ""), "category": row["category"],
            "status": row["status"], "retried": bool(row["retried"]), "generation_id": row["generation_id"],
            "error": {"kind": row["error_kind"], "message": row["error_message"]} if row["error_kind"] else None,
            "cost_usd": row["cost_usd"], "finished_at": row["finished_at"], "cover": row["cover"],
            "elapsed_ms": round(row["elapsed"] * 1000) if row["elapsed"] is not None else None}


def every_cell(db: sqlite3.Connection, run_id: int, batch: int = 500) -> Iterator[dict[str, Any]]:
    """All a run's cells in queue order, read a batch at a time (an export of 10,000 cells holds one batch)."""
    last = -1
    while True:
        rows = db.execute(f"{CELL_ROW} WHERE c.run_id = ? AND c.position > ? ORDER BY c.position LIMIT ?",
                          (run_id, last, batch)).fetchall()
        for row in rows:
            yield grid_cell(row)
        if len(rows) < batch:
            return
        last = rows[-1]["position"]


def categories(db: sqlite3.Connection, run_id: int, limit: int = 200) -> list[str]:
    return [row[0] for row in db.execute(
        "SELECT DISTINCT category FROM run_cells WHERE run_id = ? AND category IS NOT NULL ORDER BY category LIMIT ?",
        (run_id, limit))]


def covers(db: sqlite3.Connection, run_id: int, limit: int = COVERS) -> list[str]:
    """The first images the run made (their sha256), in queue order."""
    return [row[0] for row in db.execute(
        "SELECT (SELECT i.sha256 FROM images i WHERE i.generation_id = c.generation_id AND i.sha256 IS NOT NULL "
        "ORDER BY i.position LIMIT 1) AS cover FROM run_cells c WHERE c.run_id = ? AND c.status = 'done' "
        "ORDER BY c.position LIMIT ?", (run_id, limit)) if row[0]]


def runs_between(db: sqlite3.Connection, after: float | None, up_to: float | None, limit: int = 24) -> list[int]:
    """The runs started after `after` and at or before `up_to` (None: no bound), newest first: those the History
    shows among a page of generations of that time."""
    return [row[0] for row in db.execute(
        "SELECT id FROM runs WHERE (? IS NULL OR created_at > ?) AND (? IS NULL OR created_at <= ?) "
        "ORDER BY id DESC LIMIT ?", (after, after, up_to, up_to, limit))]


def run_count(db: sqlite3.Connection) -> int:
    """How many runs the History holds: each is one card among its generations."""
    return db.execute("SELECT COUNT(*) FROM runs").fetchone()[0]


def listed_before(db: sqlite3.Connection, generation_id: int) -> float | None:
    """When the History's generation listed just before (newer than) this one was made; None for the newest."""
    row = db.execute("SELECT created_at FROM generations WHERE id > ? AND via <> 'run' ORDER BY id LIMIT 1",
                     (generation_id,)).fetchone()
    return row[0] if row else None


def _where(run_id: int, filters: GridFilters) -> tuple[str, list[Any]]:
    clauses, params = ["c.run_id = ?"], [run_id]
    statuses = STATUS_FILTER.get(filters.status)
    if statuses:
        clauses.append(f"c.status IN ({', '.join('?' * len(statuses))})")
        params.extend(statuses)
    if filters.target is not None:
        clauses.append("c.target_index = ?")
        params.append(filters.target)
    if filters.category:
        clauses.append("c.category = ?")
        params.append(filters.category)
    return " AND ".join(clauses), params
