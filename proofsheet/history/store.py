"""The history: every generation in SQLite (WAL), every image a file on disk named by its content hash, every raw
response body a file named by its generation.

Files are written first (temporary name, then rename) and the row is committed after, so a crash at any moment
leaves neither a half record nor a record pointing at a missing file. Thumbnails are made from the kept images in the
background, or on first request: they can always be made again.
"""
from __future__ import annotations

import errno
import hashlib
import json
import logging
import os
import secrets
import sqlite3
import threading
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, BinaryIO, Iterable

from proofsheet.history.lock import DataFolderLock, holder_text
from proofsheet.history.migrations import MIGRATIONS
from proofsheet.history.prices import PriceTable
from proofsheet.history.records import (EXTENSIONS, MIMES, GalleryPage, Group, StoredGeneration, StoredInput,
                                        generation_from_row, image_from_row)
from proofsheet.images import encode_base64, make_thumbnail, verify_image
from proofsheet.results import GenerationResult, ImageItem, Problem, VerifiedImage, preview_json

log = logging.getLogger(__name__)

FOLDER_MARK = "history.id"
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
MAX_ID = 2**63 - 1
SPARSE_MARK = b"\x00"  # never in JSON or event-stream text: what stands around an image's name in a sparse body


class HistoryUnavailable(Exception):
    """The history cannot be opened; the message is one paragraph for the person starting Proofsheet."""


class StorageError(Exception):
    """Writing to the data folder failed (disk full, read-only); `problem` says so in a person's words."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.message)
        self.problem = problem


def storage_problem(exc: BaseException, folder: Path) -> Problem:
    """A failed write to the data folder, in words: full, not writable, or what the system said."""
    text = str(exc).lower()
    code = getattr(exc, "errno", None)
    if code in (errno.ENOSPC, errno.EDQUOT) or "full" in text:
        return Problem("disk_full", f"The disk holding the data folder ({folder}) is full, so this could not be "
                                    "kept. Free some space there and try again.")
    if code in (errno.EROFS, errno.EACCES, errno.EPERM) or "readonly" in text or "read-only" in text:
        return Problem("not_writable", f"The data folder ({folder}) cannot be written to (it is read-only or "
                                       "belongs to another user), so this could not be kept.")
    return Problem("storage_failed", f"Writing to the data folder ({folder}) failed ({exc}), so this could not be "
                                     "kept. Check the disk that holds it.")


class Store:
    def __init__(self, folder: str | os.PathLike[str], lock: bool = True) -> None:
        """Open the history in `folder`; raises HistoryUnavailable or FolderInUse with a message for a person.

        Nothing on disk is changed before the database has been read and found whole.
        """
        self.folder = Path(folder)
        self.images_dir = self.folder / "images"
        self.thumbs_dir = self.folder / "thumbnails"
        self.responses_dir = self.folder / "responses"
        self.trash_dir = self.folder / "trash"
        self.db_path = self.folder / "proofsheet.sqlite3"
        self.notice: str | None = None  # something the person should know about this history, shown in the gallery
        self._local = threading.local()
        # Every thread's connection, for close(); short-lived threads give theirs back with release_connection().
        self._connections: set[sqlite3.Connection] = set()
        self._connections_lock = threading.Lock()
        self._files_lock = threading.Lock()  # keeps "delete unreferenced files" apart from "write, then commit"
        self._unsaved: dict[int, Problem] = {}  # generations whose final state could not be written (disk full)
        self._spent: tuple[tuple[Any, ...], tuple[float, int]] | None = None  # the last spending, and for what
        self._lock = DataFolderLock(self.folder)
        try:
            for directory in (self.folder, self.images_dir, self.thumbs_dir, self.responses_dir):
                directory.mkdir(parents=True, exist_ok=True)
            if lock:
                self._lock.acquire(holder_text())
        except OSError as exc:
            raise HistoryUnavailable(f"Proofsheet cannot use the data folder {self.folder}: {exc.strerror or exc}. "
                                     "Make it writable, or choose another folder with PROOFSHEET_DATA.") from None
        self._thumbnailer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="thumbnails")
        self.prices = PriceTable(self.folder)
        try:
            self._open_checked()
            was_new = self.schema_version() == 0
            self.migrate()
            self._recover(was_new)
        except sqlite3.Error as exc:
            self.close()
            raise HistoryUnavailable(_unreadable_message(self.db_path, exc)) from None
        except OSError as exc:
            self.close()
            raise HistoryUnavailable(f"Proofsheet cannot write to its data folder {self.folder}: "
                                     f"{exc.strerror or exc}. Free some space or choose another folder with "
                                     "PROOFSHEET_DATA; nothing was changed.") from None

    def close(self) -> None:
        """Close every thread's connection and give up the folder lock (for tests and a clean shutdown)."""
        self._thumbnailer.shutdown(wait=True)
        self.release_connection()
        with self._files_lock:  # a result being kept is finished first: never close a connection in mid-write
            with self._connections_lock:
                connections, self._connections = list(self._connections), set()
            for connection in connections:
                connection.close()
        self._lock.release()

    def describe_holder(self, address: str) -> None:
        self._lock.describe(holder_text(address))

    # -- connection and schema ----------------------------------------------------------------------------------

    @property
    def db(self) -> sqlite3.Connection:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = sqlite3.connect(self.db_path, timeout=10, isolation_level=None, check_same_thread=False)
            connection.row_factory = sqlite3.Row
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")  # in WAL: durable across a killed process
            connection.execute("PRAGMA foreign_keys=ON")
            self._local.connection = connection
            with self._connections_lock:
                self._connections.add(connection)
        return connection

    def release_connection(self) -> None:
        """Close this thread's connection; for short-lived threads, so descriptors do not pile up."""
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
            self._local.connection = None
            with self._connections_lock:
                self._connections.discard(connection)

    def _open_checked(self) -> None:
        """Read the whole database once before anything is written: a damaged one stops start-up untouched."""
        if self.db_path.exists() and self.db_path.stat().st_size:
            check = sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True, timeout=10)
            try:
                verdict = check.execute("PRAGMA quick_check").fetchone()[0]
            finally:
                check.close()
            if verdict != "ok":
                raise sqlite3.DatabaseError(verdict)

    def schema_version(self) -> int:
        return self.db.execute("PRAGMA user_version").fetchone()[0]

    def migrate(self) -> None:
        version = self.schema_version()
        for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
            log.info("Migrating the history to schema version %d", number)
            self.db.executescript(f"BEGIN IMMEDIATE; {script}; PRAGMA user_version = {number}; COMMIT;")

    def _recover(self, was_new: bool) -> None:
        """After a crash: generations that were running are marked interrupted; stray files go to trash/.

        Files are swept only when this database is the one that owns them (its id matches the folder's mark). A new
        database beside an earlier history's files (the database was deleted, emptied or replaced) leaves every file
        where it is and says so.
        """
        self.db.execute(
            "UPDATE generations SET status='interrupted', error_kind='interrupted', error_message=? "
            "WHERE status='running'",
            ("Proofsheet stopped before the image server answered.",),
        )
        history_id = self._history_id()
        mark = self.folder / FOLDER_MARK
        marked = mark.read_text().strip() if mark.exists() else None
        kept_files = self._kept_file_count()
        if marked is None and (not was_new or not kept_files):
            _write_file(mark, history_id.encode())
            marked = history_id
        if marked != history_id:
            self._number_after_existing_responses()
            self.notice = (f"This history's database ({self.db_path.name}) is not the one that kept the "
                           f"{kept_files:,} image and response files in {self.folder}; they were left untouched. If "
                           f"you have a backup of {self.db_path.name}, stop Proofsheet and put it back.")
            log.warning(self.notice)
            return
        self._sweep_strays()

    def _number_after_existing_responses(self) -> None:
        """Response files are named by generation id: a new database numbers its generations after any it finds,
        so that it never writes over an earlier history's files."""
        numbers = [int(path.name.split(".")[0]) for path in self.responses_dir.iterdir()
                   if path.name.split(".")[0].isascii() and path.name.split(".")[0].isdigit()]
        highest = max(numbers, default=0)
        current = self.db.execute("SELECT seq FROM sqlite_sequence WHERE name='generations'").fetchone()
        if highest > (current[0] if current else 0):
            self.db.execute("DELETE FROM sqlite_sequence WHERE name='generations'")
            self.db.execute("INSERT INTO sqlite_sequence (name, seq) VALUES ('generations', ?)", (highest,))

    def _history_id(self) -> str:
        row = self.db.execute("SELECT value FROM meta WHERE key='history_id'").fetchone()
        if row:
            return row[0]
        history_id = secrets.token_hex(16)
        self.db.execute("INSERT INTO meta (key, value) VALUES ('history_id', ?)", (history_id,))
        return history_id

    def _kept_file_count(self) -> int:
        return sum(1 for directory in (self.images_dir, self.responses_dir) for path in directory.iterdir()
                   if not path.name.endswith(".tmp"))

    def _sweep_strays(self) -> None:
        """Partial temporary files are removed; whole files no row names are moved to trash/, never deleted."""
        with self._files_lock:
            known = {row[0] for row in self.db.execute("SELECT DISTINCT sha256 FROM images WHERE sha256 IS NOT NULL "
                                                       "UNION SELECT sha256 FROM inputs")}
            known.update(str(row[0]) for row in self.db.execute("SELECT generation_id FROM responses"))
            for directory in (self.images_dir, self.thumbs_dir, self.responses_dir):
                for path in directory.iterdir():
                    if path.name.endswith(".tmp"):
                        path.unlink(missing_ok=True)
                    elif path.name.split(".")[0] not in known:
                        if directory is self.thumbs_dir:
                            path.unlink(missing_ok=True)  # made from an image; can always be made again
                        else:
                            self._to_trash(path)

    def _to_trash(self, path: Path) -> None:
        target = self.trash_dir / path.parent.name
        target.mkdir(parents=True, exist_ok=True)
        os.replace(path, target / path.name)
        log.info("Moved %s, which no generation names, to %s", path.name, target)

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
        with self._writing():
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
        with self._files_lock, self._writing():
            rows = [(generation_id, role, position, _write_once(self.images_dir, image), image.format, image.width,
                     image.height, image.byte_count) for role, position, image in inputs]
            self.db.executemany("INSERT INTO inputs (generation_id, role, position, sha256, format, width, height, "
                                "bytes) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)

    def create_group(self, prompt: str, cells: list[dict[str, Any]], layout: dict[str, Any] | None = None) -> int:
        """A comparison: one prompt, several cells (models, seeds, prompts...), shown as one grid.

        `layout` names the grid's columns and rows ({"columns": [...], "rows": [...], "row_axis": ...}); cell
        positions run along the rows.
        """
        with self._writing():
            cursor = self.db.execute("INSERT INTO groups (created_at, prompt, cells_json, layout_json) VALUES (?, ?, ?, ?)",
                                     (time.time(), prompt, json.dumps(cells, ensure_ascii=False),
                                      json.dumps(layout, ensure_ascii=False) if layout else None))
        return int(cursor.lastrowid)

    def _writing(self) -> "_Writing":
        return _Writing(self.folder)

    def writing(self) -> "_Writing":
        """For the books kept beside the history (arena votes, saved prompts): a failed write says why."""
        return self._writing()

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
            self._remove_response(generation_id)
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
        with self._files_lock:
            current = self._status(generation_id)
            if current != "running":
                return current  # cancelled or deleted while waiting: the late answer is not kept
            for item in result.images:
                item.sha256 = _write_once(self.images_dir, item.image)
            if result.raw_body:
                sparse = _sparse_body(result.raw_body, result.images)
                _write_file(self._response_path(generation_id, sparse=sparse is not None),
                            result.raw_body if sparse is None else sparse)
            with self.transaction():
                if self._status(generation_id) != "running":
                    self._remove_response(generation_id)
                    return self._status(generation_id)
                self._write_rows(generation_id, result, status)
        for item in result.images:
            try:
                self._thumbnailer.submit(self.thumbnail_file, item.sha256)
            except RuntimeError:  # closing, or the interpreter is: the thumbnail is made when first asked for
                pass
        return status

    def _status(self, generation_id: int) -> str:
        row = self.db.execute("SELECT status FROM generations WHERE id=?", (generation_id,)).fetchone()
        return row["status"] if row else "deleted"

    def _response_path(self, generation_id: int, sparse: bool = False) -> Path:
        """`<id>.body` holds the body as received; `<id>.sparse` the same with each image's base64 left to the
        image file (see _sparse_body)."""
        return self.responses_dir / f"{int(generation_id)}.{'sparse' if sparse else 'body'}"

    def _remove_response(self, generation_id: int) -> None:
        for sparse in (False, True):
            self._response_path(generation_id, sparse).unlink(missing_ok=True)

    def _write_rows(self, generation_id: int, result: GenerationResult, status: str) -> None:
        error = result.error
        self.db.execute(
            "UPDATE generations SET status=?, upstream_status=?, provider=?, elapsed=?, error_kind=?, "
            "error_message=?, notes_json=?, usage_json=?, echo_json=? WHERE id=?",
            (status, result.status, result.provider, result.elapsed, error.kind if error else None,
             error.message if error else None,
             json.dumps([note.to_dict() for note in result.notes], ensure_ascii=False),
             json.dumps(result.usage) if result.usage else None, json.dumps(result.echo), generation_id),
        )
        self.db.executemany(
            "INSERT INTO images (generation_id, position, source, original_url, revised_prompt, sha256, format, "
            "width, height, bytes, error_kind, error_message) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(generation_id, item.index, item.source, item.original_url, item.revised_prompt, item.sha256,
              item.image.format if item.image else None, item.image.width if item.image else None,
              item.image.height if item.image else None, item.image.byte_count if item.image else None,
              item.problem.kind if item.problem else None, item.problem.message if item.problem else None)
             for item in result.items],
        )
        if result.raw_body:
            self.db.execute("INSERT INTO responses (generation_id, body_is_json, preview, body_type) "
                            "VALUES (?, ?, ?, ?)", (generation_id, result.raw_is_json,
                                                    preview_json(result.raw, result.raw_is_json), result.body_type))

    def running_id(self, client_ref: str) -> int | None:
        row = self.db.execute("SELECT id FROM generations WHERE client_ref=? AND status='running'",
                              (client_ref,)).fetchone()
        return int(row["id"]) if row else None

    def cancel(self, generation_id: int, message: str = "Cancelled while waiting for the image server.") -> bool:
        """Mark a running generation cancelled; its late answer will not be kept."""
        with self._writing():
            return self.db.execute("UPDATE generations SET status='cancelled', error_kind='cancelled', "
                                   "error_message=? WHERE id=? AND status='running'",
                                   (message, generation_id)).rowcount > 0

    def delete(self, generation_id: int) -> bool:
        if not _is_id(generation_id):
            return False
        with self._files_lock, self._writing():
            shas = [row[0] for row in self.db.execute(
                "SELECT sha256 FROM images WHERE generation_id=? AND sha256 IS NOT NULL", (generation_id,))]
            self._remove_response(generation_id)
            shas += [row[0] for row in self.db.execute("SELECT sha256 FROM inputs WHERE generation_id=?",
                                                       (generation_id,))]
            deleted = self.db.execute("DELETE FROM generations WHERE id=?", (generation_id,)).rowcount > 0
            for sha256 in set(shas):
                if not self._is_kept(sha256):
                    for path in (*self.images_dir.glob(f"{sha256}.*"), self.thumbs_dir / f"{sha256}.webp"):
                        path.unlink(missing_ok=True)
        return deleted

    def star(self, generation_id: int, starred: bool | None = None) -> bool | None:
        """Star (or unstar; by default toggle) a generation: its new state, or None when there is no such one."""
        if not _is_id(generation_id):
            return None
        with self._writing():
            changed = self.db.execute("UPDATE generations SET starred = CASE WHEN ? IS NULL THEN 1 - starred ELSE ? END "
                                      "WHERE id=?", (starred, starred, generation_id)).rowcount
        if not changed:
            return None
        return bool(self.db.execute("SELECT starred FROM generations WHERE id=?", (generation_id,)).fetchone()[0])

    def _is_kept(self, sha256: str) -> bool:
        return bool(self.db.execute("SELECT 1 FROM images WHERE sha256=? UNION ALL SELECT 1 FROM inputs WHERE "
                                    "sha256=? LIMIT 1", (sha256, sha256)).fetchone())

    def transaction(self) -> "_Transaction":
        return _Transaction(self.db)

    # -- reading ------------------------------------------------------------------------------------------------

    def get(self, generation_id: int) -> StoredGeneration | None:
        if not _is_id(generation_id):
            return None
        row = self.db.execute("SELECT * FROM generations WHERE id=?", (generation_id,)).fetchone()
        if row is None:
            return None
        generation = generation_from_row(row)
        if generation.status == "running" and generation_id in self._unsaved:
            generation.status, generation.error = "failed", self._unsaved[generation_id]
        generation.images = [image_from_row(image) for image in self.db.execute(
            "SELECT * FROM images WHERE generation_id=? ORDER BY position", (generation_id,))]
        response = self.db.execute("SELECT preview, body_is_json, body_type FROM responses WHERE generation_id=?",
                                   (generation_id,)).fetchone()
        if response:
            generation.raw_preview, generation.raw_is_json, generation.body_type = \
                response[0], bool(response[1]), response[2]
        generation.inputs = [StoredInput(row["role"], row["position"], row["sha256"], row["format"], row["width"],
                                         row["height"], row["bytes"]) for row in self.db.execute(
            "SELECT * FROM inputs WHERE generation_id=? ORDER BY role, position", (generation_id,))]
        generation.edits = [row[0] for row in self.db.execute(
            "SELECT id FROM generations WHERE source_generation=? ORDER BY id", (generation_id,))]
        generation.cost = self.prices.estimate(generation.model, generation.request, generation.usage,
                                               len(generation.shown_images))
        return generation

    def input_images(self, generation_id: int) -> tuple[list[VerifiedImage], VerifiedImage | None] | Problem:
        """An edit's kept images and mask, read back and verified, to send again."""
        images, mask = [], None
        for item in self.get(generation_id).inputs:
            verified = verify_image((self.images_dir / item.file_name).read_bytes()) \
                if (self.images_dir / item.file_name).exists() else Problem("missing", "")
            if isinstance(verified, Problem):
                return Problem("missing_input", f"The {item.role} this edit was sent is no longer kept, so it cannot be "
                                                "sent again.")
            if item.role == "mask":
                mask = verified
            else:
                images.append(verified)
        return images, mask

    def spending(self) -> tuple[float, int]:
        """The estimated cost of the whole history, and how many generations it could price.

        Worked out again only when the history or the price table changed: every gallery page shows it.
        """
        key = (*self.db.execute("SELECT COUNT(*), MAX(id), SUM(status IN ('ok', 'partial')) FROM generations"
                                ).fetchone(), self.prices.version())
        if self._spent is not None and self._spent[0] == key:
            return self._spent[1]
        self._spent = (key, self._spending())
        return self._spent[1]

    def _spending(self) -> tuple[float, int]:
        total, priced = 0.0, 0
        for row in self.db.execute(
                "SELECT g.model, g.request_json, g.usage_json, (SELECT COUNT(*) FROM images i WHERE "
                "i.generation_id = g.id AND i.sha256 IS NOT NULL) AS shown FROM generations g "
                "WHERE g.status IN ('ok', 'partial')"):
            cost = self.prices.estimate(row[0], json.loads(row[1]), json.loads(row[2]) if row[2] else None, row[3])
            if cost:
                total, priced = total + cost.usd, priced + 1
        return total, priced

    def group_exists(self, group_id: int) -> bool:
        return _is_id(group_id) and self.db.execute("SELECT 1 FROM groups WHERE id=?", (group_id,)).fetchone() is not None

    def group(self, group_id: int) -> Group | None:
        if not _is_id(group_id):
            return None
        row = self.db.execute("SELECT * FROM groups WHERE id=?", (group_id,)).fetchone()
        if row is None:
            return None
        ids = [r[0] for r in self.db.execute(
            "SELECT id FROM generations WHERE group_id=? ORDER BY group_position, id", (group_id,))]
        generations = [generation for generation in map(self.get, ids) if generation]
        return Group(row["id"], row["created_at"], row["prompt"], json.loads(row["cells_json"]), generations,
                     json.loads(row["layout_json"]) if row["layout_json"] else None)

    def raw_body(self, generation_id: int) -> bytes | None:
        """The response body exactly as received, found through the database (None when there is none, or its
        file, or an image file it leaves its base64 to, is missing)."""
        if not _is_id(generation_id):
            return None
        row = self.db.execute("SELECT generation_id FROM responses WHERE generation_id=?", (generation_id,)).fetchone()
        if row is None:
            return None
        sparse = _read_or_none(self._response_path(row[0], sparse=True))
        if sparse is None:
            return _read_or_none(self._response_path(row[0]))
        pieces = sparse.split(SPARSE_MARK)
        for index in range(1, len(pieces), 2):  # the odd pieces name image files
            found = self.image_file(pieces[index].decode("ascii", "replace"))
            image = _read_or_none(found[0]) if found else None
            if image is None:
                return None
            pieces[index] = encode_base64(image)
        return b"".join(pieces)

    def image_file(self, sha256: str) -> tuple[Path, str] | None:
        """The file of a stored image and its verified content type, found through the database."""
        row = self.db.execute("SELECT sha256, format FROM images WHERE sha256=? UNION ALL SELECT sha256, format FROM "
                              "inputs WHERE sha256=? LIMIT 1", (sha256, sha256)).fetchone()
        if row is None:
            return None
        return self.images_dir / f"{row['sha256']}.{EXTENSIONS[row['format']]}", MIMES[row["format"]]

    def thumbnail_file(self, sha256: str) -> Path | None:
        """The image's thumbnail, made now if the background has not made it yet; None if it cannot be made."""
        found = self.image_file(sha256)
        if found is None:
            return None
        path = self.thumbs_dir / f"{sha256}.webp"
        if not path.exists():
            try:
                thumbnail = make_thumbnail(found[0].read_bytes())
            except FileNotFoundError:
                return None
            if thumbnail is None:
                return None
            with self._files_lock:
                if self.image_file(sha256) is None:
                    return None  # deleted meanwhile
                try:
                    _write_file(path, thumbnail)
                except OSError as exc:
                    log.warning("No room for a thumbnail: %s", storage_problem(exc, self.folder).message)
                    return None
        return path

    def gallery(self, page: int = 1, per_page: int = 24, query: str = "", model: str = "", outcome: str = "",
                server: str = "", starred: bool = False) -> GalleryPage:
        where, params = _gallery_filter(query, model, outcome, server, starred)
        total = self.db.execute(f"SELECT COUNT(*) FROM generations g {where}", params).fetchone()[0]
        rows = self.db.execute(f"{GALLERY_ROW} {where} ORDER BY g.id DESC LIMIT ? OFFSET ?",
                               (*params, per_page, (page - 1) * per_page)).fetchall()
        return GalleryPage([dict(row) for row in rows], total, page, per_page)

    def gallery_row(self, generation_id: int) -> dict[str, Any] | None:
        """One generation as the gallery lists it, for a page that shows the history live."""
        if not _is_id(generation_id):
            return None
        row = self.db.execute(f"{GALLERY_ROW} WHERE g.id = ?", (generation_id,)).fetchone()
        return dict(row) if row else None

    def models(self) -> list[str]:
        return [row[0] for row in self.db.execute("SELECT DISTINCT model FROM generations ORDER BY model")]

    def servers(self) -> list[str]:
        """The names of the servers the history holds generations from."""
        return [row[0] for row in self.db.execute("SELECT DISTINCT server FROM generations ORDER BY server")]

    def recent_models(self, limit: int = 8, server: str | None = None) -> list[str]:
        """Models that gave an image lately (on that server): a typo that failed is not offered again."""
        return [row[0] for row in self.db.execute(
            "SELECT model FROM generations WHERE status IN ('ok', 'partial') AND (? IS NULL OR server = ?) "
            "GROUP BY model ORDER BY MAX(id) DESC LIMIT ?", (server, server, limit))]

    def export_zip(self, generation_ids: Iterable[int], out: BinaryIO) -> None:
        """Images plus a manifest of requests and responses, for sharing a demo's results."""
        manifest = []
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
            for generation_id in dict.fromkeys(generation_ids):
                generation = self.get(generation_id)
                if generation is None:
                    continue
                entry = generation.to_dict()
                for image, facts in zip(generation.images, entry["images"]):
                    if image.sha256:
                        name = f"images/{generation.id}-{image.position + 1}.{EXTENSIONS[image.format]}"
                        archive.write(self.images_dir / image.file_name, name, compress_type=zipfile.ZIP_STORED)
                        facts["file"] = name
                raw = self.raw_body(generation.id)
                if raw is not None:
                    entry["response_file"] = f"responses/{generation.id}.json"
                    archive.writestr(entry["response_file"], raw)
                manifest.append(entry)
            archive.writestr("manifest.json", json.dumps({"generations": manifest}, indent=2, ensure_ascii=False))


class _Writing:
    """Turns a failed write (disk full, read-only folder) into a StorageError that says so."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: Any, exc: BaseException | None, traceback: Any) -> None:
        if isinstance(exc, (OSError, sqlite3.OperationalError)):
            raise StorageError(storage_problem(exc, self.folder)) from exc


class _Transaction:
    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> sqlite3.Connection:
        self.db.execute("BEGIN IMMEDIATE")
        return self.db

    def __exit__(self, exc_type: Any, *exc: Any) -> None:
        self.db.execute("ROLLBACK" if exc_type else "COMMIT")


def _sparse_body(raw: bytes | bytearray, images: Iterable[ImageItem]) -> bytes | None:
    """The body with the base64 of each kept image replaced by the image file's name (its SHA-256) between two NUL
    bytes, or None when there is none to replace. A b64_json answer is mostly its images' base64: kept once, as the
    image files, it is a quarter smaller on disk and its largest write is gone. Only base64 that the image's own
    bytes encode to exactly (standard alphabet, padded, unbroken) is replaced, so that the body rebuilt from the
    files is byte for byte the one received; a body holding a NUL byte is kept as it came."""
    if SPARSE_MARK in raw:
        return None
    pieces: list[bytes | bytearray] = []
    position = 0
    for item in images:  # in the answer's order: each search starts where the last image ended
        encoded = encode_base64(item.image.data)
        found = raw.find(encoded[:64], position)  # a short needle finds it fast; the whole is then compared
        while found >= 0 and raw[found:found + len(encoded)] != encoded:  # (partial images share its first bytes)
            found = raw.find(encoded[:64], found + 1)
        if found < 0:
            continue
        pieces += [raw[position:found], SPARSE_MARK + item.sha256.encode("ascii") + SPARSE_MARK]
        position = found + len(encoded)
    return b"".join([*pieces, raw[position:]]) if pieces else None


def _read_or_none(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def _write_once(folder: Path, image: VerifiedImage) -> str:
    """Content-addressed: a file of that name already holds these bytes. Returns the SHA-256."""
    sha256 = hashlib.sha256(image.data).hexdigest()
    path = folder / f"{sha256}.{EXTENSIONS[image.format]}"
    if not path.exists():
        _write_file(path, image.data)
    return sha256


def _write_file(path: Path, data: bytes) -> None:
    """All or nothing: a temporary name, then an atomic rename; a write that fails leaves no temporary behind."""
    temporary = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        temporary.write_bytes(data)
        os.replace(temporary, path)
    except OSError:
        temporary.unlink(missing_ok=True)
        raise


def _text_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _is_id(value: Any) -> bool:
    """A row id SQLite can hold: anything else (a 20-digit number from a URL) simply names nothing."""
    return isinstance(value, int) and 0 < value <= MAX_ID


def _unreadable_message(db_path: Path, exc: BaseException) -> str:
    return (f"Proofsheet cannot read its history database {db_path} ({exc}). It may be damaged. Nothing on disk "
            "was changed. Either restore the file from a backup, or move it aside (for example rename it to "
            f"{db_path.name}.broken) to start a fresh history; the images and raw responses beside it stay where "
            "they are. `python app.py --check` reports what it can read.")


def _status_of(result: GenerationResult) -> str:
    if result.images:
        return "partial" if result.item_problems else "ok"
    return "failed"


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


