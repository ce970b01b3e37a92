"""The history's files: images written once under their content hash, raw response bodies (sparse when their images'
base64 can be left to the image files), thumbnails made from the kept images, the sweep that moves files no row
names to trash/, and the lock that keeps the folder to one Proofsheet.

Every file is written whole (a temporary name, then a rename) before the row that names it is committed. Where a file
must be found through the rows, the caller's connection is passed in.
"""
from __future__ import annotations

import errno
import hashlib
import logging
import os
import sqlite3
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable, Iterable

from proofsheet.history import queries
from proofsheet.history.lock import DataFolderLock
from proofsheet.history.records import EXTENSIONS, MIMES, StoredInput
from proofsheet.images import encode_base64, make_thumbnail, verify_image
from proofsheet.results import ImageItem, Problem, VerifiedImage

log = logging.getLogger(__name__)

THUMBNAIL_NICENESS = 10  # thumbnails can wait: their thread is this much nicer than the rest of Proofsheet
SPARSE_MARK = b"\x00"  # never in JSON or event-stream text: what stands around an image's name in a sparse body
# Background work waits this long after an answer: decoding four 1024x1024 PNGs for their thumbnails holds the
# interpreter in stretches of milliseconds, and on two cores it would race the page fetching and decoding the very
# same images (a thumbnail asked for sooner is made at once).
LATER_PAUSE = 2.0


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


class Writing:
    """Turns a failed write (disk full, read-only folder) into a StorageError that says so."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: Any, exc: BaseException | None, traceback: Any) -> None:
        if isinstance(exc, (OSError, sqlite3.OperationalError)):
            raise StorageError(storage_problem(exc, self.folder)) from exc


class Files:
    """The data folder's files and its lock; `lock` is held while files are written and their rows committed."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.images_dir = folder / "images"
        self.thumbs_dir = folder / "thumbnails"
        self.responses_dir = folder / "responses"
        self.trash_dir = folder / "trash"
        self.lock = threading.Lock()  # keeps "delete unreferenced files" apart from "write, then commit"
        self.folder_lock = DataFolderLock(folder)  # one Proofsheet per data folder
        self.thumbnailer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="thumbnails",
                                              initializer=_lower_priority)
        self.closing = threading.Event()  # wakes the background work still waiting out its pause

    def take_folder(self, holder: str | None) -> None:
        """Make the folders and, unless `holder` is None, lock the folder for this process; raises
        HistoryUnavailable or FolderInUse with a message for a person."""
        try:
            for directory in (self.folder, self.images_dir, self.thumbs_dir, self.responses_dir):
                directory.mkdir(parents=True, exist_ok=True)
            if holder is not None:
                self.folder_lock.acquire(holder)
        except OSError as exc:
            raise HistoryUnavailable(f"Proofsheet cannot use the data folder {self.folder}: {exc.strerror or exc}. "
                                     "Make it writable, or choose another folder with PROOFSHEET_DATA.") from None

    def release_folder(self) -> None:
        self.folder_lock.release()

    def close(self) -> None:
        """Wait for the thumbnail being made; those still waiting out their pause are left to be made on first
        request."""
        self.closing.set()
        self.thumbnailer.shutdown(wait=True)

    # -- images and thumbnails ----------------------------------------------------------------------------------

    def write_image(self, image: VerifiedImage) -> str:
        """Content-addressed: a file of that name already holds these bytes. Returns the SHA-256."""
        sha256 = hashlib.sha256(image.data).hexdigest()
        path = self.image_path(sha256, image.format)
        if not path.exists():
            write_file(path, image.data)
        return sha256

    def image_path(self, sha256: str, image_format: str) -> Path:
        return self.images_dir / f"{sha256}.{EXTENSIONS[image_format]}"

    def read_inputs(self, inputs: Iterable[StoredInput]) -> tuple[list[VerifiedImage], VerifiedImage | None] | Problem:
        """An edit's kept images and mask, read back and verified, to send again."""
        images, mask = [], None
        for item in inputs:
            path = self.images_dir / item.file_name
            verified = verify_image(path.read_bytes()) if path.exists() else Problem("missing", "")
            if isinstance(verified, Problem):
                return Problem("missing_input", f"The {item.role} this edit was sent is no longer kept, so it cannot be "
                                                "sent again.")
            if item.role == "mask":
                mask = verified
            else:
                images.append(verified)
        return images, mask

    def remove_unnamed_images(self, db: sqlite3.Connection, shas: Iterable[str]) -> None:
        """Of these images, those no row names any more go, with their thumbnails (the caller holds the lock)."""
        for sha256 in shas:
            if queries.image_row(db, sha256) is None:
                for path in (*self.images_dir.glob(f"{sha256}.*"), self.thumbs_dir / f"{sha256}.webp"):
                    path.unlink(missing_ok=True)

    def image_file(self, db: sqlite3.Connection, sha256: str) -> tuple[Path, str] | None:
        """The file of a stored image and its verified content type, found through the database."""
        row = queries.image_row(db, sha256)
        return (self.image_path(row["sha256"], row["format"]), MIMES[row["format"]]) if row else None

    def thumbnail_file(self, db: sqlite3.Connection, sha256: str) -> Path | None:
        """The image's thumbnail, made now if it is not there yet; None if it cannot be made (or was deleted)."""
        found = self.image_file(db, sha256)
        if found is None:
            return None
        path = self.thumbs_dir / f"{sha256}.webp"
        if path.exists():
            return path
        try:
            thumbnail = make_thumbnail(found[0].read_bytes())
        except FileNotFoundError:
            return None
        if thumbnail is None:
            return None
        with self.lock:
            if queries.image_row(db, sha256) is None:
                return None  # deleted meanwhile
            try:
                write_file(path, thumbnail)
            except OSError as exc:
                log.warning("No room for a thumbnail: %s", storage_problem(exc, self.folder).message)
                return None
        return path

    def later(self, job: Callable[..., Any], *args: Any) -> None:
        """Run `job` on the background thread (thumbnails) LATER_PAUSE seconds from now; when closing, it is left to
        be done on first request."""
        due = time.monotonic() + LATER_PAUSE
        try:
            self.thumbnailer.submit(self._when_due, due, job, *args)
        except RuntimeError:  # closing, or the interpreter is
            pass

    def _when_due(self, due: float, job: Callable[..., Any], *args: Any) -> None:
        if not self.closing.wait(max(0.0, due - time.monotonic())):
            job(*args)

    # -- raw response bodies ------------------------------------------------------------------------------------

    def response_path(self, generation_id: int, sparse: bool = False) -> Path:
        """`<id>.body` holds the body as received; `<id>.sparse` the same with each image's base64 left to the
        image file (see sparse_body)."""
        return self.responses_dir / f"{int(generation_id)}.{'sparse' if sparse else 'body'}"

    def write_response(self, generation_id: int, raw: bytes | bytearray, images: Iterable[ImageItem]) -> None:
        sparse = sparse_body(raw, images)
        write_file(self.response_path(generation_id, sparse=sparse is not None), raw if sparse is None else sparse)

    def remove_response(self, generation_id: int) -> None:
        for sparse in (False, True):
            self.response_path(generation_id, sparse).unlink(missing_ok=True)

    def raw_body(self, db: sqlite3.Connection, generation_id: int) -> bytes | None:
        """The body exactly as received, its images' base64 put back from their files; None when no row names a
        body, or a file it needs is missing."""
        if not db.execute("SELECT 1 FROM responses WHERE generation_id=?", (generation_id,)).fetchone():
            return None
        sparse = read_or_none(self.response_path(generation_id, sparse=True))
        if sparse is None:
            return read_or_none(self.response_path(generation_id))
        pieces = sparse.split(SPARSE_MARK)
        for index in range(1, len(pieces), 2):  # the odd pieces name image files
            found = self.image_file(db, pieces[index].decode("ascii", "replace"))
            image = read_or_none(found[0]) if found else None
            if image is None:
                return None
            pieces[index] = encode_base64(image)
        return b"".join(pieces)

    # -- after a crash ------------------------------------------------------------------------------------------

    def kept_file_count(self) -> int:
        return sum(1 for directory in (self.images_dir, self.responses_dir) for path in directory.iterdir()
                   if not path.name.endswith(".tmp"))

    def highest_response_number(self) -> int:
        """The highest generation id a response file is named by (0 when there is none)."""
        stems = (path.name.split(".")[0] for path in self.responses_dir.iterdir())
        return max((int(stem) for stem in stems if stem.isascii() and stem.isdigit()), default=0)

    def sweep(self, known: set[str]) -> None:
        """Partial temporary files are removed; whole files not in `known` are moved to trash/, never deleted."""
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


def sparse_body(raw: bytes | bytearray, images: Iterable[ImageItem]) -> bytes | None:
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


def read_or_none(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def _lower_priority() -> None:
    """On Linux a thread has its own niceness: the thumbnails' thread gives way to generations, runs and pages."""
    if sys.platform.startswith("linux"):
        thread = threading.get_native_id()
        try:
            niceness = os.getpriority(os.PRIO_PROCESS, thread) + THUMBNAIL_NICENESS
            os.setpriority(os.PRIO_PROCESS, thread, min(19, niceness))
        except OSError:
            pass


def write_file(path: Path, data: bytes) -> None:
    """All or nothing: a temporary name, then an atomic rename; a write that fails leaves no temporary behind."""
    temporary = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        temporary.write_bytes(data)
        os.replace(temporary, path)
    except OSError:
        temporary.unlink(missing_ok=True)
        raise
