"""Running prompt-set runs: workers that take cells from the durable queue (history/runs.py) and ask the servers.

The scheduler lives in the run workers' own process (running/run_process.py), so that pages answer as fast during
a run. Each run has, per server, at most `concurrency` workers; each worker waits for a place among the
conversations in flight (running/admission.py) before it claims a cell: that process's own places, not the web
process's, so a person's generations never wait behind a run.
A server that says "wait" (429, or 503 with Retry-After or LiteLLM's cooldown words) is waited for and the cell asked
again, up to MAX_ATTEMPTS, without counting as a failure; a cell's own failure is recorded and the run goes on;
STREAK_LIMIT failures in a row pause the run with the reason. On start, runs that were running resume by themselves.
"""
from __future__ import annotations

import logging
import threading
import time
from typing import Any

from proofsheet import settings
from proofsheet.asking.generation import RequestErrors, parse_request
from proofsheet.asking.runs import RunRequest
from proofsheet.history.records import StoredGeneration
from proofsheet.history.runs import ClaimedCell, RunBook
from proofsheet.history.store import StorageError
from proofsheet.results import Problem, VerifiedImage
from proofsheet.running.admission import Place
from proofsheet.running.runner import Runner

log = logging.getLogger(__name__)
PLACE_WAIT = 1.0  # seconds a worker waits for a place before it looks again whether its run still runs
STREAK_LIMIT = 5  # failures in a row that pause a run: the server is down, or refuses everything
MAX_ATTEMPTS = settings.RUN_MAX_ATTEMPTS
DEFAULT_WAIT = 5  # seconds, when a server says to wait without saying how long
MAX_WAIT = 300  # seconds: a longer Retry-After is waited for in steps, the run's status looked at between them
PUBLISH_EVERY = 0.5  # seconds between a run's progress events (its status changes are always told at once)


class CellListener:
    """Links a cell to its generation as soon as the generation is recorded (a Runner Listener)."""

    def __init__(self, scheduler: RunScheduler, cell: ClaimedCell) -> None:
        self.scheduler, self.cell = scheduler, cell
        self.generation_id: int | None = None

    def started(self, generation_id: int) -> None:
        self.generation_id = generation_id
        self.scheduler.book.started(self.cell.id, generation_id)
        self.scheduler.in_flight(self.cell.run_id, generation_id, True)

    def partial(self, generation_id: int, index: int, image: VerifiedImage) -> None:
        return None  # a run's cells are looked at once done


class RunScheduler:
    def __init__(self, runner: Runner, book: RunBook, max_attempts: int = MAX_ATTEMPTS) -> None:
        self.runner, self.book, self.max_attempts = runner, book, max_attempts
        self._lock = threading.Lock()
        self._workers: dict[tuple[int, str], int] = {}  # (run, server) -> workers alive
        self._flying: dict[int, set[int]] = {}  # run -> generations in flight, cut on cancel
        self._not_before: dict[tuple[int, str], float] = {}  # (run, server) -> when the server said to come back
        self._streaks: dict[int, int] = {}
        self._published: dict[int, float] = {}
        # The runs whose status is `running`, kept with every change the scheduler makes (it makes them all): the
        # workers look here before each cell instead of reading the run from the database.
        self._running: set[int] = set()
        self._stopping = threading.Event()

    # -- what the pages and the API do ------------------------------------------------------------------------------

    def start(self, parsed: RunRequest) -> int | Problem:
        try:
            run_id = self.book.create(parsed.name, parsed.targets, parsed.repeats, parsed.concurrency, parsed.planned)
        except StorageError as error:
            return error.problem
        self.launch(run_id)
        return run_id

    def resume_all(self) -> list[int]:
        """On start: cells caught in flight are queued again, and the runs that were running go on."""
        try:
            resumed = self.book.recover()
        except StorageError as error:  # Proofsheet still starts; the runs wait until the folder takes writes again
            log.warning("The runs that were running could not be resumed: %s", error.problem.message)
            return []
        for run_id in resumed:
            log.info("Resuming run %d", run_id)
            self.launch(run_id)
        return resumed

    def pause(self, run_id: int) -> bool:
        """No new calls; those in flight finish and are kept."""
        return self._change(run_id, "paused", ("running",))

    def resume(self, run_id: int) -> bool:
        with self._lock:
            self._streaks.pop(run_id, None)
        if not self._change(run_id, "running", ("paused",)):
            return False
        self.launch(run_id)
        return True

    def cancel(self, run_id: int) -> bool:
        """No new calls, the cells left are cancelled, and the calls in flight are cut."""
        self._stop_claiming(run_id)
        if not self.book.set_status(run_id, "cancelled", only_from=("running", "paused")):
            return False
        self.book.cancel_pending(run_id)
        with self._lock:
            flying = list(self._flying.get(run_id, ()))
        for generation_id in flying:
            if self.runner.store.cancel(generation_id, "Cancelled with its run."):
                self.runner.flights.cancel(generation_id)
        self.publish(run_id, force=True)
        return True

    def close(self, wait: float = 30.0) -> None:
        """Stop the workers (a clean shutdown): the calls in flight are cut and asked again on the next start. Waits
        for every worker to let go of the history, which closes next (a worker still reading it could crash it)."""
        self._stopping.set()
        with self._lock:
            flying = [generation_id for ids in self._flying.values() for generation_id in ids]
        for generation_id in flying:
            self.runner.flights.cancel(generation_id)
        deadline = time.monotonic() + wait
        while self._workers and time.monotonic() < deadline:
            time.sleep(0.05)

    def in_flight(self, run_id: int, generation_id: int, flying: bool) -> None:
        with self._lock:
            ids = self._flying.setdefault(run_id, set())
            ids.add(generation_id) if flying else ids.discard(generation_id)

    def publish(self, run_id: int, force: bool = False) -> None:
        """Tell the pages following live how far the run is (at most every PUBLISH_EVERY seconds, unless forced)."""
        now = time.monotonic()
        with self._lock:
            if not force and now - self._published.get(run_id, 0.0) < PUBLISH_EVERY:
                return
            self._published[run_id] = now
        run = self.book.get(run_id)
        if run is None:
            return
        counts = self.book.counts(run_id)
        self.runner.events.publish({"type": "run", "id": run_id, "status": run.status, "total": run.total,
                                    "done": counts["done"], "failed": counts["failed"],
                                    "pending": counts["pending"] + counts["sending"], "permalink": f"/runs/{run_id}"})

    # -- the workers ------------------------------------------------------------------------------------------------

    def _change(self, run_id: int, status: str, only_from: tuple[str, ...], reason: str | None = None) -> bool:
        if status != "running":
            self._stop_claiming(run_id)
        changed = self.book.set_status(run_id, status, reason, only_from)
        if changed:
            if status == "running":
                with self._lock:
                    self._running.add(run_id)
            self.publish(run_id, force=True)
        return changed

    def _stop_claiming(self, run_id: int) -> None:
        """Before the run leaves `running` (a no-op if it was not running): under the lock the workers claim under,
        so none claims a cell once the change is made."""
        with self._lock:
            self._running.discard(run_id)

    def launch(self, run_id: int) -> None:
        """Workers for each server the run still has cells for, up to its concurrency."""
        run = self.book.get(run_id)
        if run is None or run.status != "running":
            return
        with self._lock:
            self._running.add(run_id)
        servers = self.book.servers(run_id)
        for server in servers:
            with self._lock:
                alive = self._workers.get((run_id, server), 0)
                self._workers[(run_id, server)] = max(alive, run.concurrency)
            for _ in range(run.concurrency - alive):
                threading.Thread(target=self._work, args=(run_id, server), daemon=True,
                                 name=f"run-{run_id}-{server}").start()
        if not servers:
            self._finish_if_done(run_id)

    def _work(self, run_id: int, server: str) -> None:
        try:
            while self._goes_on(run_id) and self._wait_for(run_id, server) and self._next_cell(run_id, server):
                pass
        except StorageError as error:  # the disk is full or read-only: said once, and this worker stops
            log.warning("Run %d stopped sending to %s: %s", run_id, server, error.problem.message)
        except Exception:  # a fault of Proofsheet's own: logged, and this worker stops; the run can be resumed
            log.exception("A worker of run %d stopped", run_id)
        finally:
            self._worker_ended(run_id, server)

    def _next_cell(self, run_id: int, server: str) -> bool:
        """Wait for a place, then claim and send one cell; False when none is left to claim."""
        place = self.runner.place(wait=PLACE_WAIT)
        if isinstance(place, Problem):
            return True  # every place taken: look again (the run may have been paused meanwhile)
        with place:
            # The wait is read and the cell claimed under one lock, as a rate-limited cell is put back under it:
            # a worker that looked just before the wait was set never claims that cell before the wait is over.
            with self._lock:
                if self._not_before.get((run_id, server), 0.0) > time.monotonic():
                    return True  # the server said to wait while this worker waited for its place
                cell = self.book.claim(run_id, server) if self._goes_on(run_id) else None
            if cell is None:
                return False
            self._send(place, cell)
            return True

    def _worker_ended(self, run_id: int, server: str) -> None:
        with self._lock:
            self._workers[(run_id, server)] -= 1
            if not self._workers[(run_id, server)]:
                del self._workers[(run_id, server)]
            last = not any(key[0] == run_id for key in self._workers)
        self.runner.store.release_connection()
        if last and not self._stopping.is_set():
            self._finish_if_done(run_id)

    def _goes_on(self, run_id: int) -> bool:
        return not self._stopping.is_set() and run_id in self._running

    def _wait_for(self, run_id: int, server: str) -> bool:
        """Until the server said to come back (in short steps, so that pause and cancel are seen); False if the
        run stopped meanwhile."""
        while True:
            with self._lock:
                left = self._not_before.get((run_id, server), 0.0) - time.monotonic()
            if left <= 0:
                return True
            time.sleep(min(left, PLACE_WAIT))
            if not self._goes_on(run_id):
                return False

    def _send(self, place: Place, cell: ClaimedCell) -> None:
        parsed = parse_request({**cell.fields, "server": cell.server})
        if isinstance(parsed, RequestErrors):  # checked when queued; a server renamed since, for example
            self._failed(cell, None, Problem("bad_request", parsed.summary()))
            return
        listener = CellListener(self, cell)
        try:
            generation = self.runner.generate_in(place, parsed, listener)
        finally:
            if listener.generation_id is not None:
                self.in_flight(cell.run_id, listener.generation_id, False)
        if self._stopping.is_set():
            return  # cut by a shutdown: left `sending`, so the next start asks again (marked retried)
        if isinstance(generation, Problem):
            self._not_kept(cell, generation)
        else:
            self._kept(cell, generation)
        self.publish(cell.run_id)

    def _kept(self, cell: ClaimedCell, generation: StoredGeneration) -> None:
        error = generation.error
        if generation.shown_images:
            cost = generation.cost.usd if generation.cost else None
            self.book.finish(cell.id, "done", generation.id, cost_usd=cost)
            with self._lock:
                self._streaks[cell.run_id] = 0
        elif generation.status == "cancelled":
            self.book.finish(cell.id, "cancelled", generation.id, _error(error))
        elif error is not None and error.kind == "rate_limited" and cell.attempts < self.max_attempts:
            self._wait_then_again(cell, error.retry_after or DEFAULT_WAIT)
            # A waited attempt is no failure: not kept in the History (a run behind a server that says "wait" would
            # fill it with them); the cell counts its attempts. The last one, if limited too, is kept as failed.
            self.runner.delete(generation.id)
        else:
            self._failed(cell, generation.id, error or Problem("no_image", "The server answered with no image."))

    def _not_kept(self, cell: ClaimedCell, problem: Problem) -> None:
        """The call could not start (the disk is full, say): the cell waits in the queue and the run pauses."""
        self.book.put_back(cell.id)
        self._change(cell.run_id, "paused", ("running",), f"Paused: {problem.message}")

    def _wait_then_again(self, cell: ClaimedCell, seconds: int) -> None:
        with self._lock:  # the wait and the cell back in the queue at once: no other worker sends it meanwhile
            key = (cell.run_id, cell.server)
            self._not_before[key] = max(self._not_before.get(key, 0.0), time.monotonic() + min(seconds, MAX_WAIT))
            self.book.put_back(cell.id)

    def _failed(self, cell: ClaimedCell, generation_id: int | None, problem: Problem) -> None:
        self.book.finish(cell.id, "failed", generation_id, (problem.kind, problem.message))
        with self._lock:
            streak = self._streaks[cell.run_id] = self._streaks.get(cell.run_id, 0) + 1
        if streak >= STREAK_LIMIT:
            self._change(cell.run_id, "paused", ("running",),
                         f"Paused after {streak} failures in a row; the last: {problem.message}")

    def _finish_if_done(self, run_id: int) -> None:
        counts = self.book.counts(run_id)
        if not counts["pending"] and not counts["sending"]:
            self._change(run_id, "done", ("running",))


def _error(problem: Problem | None) -> tuple[str, str] | None:
    return (problem.kind, problem.message) if problem else None


def progress(book: RunBook, run_id: int) -> dict[str, Any] | None:
    """How far a run is: its cells by status, the rate, the time left at that rate, the cost so far."""
    run = book.get(run_id)
    if run is None:
        return None
    tally = book.tally(run_id, run.running_since)
    counts = tally.counts
    rate = tally.rate if run.status == "running" else None
    left = counts["pending"] + counts["sending"]
    return {**run.to_dict(), "done": counts["done"], "failed": counts["failed"], "pending": left,
            "sending": counts["sending"], "cancelled": counts["cancelled"], "cost_usd": round(tally.cost_usd, 6),
            "priced_cells": tally.priced, "rate_per_minute": round(rate * 60, 2) if rate else None,
            "eta_s": round(left / rate) if rate else (0 if not left else None)}
