"""Looking after a data folder from the command line: a read-only check, and a backup that is safe while running.

`python app.py --check` reads the database (integrity check) and compares its rows with the files beside it, writing
nothing; its last line says whether the history is sound. `python app.py --backup DEST` copies a consistent snapshot
of the database (SQLite's online backup) and then the image and response files into DEST; it can run while
Proofsheet serves.
"""
from __future__ import annotations

import shutil
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from proofsheet.history.db import DB_NAME, FOLDER_MARK, INTERRUPTED
from proofsheet.history.lock import is_held

KEPT_DIRS = ("images", "responses")


@dataclass
class Report:
    lines: list[str] = field(default_factory=list)
    problems: int = 0

    def say(self, line: str) -> None:
        self.lines.append(line)

    def problem(self, line: str) -> None:
        self.problems += 1
        self.lines.append("PROBLEM: " + line)


def check(folder: Path) -> Report:
    """What the data folder holds and whether rows and files agree; never writes. The last line is the verdict."""
    report = Report()
    report.say(f"Data folder: {folder}")
    _check_database(folder, report)
    if report.problems:
        report.say(f"The history is NOT sound: {report.problems:,} problem{'s' if report.problems > 1 else ''}, "
                   "said above.")
    else:
        report.say("The history is sound: the database is whole and its rows and files agree.")
    return report


def _check_database(folder: Path, report: Report) -> None:
    db_path = folder / DB_NAME
    if not db_path.exists():
        report.problem(f"There is no database ({DB_NAME}) here.")
        _count_files(folder, report)
        return
    try:
        db = _read_only(db_path)
        verdict = db.execute("PRAGMA integrity_check").fetchone()[0]
    except sqlite3.Error as exc:
        report.problem(f"The database cannot be read: {exc}. Restore it from a backup, or move it aside to start "
                       "a fresh history; the files stay where they are.")
        _count_files(folder, report)
        return
    with db:
        if verdict != "ok":
            report.problem(f"The database's integrity check says: {verdict}")
        _compare_rows_and_files(db, folder, report)
        _say_running(db, folder, report)
    db.close()


def _say_running(db: sqlite3.Connection, folder: Path, report: Report) -> None:
    """Rows still marked running: waiting now if a Proofsheet holds the folder, else cut off when it stopped."""
    running = db.execute("SELECT COUNT(*) FROM generations WHERE status='running'").fetchone()[0]
    if not running:
        return
    held = is_held(folder)
    if held:
        report.say(f"Generations still running: {running:,} (the Proofsheet using this folder is waiting for "
                   "their answers).")
        return
    who = "No Proofsheet is using this folder, so" if held is False else "Unless a Proofsheet is using this folder,"
    report.say(f"Generations still marked running: {running:,}. {who} they were cut off when it stopped (killed, "
               "or the machine went down); the next start marks them as interrupted, listed with the failed ones: "
               f"\"{INTERRUPTED}\"")


def _compare_rows_and_files(db: sqlite3.Connection, folder: Path, report: Report) -> None:
    generations = db.execute("SELECT COUNT(*) FROM generations").fetchone()[0]
    report.say(f"Generations: {generations:,}")
    has_inputs = db.execute("SELECT 1 FROM sqlite_master WHERE name='inputs'").fetchone()
    named_images = {sha: fmt for sha, fmt in db.execute(
        "SELECT DISTINCT sha256, format FROM images WHERE sha256 IS NOT NULL" +
        (" UNION SELECT sha256, format FROM inputs" if has_inputs else ""))}
    named_responses = {str(row[0]) for row in db.execute("SELECT generation_id FROM responses")}
    image_files = {path.name.split(".")[0] for path in _files(folder / "images")}
    response_files = {path.name.split(".")[0] for path in _files(folder / "responses")}
    report.say(f"Image files: {len(image_files):,} (rows name {len(named_images):,}); "
               f"response files: {len(response_files):,} (rows name {len(named_responses):,})")
    for sha in sorted(set(named_images) - image_files):
        report.problem(f"Image {sha} is named by the history but its file is missing.")
    for generation_id in sorted(named_responses - response_files, key=int):
        report.problem(f"The raw response of generation {generation_id} is missing.")
    strays = len(image_files - set(named_images)) + len(response_files - named_responses)
    if strays:
        report.say(f"Files no generation names: {strays:,} (left in place; moved to trash/ at the next start when "
                   "this database owns the folder)")
    mark = folder / FOLDER_MARK
    row = db.execute("SELECT value FROM meta WHERE key='history_id'").fetchone() \
        if db.execute("SELECT 1 FROM sqlite_master WHERE name='meta'").fetchone() else None
    if mark.exists() and row and mark.read_text().strip() != row[0]:
        report.problem("This database is not the one that kept the files in this folder (its id differs from "
                       f"{FOLDER_MARK}); restore the original database if you have a backup.")
    trash = sum(1 for _ in _files(folder / "trash", recursive=True))
    if trash:
        report.say(f"In trash/: {trash:,} files (safe to delete once you have looked)")


def _read_only(db_path: Path) -> sqlite3.Connection:
    """A connection that writes nothing. With no -wal beside the database (Proofsheet stopped cleanly, the log
    checkpointed) the file is read as it is, so that not even an empty -wal or -shm is left behind; otherwise
    read-only through the log a running or killed Proofsheet left."""
    logged = db_path.with_name(db_path.name + "-wal").exists()
    return sqlite3.connect(f"file:{db_path}?mode=ro{'' if logged else '&immutable=1'}", uri=True, timeout=10)


def _count_files(folder: Path, report: Report) -> None:
    for name in KEPT_DIRS:
        report.say(f"{name}/: {sum(1 for _ in _files(folder / name)):,} files, untouched")


def _files(directory: Path, recursive: bool = False):
    if not directory.is_dir():
        return
    for path in (directory.rglob("*") if recursive else directory.iterdir()):
        if path.is_file() and not path.name.endswith(".tmp"):
            yield path


def backup(folder: Path, destination: Path) -> Report:
    """A consistent copy of the database, then the files it names, into a new or empty folder."""
    report = Report()
    if destination.exists() and any(destination.iterdir()):
        report.problem(f"{destination} is not empty; choose a new folder for the backup.")
        return report
    destination.mkdir(parents=True, exist_ok=True)
    source = _read_only(folder / DB_NAME)
    target = sqlite3.connect(destination / DB_NAME)
    try:
        source.backup(target)
    finally:
        target.close()
        source.close()
    copied = 0
    for name in KEPT_DIRS:
        (destination / name).mkdir(exist_ok=True)
        for path in _files(folder / name):
            shutil.copy2(path, destination / name / path.name)
            copied += 1
    for name in (FOLDER_MARK, "prices.json", "servers.json"):
        if (folder / name).exists():
            shutil.copy2(folder / name, destination / name)
    report.say(f"Backed up the history and {copied:,} files to {destination}.")
    if (folder / "server-keys.json").exists():
        report.say("The servers' keys (server-keys.json) are not copied: a backup should hold no secrets. Add them "
                   "again on the Servers page after a restore, or copy that file yourself.")
    report.say(f"To restore: stop Proofsheet and start it with PROOFSHEET_DATA={destination} (or copy the folder "
               "back in place of the old one).")
    checked = check(destination)
    report.problems += checked.problems
    report.lines += [line for line in checked.lines if line.startswith("PROBLEM")]
    return report
