"""One Proofsheet per data folder: an OS file lock held for the life of the process.

A second process on the same folder would mark the first one's running generations interrupted and sweep files the
other is about to reference, so it is refused with a message naming who holds the folder.
"""
from __future__ import annotations

import os
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]
    import msvcrt

LOCK_NAME = "proofsheet.lock"


class FolderInUse(Exception):
    """The data folder is locked by another running Proofsheet."""


class DataFolderLock:
    def __init__(self, folder: Path) -> None:
        self.path = Path(folder) / LOCK_NAME
        self._file = None

    def acquire(self, holder: str) -> None:
        """Take the lock or raise FolderInUse; `holder` (pid and address) is written for the next one to read."""
        handle = open(self.path, "a+b")
        try:
            _lock(handle)
        except OSError:
            handle.seek(0)
            who = handle.read(500).decode("utf-8", "replace").strip()
            handle.close()
            raise FolderInUse(who or "another Proofsheet") from None
        handle.seek(0)
        handle.truncate()
        handle.write(holder.encode("utf-8"))
        handle.flush()
        self._file = handle

    def describe(self, holder: str) -> None:
        """Update what the lock file says about its holder (the address is known only once listening)."""
        if self._file is not None:
            self._file.seek(0)
            self._file.truncate()
            self._file.write(holder.encode("utf-8"))
            self._file.flush()

    def release(self) -> None:
        if self._file is not None:
            self._file.close()  # closing the descriptor drops the lock
            self._file = None


def is_held(folder: Path) -> bool | None:
    """Whether a running Proofsheet holds the folder (None: cannot tell, on Windows); takes nothing, writes nothing."""
    path = Path(folder) / LOCK_NAME
    if fcntl is None:
        return None
    if not path.exists():
        return False
    with open(path, "rb") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError:
            return True
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
    return False


def _lock(handle) -> None:
    if fcntl is not None:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    else:
        handle.seek(0)
        msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)


def holder_text(address: str | None = None) -> str:
    where = f" at {address}" if address else ""
    return f"process {os.getpid()}{where}"
