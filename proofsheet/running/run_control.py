"""The web process's side of the prompt-set runs: it queues a run in the history, and the run workers' process
(running/run_process.py) sends its cells.

The workers' process is started when a run is first started or resumed, or at start when a run was running, and
lives as long as the web process. Each command (launch, pause, resume, cancel) waits for the workers' answer, so
the pages and the API say what happened as they did when the workers were threads of the web process; what the
workers publish (a run's progress) is told to the pages following live. If the workers' process
ends unexpectedly it is started again, and the cells it had in flight are asked again, marked retried, as after a
restart.
"""
from __future__ import annotations

import json
import logging
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO, Any, Callable

from proofsheet.asking.runs import RunRequest
from proofsheet.history.runs import RunBook
from proofsheet.history.store import StorageError
from proofsheet.results import Problem
from proofsheet.running.events import EventBus

log = logging.getLogger(__name__)
ROOT = Path(__file__).resolve().parents[2]  # the folder `python -m proofsheet...` is run from
ANSWER_WITHIN = 30.0  # seconds a command waits for the workers (a loaded machine starts a process slowly)
CLOSE_WITHIN = 35.0  # seconds the workers have to cut their calls and let go of the history when Proofsheet stops
RESTARTS = 3  # unexpected ends within RESTART_WINDOW after which the workers wait for the next command
RESTART_WINDOW = 60.0
# The settings the workers' process needs to build the same servers and history.
WORKER_SETTINGS = ("API_BASE", "API_KEY", "DEFAULT_SERVER", "SERVER_LABEL", "SERVERS", "TIMEOUT", "MAX_RESPONSE_BYTES",
                   "MAX_IMAGE_BYTES", "IMAGE_TIMEOUT", "MAX_IN_FLIGHT", "RUN_MAX_ATTEMPTS")


class Workers:
    """One run workers' process and the thread that reads what it says."""

    def __init__(self, settings: dict[str, Any], events: EventBus, on_end: Callable[[Workers], None]) -> None:
        self._events, self._on_end = events, on_end
        self._replies: dict[int, tuple[threading.Event, list[bool]]] = {}
        self._lock = threading.Lock()
        self._next = 0
        self.process = subprocess.Popen([sys.executable, "-m", "proofsheet.running.run_process"], cwd=ROOT,
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, encoding="utf-8")
        # The settings go through the pipe, not the command line: the key is never in the process list.
        self._write(settings)
        threading.Thread(target=self._read, args=(self.process.stdout,), daemon=True, name="run-workers").start()

    def alive(self) -> bool:
        return self.process.poll() is None

    def ask(self, action: str, run_id: int) -> bool:
        """Send a command and wait for its answer; False when the workers did not answer."""
        done, answer = threading.Event(), [False]
        with self._lock:
            self._next += 1
            number = self._next
            self._replies[number] = (done, answer)
        if not self._write({"id": number, "do": action, "run": run_id}) or not done.wait(ANSWER_WITHIN):
            log.warning("The run workers did not answer (%s run %d).", action, run_id)
        with self._lock:
            self._replies.pop(number, None)
        return answer[0]

    def close(self) -> None:
        self._write({"do": "close"})
        try:
            self.process.wait(CLOSE_WITHIN)
        except subprocess.TimeoutExpired:
            log.warning("The run workers did not stop within %d s; they were stopped.", CLOSE_WITHIN)
            self.process.kill()
            self.process.wait()

    def _write(self, message: dict[str, Any]) -> bool:
        try:
            with self._lock:
                assert self.process.stdin is not None
                self.process.stdin.write(json.dumps(message) + "\n")
                self.process.stdin.flush()
            return True
        except (OSError, ValueError):  # the workers' process has ended: its reader says so
            return False

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            try:
                message = json.loads(line)
            except ValueError:
                continue
            if "event" in message:
                self._events.publish(message["event"])
            elif "reply" in message:
                with self._lock:
                    waiting = self._replies.get(message["reply"])
                if waiting:
                    waiting[1][0] = bool(message.get("ok"))
                    waiting[0].set()
        self.process.wait()
        with self._lock:
            for done, _ in self._replies.values():
                done.set()
        self._on_end(self)


class RunControl:
    """What the pages and the API do with runs: start, pause, resume, cancel; each told to the workers."""

    def __init__(self, book: RunBook, config: dict[str, Any], via: str, events: EventBus) -> None:
        self.book = book
        self._settings = {name: config[name] for name in WORKER_SETTINGS}
        self._settings.update(DATA_DIR=str(Path(config["DATA_DIR"]).resolve()), VIA=via,
                              LOG_LEVEL=logging.getLogger().getEffectiveLevel())
        self._events = events
        self._lock = threading.Lock()
        self._workers: Workers | None = None
        self._ends: list[float] = []
        self._closing = False

    def start(self, parsed: RunRequest) -> int | Problem:
        try:
            run_id = self.book.create(parsed.name, parsed.targets, parsed.repeats, parsed.concurrency, parsed.planned)
        except StorageError as error:
            return error.problem
        self._ask("launch", run_id)  # queued in the history: if the workers cannot take it now, the next start does
        return run_id

    def resume_all(self) -> None:
        """On start: a run that was running goes on (the workers' process resumes every such run as it starts)."""
        if self.book.any_running():
            self._started()

    def pause(self, run_id: int) -> bool:
        return self._ask("pause", run_id)

    def resume(self, run_id: int) -> bool:
        return self._ask("resume", run_id)

    def cancel(self, run_id: int) -> bool:
        return self._ask("cancel", run_id)

    def close(self) -> None:
        """Stop the workers: the calls in flight are cut and asked again on the next start."""
        with self._lock:
            self._closing = True
            workers, self._workers = self._workers, None
        if workers is not None:
            workers.close()

    def _ask(self, action: str, run_id: int) -> bool:
        workers = self._started()
        return workers.ask(action, run_id) if workers is not None else False

    def _started(self) -> Workers | None:
        with self._lock:
            if self._closing:
                return None
            if self._workers is None or not self._workers.alive():
                try:
                    self._workers = Workers(self._settings, self._events, self._ended)
                except OSError as error:
                    log.warning("The run workers could not be started: %s", error)
                    return None
            return self._workers

    def _ended(self, workers: Workers) -> None:
        """The workers' process ended without being told to: started again if runs are running (a few times)."""
        with self._lock:
            if self._closing or workers is not self._workers:
                return
            self._workers = None
            now = time.monotonic()
            self._ends = [end for end in self._ends if now - end < RESTART_WINDOW] + [now]
            again = len(self._ends) <= RESTARTS
        log.warning("The run workers stopped (exit status %s)%s.", workers.process.returncode,
                    "; starting them again" if again else "; they start again with the next run started or resumed")
        try:
            if again and self.book.any_running():
                self._started()
        finally:
            self.book.store.release_connection()  # this thread ends here: its database handle with it
