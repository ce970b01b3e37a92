"""The arena's leaderboard kept current: each vote read from the history once and added to a tally, the ratings
fitted at once from the tally's wins and games (well under a millisecond at any count), the 95% intervals (200 fits
of resampled votes, a tenth of a second to a second) worked out again in a background thread.

A vote counts in the ranking from the next load on. Until its intervals are done, a page shows the last ones moved
with their ratings, marked as updating; no page waits for them. The history is asked what changed on every load (a
count, then the votes stamped lately), so votes from another process on the same history count too; a count that
does not add up reads every vote again.
"""
from __future__ import annotations

import logging
import sqlite3
import threading
import time
from contextlib import contextmanager
from typing import Any, Callable, Iterator

from proofsheet.history.ratings import Round, Standing, Tally, intervals, ranked
from proofsheet.history.store import Store

log = logging.getLogger(__name__)

LATE = 60.0  # seconds a vote may be committed after it was stamped (a write waits for the lock up to 10 s)
READ_AT_ONCE = 500  # ids in one query, below SQLite's limit on parameters

Version = tuple[int, int]  # (reading of the history, votes in the tally): a tally only grows within one reading


class Leaderboard:
    def __init__(self, store: Store, round_of: Callable[[str, str], Round]) -> None:
        """`round_of(contenders_json, vote)` turns a voted row into the round the ratings count."""
        self.store = store
        self._round_of = round_of
        self._lock = threading.Lock()  # the tallies and everything worked out from them
        self._idle = threading.Condition(self._lock)
        self._reading = 0
        self._worker: threading.Thread | None = None
        self._start_reading()

    def _start_reading(self) -> None:
        self._reading += 1
        self._tallies: dict[str | None, Tally] = {}  # None: every category
        self._seen: set[int] = set()
        self._latest = float("-inf")  # the latest vote's stamp
        self._rated: dict[str | None, tuple[Version, dict[str, float]]] = {}
        self._bounds: dict[str | None, tuple[Version, dict[str, float], dict[str, tuple[float, float]]]] = {}
        self._asked: dict[str | None, Version] = {}  # intervals waiting for the worker or being worked out
        self._queue: dict[str | None, tuple[Version, list[Round], list[int], dict[str, float]]] = {}

    def standings(self, category: str | None = None) -> list[Standing]:
        """Every contender ranked with the votes in the history now; intervals marked `updating` until done."""
        with self._lock:
            self._catch_up()
            tally = self._tallies.get(category)
            if not tally:
                return []
            version = (self._reading, len(tally))
            rated = self._ratings(category, tally, version)
            bounds, updating = self._intervals(category, tally, version, rated)
            table = tally.records()
            for name, standing in table.items():
                standing.rating = rated[name]
                standing.low, standing.high = bounds.get(name, (rated[name], rated[name]))
                standing.updating = updating
            return ranked(table.values())

    def categories(self) -> list[str]:
        """The categories with a vote, in order."""
        with self._lock:
            self._catch_up()
            return sorted(category for category in self._tallies if category is not None)

    def settle(self, timeout: float = 60.0) -> bool:
        """Wait until no intervals are being worked out (for tests and benchmarks); whether that came in time."""
        with self._idle:
            return self._idle.wait_for(lambda: self._worker is None, timeout)

    # -- the votes -------------------------------------------------------------------------------------------------

    def _catch_up(self) -> None:
        """Count the votes cast since the last load, here or in another process. A round keeps its first vote
        (ArenaBook.vote), so votes are only ever added: the same number, the same latest, the same votes."""
        db = self.store.db
        with _snapshot(db):  # the count and the votes read agree
            total, latest = db.execute(
                "SELECT COUNT(*), MAX(voted_at) FROM arena_rounds WHERE voted_at IS NOT NULL").fetchone()
            if total == len(self._seen) and (latest is None or latest == self._latest):
                return
            if self._seen and total > len(self._seen):
                recent = db.execute("SELECT id FROM arena_rounds WHERE voted_at >= ?", (self._latest - LATE,))
                self._read(db, [row[0] for row in recent if row[0] not in self._seen])
            if len(self._seen) != total or (latest is not None and latest != self._latest):
                if self._seen:  # stamped long before it was kept, a vote changed, or another history: read it all
                    log.info("leaderboard: %d votes in the history, %d counted: reading them all", total,
                             len(self._seen))
                self._start_reading()
                self._read(db, None)

    def _read(self, db: sqlite3.Connection, ids: list[int] | None) -> None:
        """Count the votes of these rounds (None: of every voted round)."""
        columns = "SELECT id, category, contenders_json, vote, voted_at FROM arena_rounds WHERE "
        if ids is None:
            self._count(db.execute(columns + "voted_at IS NOT NULL"))
        for start in range(0, len(ids or []), READ_AT_ONCE):
            chunk = ids[start:start + READ_AT_ONCE]
            self._count(db.execute(columns + f"id IN ({','.join('?' * len(chunk))})", chunk))

    def _count(self, rows: Any) -> None:
        for row in rows:
            one, when = self._round_of(row["contenders_json"], row["vote"]), (row["voted_at"], row["id"])
            self._tallies.setdefault(None, Tally()).add(when, one)
            if row["category"] is not None:
                self._tallies.setdefault(row["category"], Tally()).add(when, one)
            self._seen.add(row["id"])
            self._latest = max(self._latest, row["voted_at"])

    # -- the ratings and their intervals ---------------------------------------------------------------------------

    def _ratings(self, category: str | None, tally: Tally, version: Version) -> dict[str, float]:
        last = self._rated.get(category)
        if last and last[0] == version:
            return last[1]
        rated = tally.ratings()
        self._rated[category] = (version, rated)
        return rated

    def _intervals(self, category: str | None, tally: Tally, version: Version,
                   rated: dict[str, float]) -> tuple[dict[str, tuple[float, float]], bool]:
        """The intervals for these votes and False, or the last ones moved with their ratings and True."""
        known = self._bounds.get(category)
        if known and known[0] == version:
            return known[2], False
        self._ask(category, tally, version, rated)
        if not known:
            return {}, True
        _, then, bounds = known
        return {name: (low + rated[name] - then[name], high + rated[name] - then[name])
                for name, (low, high) in bounds.items() if name in rated}, True

    def _ask(self, category: str | None, tally: Tally, version: Version, rated: dict[str, float]) -> None:
        if self._asked.get(category) == version:
            return
        self._asked[category] = version
        self._queue[category] = (version, list(tally.kinds), tally.kind_of(), rated)  # a copy: the tally grows
        if self._worker is None:
            self._worker = threading.Thread(target=self._work, name="leaderboard-intervals", daemon=True)
            self._worker.start()

    def _work(self) -> None:
        """Work out the intervals asked for, the latest of each category, until none is left."""
        while True:
            with self._lock:
                if not self._queue:
                    self._worker = None
                    self._idle.notify_all()
                    return
                category, (version, kinds, kind_of, rated) = self._queue.popitem()
            try:
                bounds = intervals(kinds, kind_of, rated, between=_let_others_run)
            except Exception as exc:  # arithmetic only; should it fail, the ratings are shown without intervals
                log.error("leaderboard: the intervals could not be worked out: %s", exc)
                bounds = {}
            with self._lock:
                known = self._bounds.get(category)
                if version[0] == self._reading and (known is None or known[0][1] < version[1]):
                    self._bounds[category] = (version, rated, bounds)


def _let_others_run() -> None:
    """Give up the interpreter between two fits, so a page being answered gets it at once, not after 5 ms."""
    time.sleep(0)


@contextmanager
def _snapshot(db: sqlite3.Connection) -> Iterator[None]:
    """One read transaction: in WAL mode, every query in it sees the history as it was at the first."""
    if db.in_transaction:
        yield
        return
    db.execute("BEGIN")
    try:
        yield
    finally:
        db.execute("COMMIT")
