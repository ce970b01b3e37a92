"""Prompt-set runs in the history: a run (prompts × targets × repeats) and its cells, a durable queue.

A cell is `pending` until a worker claims it (`sending`, in one transaction, so no two workers send it), then `done`,
`failed` or `cancelled`. After a crash or `kill -9` the cells that were `sending` are `pending` again and marked
`retried`: they are the only ones sent twice. A cell links to the generation it made; the run's name can serve as a
category.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from proofsheet.history.db import INTERRUPTED
from proofsheet.history.store import Store

RUN_STATUSES = ("running", "paused", "done", "cancelled")
CELL_STATUSES = ("pending", "sending", "done", "failed", "cancelled")
RATE_WINDOW = 300.0  # seconds of finished cells the rate (and so the ETA) is measured over
MIN_RATE_SPAN = 1.0  # seconds of running before a rate is told (one cell in a tenth of a second is no speed)


@dataclass(frozen=True)
class PlannedCell:
    """One call of a run, before it is queued: which prompt row, target and repeat, and the fields it sends."""

    prompt_index: int
    target_index: int
    repeat: int
    server: str
    fields: dict[str, Any]
    category: str | None = None


@dataclass(frozen=True)
class ClaimedCell:
    id: int
    run_id: int
    server: str
    fields: dict[str, Any]
    attempts: int


@dataclass(frozen=True)
class Tally:
    counts: dict[str, int]  # cells by status
    cost_usd: float  # the estimated cost of the cells done so far
    priced: int  # how many of them had a price
    rate: float | None  # cells finished a second, over the last RATE_WINDOW seconds (None before any has)


@dataclass
class Run:
    id: int
    created_at: float
    name: str
    status: str
    reason: str | None
    targets: list[dict[str, Any]]
    repeats: int
    concurrency: int
    total: int
    finished_at: float | None
    running_since: float | None  # when it last began running: started, resumed, or taken up after a restart

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "status": self.status, "reason": self.reason,
                "created_at": self.created_at, "finished_at": self.finished_at, "targets": self.targets,
                "repeats": self.repeats, "concurrency": self.concurrency, "total": self.total,
                "permalink": f"/runs/{self.id}"}


class RunBook:
    """The runs kept beside the history, in its database."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def create(self, name: str, targets: list[dict[str, Any]], repeats: int, concurrency: int,
               cells: list[PlannedCell]) -> int:
        """The run and all its cells, in one transaction: a run is queued whole or not at all."""
        with self.store.writing(), self.store.database.transaction() as db:
            run_id = int(db.execute(
                "INSERT INTO runs (created_at, name, status, targets_json, repeats, concurrency, total, running_since) "
                "VALUES (?, ?, 'running', ?, ?, ?, ?, ?)",
                (now := time.time(), name, json.dumps(targets, ensure_ascii=False), repeats, concurrency, len(cells),
                 now),
            ).lastrowid)
            db.executemany(
                "INSERT INTO run_cells (run_id, position, prompt_index, target_index, repeat, server, fields_json, "
                "category) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [(run_id, position, cell.prompt_index, cell.target_index, cell.repeat, cell.server,
                  json.dumps(cell.fields, ensure_ascii=False), cell.category) for position, cell in enumerate(cells)])
        return run_id

    def recover(self) -> list[int]:
        """After a stop or a crash: cells caught in flight are queued again (marked retried); the runs that were
        running, to resume."""
        with self.store.writing(), self.store.database.transaction() as db:
            # Their generations too, when the run workers' process stopped and the web process went on (its own
            # start marks every running generation interrupted).
            db.execute("UPDATE generations SET status='interrupted', error_kind='interrupted', error_message=? "
                       "WHERE status='running' AND id IN (SELECT generation_id FROM run_cells WHERE status='sending')",
                       (INTERRUPTED,))
            db.execute("UPDATE run_cells SET status='pending', retried=1 WHERE status='sending'")
            db.execute("UPDATE runs SET running_since=? WHERE status='running'", (time.time(),))
        return [row[0] for row in self.store.db.execute("SELECT id FROM runs WHERE status='running' ORDER BY id")]

    def any_running(self) -> bool:
        return self.store.db.execute("SELECT 1 FROM runs WHERE status='running' LIMIT 1").fetchone() is not None

    def get(self, run_id: int) -> Run | None:
        row = self.store.db.execute("SELECT * FROM runs WHERE id=?", (run_id,)).fetchone()
        return _run(row) if row else None

    def recent(self, limit: int = 50) -> list[Run]:
        return [_run(row) for row in self.store.db.execute("SELECT * FROM runs ORDER BY id DESC LIMIT ?", (limit,))]

    def servers(self, run_id: int) -> list[str]:
        """The servers this run still has cells to send to."""
        return [row[0] for row in self.store.db.execute(
            "SELECT DISTINCT server FROM run_cells WHERE run_id=? AND status='pending'", (run_id,))]

    def set_status(self, run_id: int, status: str, reason: str | None = None,
                   only_from: tuple[str, ...] = RUN_STATUSES) -> bool:
        """Change a run's status if it is in one of `only_from`; False if it was not (or there is no such run)."""
        marks = ",".join("?" * len(only_from))
        now = time.time()
        finished = now if status in ("done", "cancelled") else None
        with self.store.writing():
            return self.store.db.execute(
                f"UPDATE runs SET status=?, reason=?, finished_at=?, running_since=CASE WHEN ?='running' THEN ? "
                f"ELSE running_since END WHERE id=? AND status IN ({marks})",
                (status, reason, finished, status, now, run_id, *only_from)).rowcount > 0

    def cancel_pending(self, run_id: int) -> None:
        with self.store.writing():
            self.store.db.execute("UPDATE run_cells SET status='cancelled', finished_at=? "
                                  "WHERE run_id=? AND status='pending'", (time.time(), run_id))

    def claim(self, run_id: int, server: str) -> ClaimedCell | None:
        """The next pending cell of this run for this server, now `sending`; None when there is none left."""
        with self.store.writing(), self.store.database.transaction() as db:
            row = db.execute("SELECT id, fields_json, attempts FROM run_cells WHERE run_id=? AND status='pending' "
                             "AND server=? ORDER BY position LIMIT 1", (run_id, server)).fetchone()
            if row is None:
                return None
            db.execute("UPDATE run_cells SET status='sending', attempts=attempts+1 WHERE id=?", (row[0],))
        return ClaimedCell(row[0], run_id, server, json.loads(row[1]), row[2] + 1)

    def started(self, cell_id: int, generation_id: int) -> None:
        """The generation a cell's call is recorded as, as soon as it is (the page links to it while it runs)."""
        with self.store.writing():
            self.store.db.execute("UPDATE run_cells SET generation_id=? WHERE id=?", (generation_id, cell_id))

    def put_back(self, cell_id: int) -> None:
        """A cell the server asked to wait for (rate limited): queued again in its place, not failed, and no longer
        linked to the attempt."""
        with self.store.writing():
            self.store.db.execute("UPDATE run_cells SET status='pending', generation_id=NULL "
                                  "WHERE id=? AND status='sending'", (cell_id,))

    def finish(self, cell_id: int, status: str, generation_id: int | None, error: tuple[str, str] | None = None,
               cost_usd: float | None = None) -> None:
        kind, message = error or (None, None)
        with self.store.writing():
            self.store.db.execute(
                "UPDATE run_cells SET status=?, generation_id=COALESCE(?, generation_id), error_kind=?, "
                "error_message=?, cost_usd=?, finished_at=? WHERE id=? AND status='sending'",
                (status, generation_id, kind, message, cost_usd, time.time(), cell_id))

    def counts(self, run_id: int) -> dict[str, int]:
        counted = dict.fromkeys(CELL_STATUSES, 0)
        for status, count in self.store.db.execute(
                "SELECT status, COUNT(*) FROM run_cells WHERE run_id=? GROUP BY status", (run_id,)):
            counted[status] = count
        return counted

    def tally(self, run_id: int, running_since: float | None = None) -> Tally:
        """The run's cells by status, the cost of those priced and its recent rate, in one pass over its cells
        (a progress bar asked for every second stays cheap at 10,000 cells). The rate is the cells finished in the
        last RATE_WINDOW seconds, or since the run last began running if that is later, over that time: near the
        truth from the first cell on, and never a burst of cells finishing together taken for a speed."""
        now = time.time()
        since = max(now - RATE_WINDOW, running_since or 0.0)
        counts, cost, priced, recent = dict.fromkeys(CELL_STATUSES, 0), 0.0, 0, 0
        for status, count, spent, with_price, finished in self.store.db.execute(
                "SELECT status, COUNT(*), TOTAL(cost_usd), COUNT(cost_usd), COUNT(CASE WHEN finished_at > ? THEN 1 "
                "END) FROM run_cells WHERE run_id=? GROUP BY status", (since, run_id)):
            counts[status], cost, priced = count, cost + spent, priced + with_price
            if status in ("done", "failed"):
                recent += finished
        rate = recent / (now - since) if recent and now - since >= MIN_RATE_SPAN else None
        return Tally(counts, cost, priced, rate)

    def cells(self, run_id: int, page: int = 1, per_page: int = 50, status: str = "",
              target: int | None = None) -> tuple[list[dict[str, Any]], int]:
        """One page of a run's cells (in queue order), with the total that match."""
        clauses, params = ["c.run_id = ?"], [run_id]
        if status:
            clauses.append("c.status = ?")
            params.append(status)
        if target is not None:
            clauses.append("c.target_index = ?")
            params.append(target)
        where = " AND ".join(clauses)
        total = self.store.db.execute(f"SELECT COUNT(*) FROM run_cells c WHERE {where}", params).fetchone()[0]
        rows = self.store.db.execute(
            f"SELECT c.* FROM run_cells c WHERE {where} ORDER BY c.position LIMIT ? OFFSET ?",
            [*params, per_page, (page - 1) * per_page])
        return [_cell(row) for row in rows], total


def _run(row: Any) -> Run:
    return Run(row["id"], row["created_at"], row["name"], row["status"], row["reason"],
               json.loads(row["targets_json"]), row["repeats"], row["concurrency"], row["total"], row["finished_at"],
               row["running_since"])


def _cell(row: Any) -> dict[str, Any]:
    fields = json.loads(row["fields_json"])
    generation = row["generation_id"]
    return {"id": row["id"], "position": row["position"], "prompt_index": row["prompt_index"],
            "target_index": row["target_index"], "repeat": row["repeat"], "server": row["server"],
            "model": fields.get("model"), "prompt": fields.get("prompt"), "fields": fields,
            "category": row["category"], "status": row["status"], "attempts": row["attempts"],
            "retried": bool(row["retried"]), "generation_id": generation,
            "permalink": f"/generations/{generation}" if generation else None,
            "error": {"kind": row["error_kind"], "message": row["error_message"]} if row["error_kind"] else None,
            "cost_usd": row["cost_usd"], "finished_at": row["finished_at"]}
