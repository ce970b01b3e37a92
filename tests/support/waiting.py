"""Waiting for what happens in the background, and filling a disk to see what a full one does."""
import time
from pathlib import Path
from typing import Callable


def wait_until(condition: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def fill(folder: Path, leave_free: int) -> list[Path]:
    """Fill the disk with 16 KB files, then free `leave_free` bytes of them again."""
    fillers = []
    number = 0
    while True:
        path = folder / f"filler-{number}"
        try:
            path.write_bytes(b"\0" * 16384)
        except OSError:
            path.unlink(missing_ok=True)
            break
        fillers.append(path)
        number += 1
    for path in fillers[:leave_free // 16384]:
        path.unlink()
    return fillers[leave_free // 16384:]
