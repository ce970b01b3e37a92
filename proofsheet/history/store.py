"""The history: every generation in SQLite (WAL), every image a file on disk named by its content hash, every raw
response body a file named by its generation.

`Store` keeps the life of a generation: recorded as running before the server is asked, then finished, failed,
cancelled, starred or deleted, and read back. Files are written first (temporary name, then rename) and the row is
committed after, so a crash at any moment leaves neither a half record nor a record pointing at a missing file.
Thumbnails are made from the kept images in the background, or on first request: they can always be made again.
The database is in db.py, the files in files.py, the gallery's and other reading in queries.py.
"""
from __future__ import annotations

import json
import logging
import os
import sqlite3
import time
from pathlib import Path
from typing import Any, BinaryIO, Iterable

from proofsheet.history import queries
from proofsheet.history.db import DB_NAME, FOLDER_MARK, Database, HistoryUnavailable, open_database
from proofsheet.history.export import export_zip
from proofsheet.history.files import Files, StorageError, Writing, storage_problem
from proofsheet.history.lock import holder_text
from proofsheet.history.prices import PriceTable
from proofsheet.history.queries import is_id
from proofsheet.history.records import GalleryPage, Group, StoredGeneration
from proofsheet.results import GenerationResult, Problem, VerifiedImage, preview_json

log = logging.getLogger(__name__)

# Imported from here by the rest of Proofsheet: the history's surface.
__all__ = ["FOLDER_MARK", "HistoryUnavailable", "StorageError", "Store", "storage_problem"]


class Store:
    def __init__(self, folder: str | os.PathLike[str], lock: bool = True, owner: bool = True,
                 thumbnails_ahead: bool = True) -> None:
        """Open the history in `folder`; raises HistoryUnavailable or FolderInUse with a message for a person.

        Nothing on disk is changed before the database has been read and found whole. Not the `owner` (the run
        workers, beside the web process that opened it): no lock, check, migration or recovery. Without
        `thumbnails_ahead`, a thumbnail is made when first asked for, not in the background soon after keeping."""
        self.folder = Path(folder)
        self.files = Files(self.folder)
        self.images_dir, self.thumbs_dir = self.files.images_dir, self.files.thumbs_dir
        self.responses_dir, self.trash_dir = self.files.responses_dir, self.files.trash_dir
        self.db_path, self.thumbnails_ahead = self.folder / DB_NAME, thumbnails_ahead
        self.database = Database(self.db_path)
        self.notice: str | None = None  # something the person should know about this history, shown in the gallery
        self._unsaved: dict[int, Problem] = {}  # generations whose final state could not be written (disk full)
        self.files.take_folder(holder_text() if lock and owner else None)
        self.prices = PriceTable(self.folder)
        self._spending = queries.Spending(self.prices, self.database)
        try:
            self.notice = open_database(self.database, self.files) if owner else None
        except HistoryUnavailable:
            self.close()
            raise

    def close(self) -> None:
        """Close the database and give up the folder lock (for tests and a clean shutdown)."""
        self.files.close()
        self.database.release_connection()
        with self.files.lock:  # a result being kept is finished first: never close a connection in mid-write
            self.database.close()
        self.files.release_folder()

    def describe_holder(self, address: str) -> None:
        self.files.folder_lock.describe(holder_text(address))

    # -- the database, for the books kept beside the history (arena votes, saved prompts) -----------------------

    @property
    def db(self) -> sqlite3.Connection:
        return self.database.connection

    def release_connection(self) -> None:
        """Close this thread's connection; for short-lived threads, so descriptors do not pile up."""
        self.database.release_connection()

    def schema_version(self) -> int:
        return self.database.schema_version()

    def writing(self) -> Writing:
        """A failed write (disk full, read-only folder) raises StorageError saying why."""
        return Writing(self.folder)

    # -- writing ------------------------------------------------------------------------------------------------

    def begin(self, request: dict[str, Any], endpoint: str, client_ref: str | None = None,
              group: tuple[int, int] | None = None, kind: str = "generation",
              source: tuple[int, int] | None = None, via: str = "proofsheet", prompt: str | None = None,
              model: str | None = None, server: str = "default") -> int:
        """Record a generation as running before the server is asked, so that it is kept whatever happens.

        `group` is (group id, position in its grid) for a cell of a comparison; `source` is (generation id, image
        index) for an edit that started from a kept image.
        """
        group_id, group_position = group or (None, None)
        source_generation, source_image = source or (None, None)
        with self.writing():
            cursor = self.db.execute(
                "INSERT INTO generations (created_at, status, prompt, model, response_format, request_json, endpoint, "
                "client_ref, group_id, group_position, kind, source_generation, source_image, via, server) "
                "VALUES (?, 'running', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (time.time(), request["prompt"] if prompt is None else prompt,
                 request["model"] if model is None else model, _text_or_none(request.get("response_format")),
                 json.dumps(request, ensure_ascii=False), endpoint, client_ref, group_id, group_position, kind,
                 source_generation, source_image, via, server),
            )
        return int(cursor.lastrowid)

    def add_inputs(self, generation_id: int, images: list[VerifiedImage], mask: VerifiedImage | None) -> None:
        """An edit's images and mask, kept before the server is asked."""
        inputs = [("image", position, image) for position, image in enumerate(images)]
        if mask is not None:
            inputs.append(("mask", 0, mask))
        with self.files.lock, self.writing():
            rows = [(generation_id, role, position, self.files.write_image(image), image.format, image.width,
                     image.height, image.byte_count) for role, position, image in inputs]
            self.db.executemany("INSERT INTO inputs (generation_id, role, position, sha256, format, width, height, "
                                "bytes) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)

    def create_group(self, prompt: str, cells: list[dict[str, Any]], layout: dict[str, Any] | None = None) -> int:
        """A comparison: one prompt, several cells (models, seeds, prompts...), shown as one grid.

        `layout` names the grid's columns and rows ({"columns": [...], "rows": [...], "row_axis": ...}); cell
        positions run along the rows.
        """
        with self.writing():
            cursor = self.db.execute("INSERT INTO groups (created_at, prompt, cells_json, layout_json) VALUES (?, ?, ?, ?)",
                                     (time.time(), prompt, json.dumps(cells, ensure_ascii=False),
                                      json.dumps(layout, ensure_ascii=False) if layout else None))
        return int(cursor.lastrowid)

    def finish(self, generation_id: int, result: GenerationResult) -> str:
        """Keep the result: files first, then one transaction for the rows. Returns the final status.

        When the data folder cannot take it (disk full, read-only), the generation ends as failed with that said,
        its partial files removed: never left running.
        """
        try:
            return self._keep(generation_id, result)
        except (OSError, sqlite3.Error) as exc:
            problem = storage_problem(exc, self.folder)
            log.error("Generation %d could not be kept: %s", generation_id, problem.message)
            self.files.remove_response(generation_id)
            self.fail(generation_id, problem)
            return "failed"

    def fail(self, generation_id: int, problem: Problem) -> None:
        """End a running generation as failed. A small write that may still fit a full disk; if not, this process
        remembers it (and a restart says interrupted)."""
        self._unsaved[generation_id] = problem
        try:
            self.db.execute("UPDATE generations SET status='failed', error_kind=?, error_message=? "
                            "WHERE id=? AND status='running'", (problem.kind, problem.message, generation_id))
        except sqlite3.Error:
            pass

    def _keep(self, generation_id: int, result: GenerationResult) -> str:
        status = _status_of(result)
        with self.files.lock:
            current = queries.status(self.db, generation_id)
            if current != "running":
                return current  # cancelled or deleted while waiting: the late answer is not kept
            for item in result.images:
                item.sha256 = self.files.write_image(item.image)
            if result.raw_body:
                self.files.write_response(generation_id, result.raw_body, result.images)
            with self.database.transaction():
                if queries.status(self.db, generation_id) != "running":
                    self.files.remove_response(generation_id)
                    return queries.status(self.db, generation_id)
                _write_rows(self.db, generation_id, result, status)
        for item in result.images if self.thumbnails_ahead else ():
            self.files.later(self.thumbnail_file, item.sha256)
        return status

    def running_id(self, client_ref: str) -> int | None:
        row = self.db.execute("SELECT id FROM generations WHERE client_ref=? AND status='running'",
                              (client_ref,)).fetchone()
        return int(row["id"]) if row else None

    def cancel(self, generation_id: int, message: str = "Cancelled while waiting for the image server.") -> bool:
        """Mark a running generation cancelled; its late answer will not be kept."""
        with self.writing():
            return self.db.execute("UPDATE generations SET status='cancelled', error_kind='cancelled', "
                                   "error_message=? WHERE id=? AND status='running'",
                                   (message, generation_id)).rowcount > 0

    def delete(self, generation_id: int) -> bool:
        if not is_id(generation_id):
            return False
        with self.files.lock, self.writing():
            shas = [row[0] for row in self.db.execute(
                "SELECT sha256 FROM images WHERE generation_id=? AND sha256 IS NOT NULL", (generation_id,))]
            self.files.remove_response(generation_id)
            shas += [row[0] for row in self.db.execute("SELECT sha256 FROM inputs WHERE generation_id=?",
                                                       (generation_id,))]
            self._spending.forget(self.db, generation_id)
            deleted = self.db.execute("DELETE FROM generations WHERE id=?", (generation_id,)).rowcount > 0
            self.files.remove_unnamed_images(self.db, set(shas))
        return deleted

    def star(self, generation_id: int, starred: bool | None = None) -> bool | None:
        """Star (or unstar; by default toggle) a generation: its new state, or None when there is no such one."""
        if not is_id(generation_id):
            return None
        with self.writing():
            changed = self.db.execute("UPDATE generations SET starred = CASE WHEN ? IS NULL THEN 1 - starred ELSE ? END "
                                      "WHERE id=?", (starred, starred, generation_id)).rowcount
        if not changed:
            return None
        return bool(self.db.execute("SELECT starred FROM generations WHERE id=?", (generation_id,)).fetchone()[0])

    # -- reading ------------------------------------------------------------------------------------------------

    def get(self, generation_id: int) -> StoredGeneration | None:
        generation = queries.generation(self.db, generation_id) if is_id(generation_id) else None
        if generation is None:
            return None
        if generation.status == "running" and generation_id in self._unsaved:
            generation.status, generation.error = "failed", self._unsaved[generation_id]
        generation.cost = self.prices.estimate(generation.model, generation.request, generation.usage,
                                               len(generation.shown_images))
        return generation

    def input_images(self, generation_id: int) -> tuple[list[VerifiedImage], VerifiedImage | None] | Problem:
        """An edit's kept images and mask, read back and verified, to send again."""
        return self.files.read_inputs(self.get(generation_id).inputs)

    def group_exists(self, group_id: int) -> bool:
        return is_id(group_id) and self.db.execute("SELECT 1 FROM groups WHERE id=?", (group_id,)).fetchone() is not None

    def group(self, group_id: int) -> Group | None:
        if not is_id(group_id):
            return None
        row = self.db.execute("SELECT * FROM groups WHERE id=?", (group_id,)).fetchone()
        if row is None:
            return None
        ids = [r[0] for r in self.db.execute(
            "SELECT id FROM generations WHERE group_id=? ORDER BY group_position, id", (group_id,))]
        cells = json.loads(row["cells_json"])
        generations = [generation for generation in map(self.get, ids) if generation] if ids else borrowed(self, cells)
        return Group(row["id"], row["created_at"], row["prompt"], cells, generations,
                     json.loads(row["layout_json"]) if row["layout_json"] else None)

    def raw_body(self, generation_id: int) -> bytes | None:
        """The response body exactly as received (None when there is none, or a file it needs is missing)."""
        return self.files.raw_body(self.db, generation_id) if is_id(generation_id) else None

    def image_file(self, sha256: str) -> tuple[Path, str] | None:
        """The file of a stored image and its verified content type, found through the database."""
        return self.files.image_file(self.db, sha256)

    def thumbnail_file(self, sha256: str) -> Path | None:
        """The image's thumbnail, made now if the background has not made it yet; None if it cannot be made."""
        return self.files.thumbnail_file(self.db, sha256)

    # -- the gallery and the forms' choices (queries.py), spending, export --------------------------------------

    def gallery(self, page: int = 1, per_page: int = 24, query: str = "", model: str = "", outcome: str = "",
                server: str = "", starred: bool = False) -> GalleryPage:
        return queries.gallery(self.db, page, per_page, query, model, outcome, server, starred)

    def gallery_row(self, generation_id: int) -> dict[str, Any] | None:
        return queries.gallery_row(self.db, generation_id)

    def models(self) -> list[str]:
        return queries.models(self.db)

    def servers(self) -> list[str]:
        return queries.servers(self.db)

    def recent_models(self, limit: int = 8, server: str | None = None) -> list[str]:
        return queries.recent_models(self.db, limit, server)

    def spending(self) -> tuple[float, int]:
        """The estimated cost of the whole history, and how many generations it could price."""
        return self._spending.total(self.db)

    def export_zip(self, generation_ids: Iterable[int], out: BinaryIO) -> None:
        export_zip(self, generation_ids, out)


def _write_rows(db: sqlite3.Connection, generation_id: int, result: GenerationResult, status: str) -> None:
    """A finished generation's rows: its outcome, one row per image item, and its raw body's preview."""
    error = result.error
    db.execute(
        "UPDATE generations SET status=?, upstream_status=?, provider=?, elapsed=?, error_kind=?, "
        "error_message=?, notes_json=?, usage_json=?, echo_json=? WHERE id=?",
        (status, result.status, result.provider, result.elapsed, error.kind if error else None,
         error.message if error else None,
         json.dumps([note.to_dict() for note in result.notes], ensure_ascii=False),
         json.dumps(result.usage) if result.usage else None, json.dumps(result.echo), generation_id),
    )
    db.executemany(
        "INSERT INTO images (generation_id, position, source, original_url, revised_prompt, sha256, format, "
        "width, height, bytes, error_kind, error_message) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [(generation_id, item.index, item.source, item.original_url, item.revised_prompt, item.sha256,
          item.image.format if item.image else None, item.image.width if item.image else None,
          item.image.height if item.image else None, item.image.byte_count if item.image else None,
          item.problem.kind if item.problem else None, item.problem.message if item.problem else None)
         for item in result.items],
    )
    if result.raw_body:
        db.execute("INSERT INTO responses (generation_id, body_is_json, preview, body_type) VALUES (?, ?, ?, ?)",
                   (generation_id, result.raw_is_json, preview_json(result.raw, result.raw_is_json), result.body_type))


def _text_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _status_of(result: GenerationResult) -> str:
    if result.images:
        return "partial" if result.item_problems else "ok"
    return "failed"


def borrowed(store: Store, cells: list[dict[str, Any]]) -> list[StoredGeneration]:
    """A group that owns no generations, a run's tournament pair: the generations its cells name ("generation_id"),
    made by the run and shown here, not moved; each placed at its cell (a deleted one left out)."""
    found = []
    for position, cell in enumerate(cells):
        generation = store.get(cell["generation_id"]) if is_id(cell.get("generation_id")) else None
        if generation:
            generation.group_position = position
            found.append(generation)
    return found
