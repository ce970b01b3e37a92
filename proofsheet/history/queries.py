"""Reading the history: one generation whole, the gallery's pages and filters, the models and servers it holds, and
what it has cost. Every function takes the calling thread's connection; none writes.
"""
from __future__ import annotations

import json
import sqlite3
from typing import Any

from proofsheet.history.prices import PriceTable
from proofsheet.history.records import GalleryPage, StoredGeneration, StoredInput, generation_from_row, image_from_row

MAX_ID = 2**63 - 1
GALLERY_ROW = (
    "SELECT g.id, g.created_at, g.status, g.prompt, g.model, g.response_format, g.elapsed, g.error_message, "
    "g.group_id, g.via, g.server, g.starred, "
    "(SELECT COUNT(*) FROM images i WHERE i.generation_id = g.id AND i.sha256 IS NOT NULL) AS image_count, "
    "(SELECT i.sha256 FROM images i WHERE i.generation_id = g.id AND i.sha256 IS NOT NULL "
    " ORDER BY i.position LIMIT 1) AS cover, "
    # A contender of a blind vote not yet judged: the history names neither its model nor its server until then.
    "(SELECT r.id FROM arena_rounds r WHERE r.group_id = g.group_id AND r.vote IS NULL) AS blind_round "
    "FROM generations g"
)


def is_id(value: Any) -> bool:
    """A row id SQLite can hold: anything else (a 20-digit number from a URL) simply names nothing."""
    return isinstance(value, int) and 0 < value <= MAX_ID


def generation(db: sqlite3.Connection, generation_id: int) -> StoredGeneration | None:
    """One generation with its images, raw-body preview, inputs and edits, as its rows say."""
    row = db.execute("SELECT * FROM generations WHERE id=?", (generation_id,)).fetchone()
    if row is None:
        return None
    found = generation_from_row(row)
    found.images = [image_from_row(image) for image in db.execute(
        "SELECT * FROM images WHERE generation_id=? ORDER BY position", (generation_id,))]
    response = db.execute("SELECT preview, body_is_json, body_type FROM responses WHERE generation_id=?",
                          (generation_id,)).fetchone()
    if response:
        found.raw_preview, found.raw_is_json, found.body_type = response[0], bool(response[1]), response[2]
    found.inputs = [StoredInput(row["role"], row["position"], row["sha256"], row["format"], row["width"],
                                row["height"], row["bytes"]) for row in db.execute(
        "SELECT * FROM inputs WHERE generation_id=? ORDER BY role, position", (generation_id,))]
    found.edits = [row[0] for row in db.execute(
        "SELECT id FROM generations WHERE source_generation=? ORDER BY id", (generation_id,))]
    return found


def status(db: sqlite3.Connection, generation_id: int) -> str:
    row = db.execute("SELECT status FROM generations WHERE id=?", (generation_id,)).fetchone()
    return row["status"] if row else "deleted"


def image_row(db: sqlite3.Connection, sha256: str) -> sqlite3.Row | None:
    """The (sha256, format) of a kept image, made or sent as an edit's input; None when no row names it."""
    return db.execute("SELECT sha256, format FROM images WHERE sha256=? UNION ALL SELECT sha256, format FROM "
                      "inputs WHERE sha256=? LIMIT 1", (sha256, sha256)).fetchone()


def gallery(db: sqlite3.Connection, page: int = 1, per_page: int = 24, query: str = "", model: str = "",
            outcome: str = "", server: str = "", starred: bool = False) -> GalleryPage:
    where, params = _gallery_filter(query, model, outcome, server, starred)
    total = db.execute(f"SELECT COUNT(*) FROM generations g {where}", params).fetchone()[0]
    rows = db.execute(f"{GALLERY_ROW} {where} ORDER BY g.id DESC LIMIT ? OFFSET ?",
                      (*params, per_page, (page - 1) * per_page)).fetchall()
    return GalleryPage([dict(row) for row in rows], total, page, per_page)


def gallery_row(db: sqlite3.Connection, generation_id: int) -> dict[str, Any] | None:
    """One generation as the gallery lists it, for a page that shows the history live."""
    if not is_id(generation_id):
        return None
    row = db.execute(f"{GALLERY_ROW} WHERE g.id = ?", (generation_id,)).fetchone()
    return dict(row) if row else None


def models(db: sqlite3.Connection) -> list[str]:
    return [row[0] for row in db.execute("SELECT DISTINCT model FROM generations ORDER BY model")]


def servers(db: sqlite3.Connection) -> list[str]:
    """The names of the servers the history holds generations from."""
    return [row[0] for row in db.execute("SELECT DISTINCT server FROM generations ORDER BY server")]


def recent_models(db: sqlite3.Connection, limit: int = 8, server: str | None = None) -> list[str]:
    """Models that gave an image lately (on that server): a typo that failed is not offered again."""
    return [row[0] for row in db.execute(
        "SELECT model FROM generations WHERE status IN ('ok', 'partial') AND (? IS NULL OR server = ?) "
        "GROUP BY model ORDER BY MAX(id) DESC LIMIT ?", (server, server, limit))]


class Spending:
    """The estimated cost of the whole history, and how many generations it could price.

    Worked out again only when the history or the price table changed: every gallery page shows it.
    """

    def __init__(self, prices: PriceTable) -> None:
        self.prices = prices
        self._last: tuple[tuple[Any, ...], tuple[float, int]] | None = None  # the last spending, and for what

    def total(self, db: sqlite3.Connection) -> tuple[float, int]:
        key = (*db.execute("SELECT COUNT(*), MAX(id), SUM(status IN ('ok', 'partial')) FROM generations"
                           ).fetchone(), self.prices.version())
        if self._last is None or self._last[0] != key:
            self._last = (key, self._add_up(db))
        return self._last[1]

    def _add_up(self, db: sqlite3.Connection) -> tuple[float, int]:
        total, priced = 0.0, 0
        for row in db.execute(
                "SELECT g.model, g.request_json, g.usage_json, (SELECT COUNT(*) FROM images i WHERE "
                "i.generation_id = g.id AND i.sha256 IS NOT NULL) AS shown FROM generations g "
                "WHERE g.status IN ('ok', 'partial')"):
            cost = self.prices.estimate(row[0], json.loads(row[1]), json.loads(row[2]) if row[2] else None, row[3])
            if cost:
                total, priced = total + cost.usd, priced + 1
        return total, priced


def _gallery_filter(query: str, model: str, outcome: str, server: str = "", starred: bool = False
                    ) -> tuple[str, list[Any]]:
    clauses, params = ["g.starred = 1"] if starred else [], []
    if server:
        clauses.append("g.server = ?")
        params.append(server)
    if query:
        clauses.append("g.prompt LIKE ? ESCAPE '\\'")
        params.append("%" + query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%")
    if model:
        clauses.append("g.model = ?")
        params.append(model)
    if outcome == "succeeded":
        clauses.append("g.status IN ('ok', 'partial')")
    elif outcome == "failed":
        clauses.append("g.status NOT IN ('ok', 'partial', 'running')")
    return ("WHERE " + " AND ".join(clauses)) if clauses else "", params
