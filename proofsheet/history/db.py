"""The history's database: SQLite in WAL mode, one connection per thread, read whole before anything is written,
brought to the current schema with one line in the log, put right after a crash, and checkpointed when Proofsheet
stops cleanly.
"""
from __future__ import annotations

import logging
import secrets
import sqlite3
import threading
from pathlib import Path
from typing import Any

from proofsheet.history.files import Files, HistoryUnavailable, write_file
from proofsheet.history.migrations import MIGRATIONS

log = logging.getLogger(__name__)

DB_NAME = "proofsheet.sqlite3"
FOLDER_MARK = "history.id"
INTERRUPTED = "Proofsheet stopped before the image server answered."


class Database:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        # Every thread's connection, for close(); short-lived threads give theirs back with release_connection().
        self._connections: set[sqlite3.Connection] = set()
        self._connections_lock = threading.Lock()

    @property
    def connection(self) -> sqlite3.Connection:
        """This thread's connection, opened on first use."""
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = sqlite3.connect(self.path, timeout=10, isolation_level=None, check_same_thread=False)
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

    def close(self) -> None:
        """Checkpoint, then close every thread's connection: the last one to close removes the -wal and -shm
        files, so a stopped Proofsheet leaves the database whole in one file."""
        self.release_connection()
        with self._connections_lock:
            connections, self._connections = list(self._connections), set()
        if connections:
            self._checkpoint(connections[0])
        for connection in connections:
            connection.close()

    def _checkpoint(self, connection: sqlite3.Connection) -> None:
        try:  # PASSIVE: never waits for a reader (a --backup running beside); the log is then removed on close
            connection.execute("PRAGMA wal_checkpoint(PASSIVE)")
        except sqlite3.Error as exc:
            log.warning("The history's write-ahead log could not be checkpointed (%s); the next start will.", exc)

    def check_whole(self) -> None:
        """Read the whole database once before anything is written: a damaged one stops start-up untouched."""
        if self.path.exists() and self.path.stat().st_size:
            check = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=10)
            try:
                verdict = check.execute("PRAGMA quick_check").fetchone()[0]
            finally:
                check.close()
            if verdict != "ok":
                raise sqlite3.DatabaseError(verdict)

    def schema_version(self) -> int:
        return self.connection.execute("PRAGMA user_version").fetchone()[0]

    def migrate(self) -> None:
        """Apply the missing schema steps, each in its own transaction; one line in the log for all of them."""
        version = self.schema_version()
        if version >= len(MIGRATIONS):
            return
        if version == 0:
            log.info("Creating the history in %s (schema version %d)", self.path.parent, len(MIGRATIONS))
        else:
            log.info("Updating the history from schema version %d to %d", version, len(MIGRATIONS))
        for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
            self.connection.executescript(f"BEGIN IMMEDIATE; {script}; PRAGMA user_version = {number}; COMMIT;")

    def transaction(self) -> "Transaction":
        return Transaction(self.connection)


class Transaction:
    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> sqlite3.Connection:
        self.db.execute("BEGIN IMMEDIATE")
        return self.db

    def __exit__(self, exc_type: Any, *exc: Any) -> None:
        self.db.execute("ROLLBACK" if exc_type else "COMMIT")


def open_database(database: Database, files: Files) -> str | None:
    """Check, migrate and recover the database (see recover); raises HistoryUnavailable saying why it cannot."""
    try:
        database.check_whole()
        was_new = database.schema_version() == 0
        database.migrate()
        return recover(database.connection, files, was_new)
    except sqlite3.Error as exc:
        raise HistoryUnavailable(unreadable_message(database.path, exc)) from None
    except OSError as exc:
        raise HistoryUnavailable(f"Proofsheet cannot write to its data folder {files.folder}: "
                                 f"{exc.strerror or exc}. Free some space or choose another folder with "
                                 "PROOFSHEET_DATA; nothing was changed.") from None


def recover(db: sqlite3.Connection, files: Files, was_new: bool) -> str | None:
    """After a crash: generations that were running are marked interrupted; stray files go to trash/. Returns a
    notice for the person when the files were left alone.

    Files are swept only when this database is the one that owns them (its id matches the folder's mark). A new
    database beside an earlier history's files (the database was deleted, emptied or replaced) leaves every file
    where it is and says so.
    """
    db.execute("UPDATE generations SET status='interrupted', error_kind='interrupted', error_message=? "
               "WHERE status='running'", (INTERRUPTED,))
    history_id = _history_id(db)
    mark = files.folder / FOLDER_MARK
    marked = mark.read_text().strip() if mark.exists() else None
    kept_files = files.kept_file_count()
    if marked is None and (not was_new or not kept_files):
        write_file(mark, history_id.encode())
        marked = history_id
    if marked != history_id:
        _number_after(db, files.highest_response_number())
        notice = (f"This history's database ({DB_NAME}) is not the one that kept the {kept_files:,} image and "
                  f"response files in {files.folder}; they were left untouched. If you have a backup of {DB_NAME}, "
                  "stop Proofsheet and put it back.")
        log.warning(notice)
        return notice
    with files.lock:
        files.sweep(_known_names(db))
    return None


def _number_after(db: sqlite3.Connection, highest: int) -> None:
    """Response files are named by generation id: a new database numbers its generations after any it finds,
    so that it never writes over an earlier history's files."""
    current = db.execute("SELECT seq FROM sqlite_sequence WHERE name='generations'").fetchone()
    if highest > (current[0] if current else 0):
        db.execute("DELETE FROM sqlite_sequence WHERE name='generations'")
        db.execute("INSERT INTO sqlite_sequence (name, seq) VALUES ('generations', ?)", (highest,))


def _history_id(db: sqlite3.Connection) -> str:
    row = db.execute("SELECT value FROM meta WHERE key='history_id'").fetchone()
    if row:
        return row[0]
    history_id = secrets.token_hex(16)
    db.execute("INSERT INTO meta (key, value) VALUES ('history_id', ?)", (history_id,))
    return history_id


def _known_names(db: sqlite3.Connection) -> set[str]:
    """Every file name (without its extension) a row names: images, an edit's inputs, response bodies."""
    known = {row[0] for row in db.execute("SELECT DISTINCT sha256 FROM images WHERE sha256 IS NOT NULL "
                                          "UNION SELECT sha256 FROM inputs")}
    known.update(str(row[0]) for row in db.execute("SELECT generation_id FROM responses"))
    return known


def unreadable_message(db_path: Path, exc: BaseException) -> str:
    return (f"Proofsheet cannot read its history database {db_path} ({exc}). It may be damaged. Nothing on disk "
            "was changed. Either restore the file from a backup, or move it aside (for example rename it to "
            f"{db_path.name}.broken) to start a fresh history; the images and raw responses beside it stay where "
            "they are. `python app.py --check` reports what it can read.")
