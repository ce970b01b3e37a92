"""The run workers' own process: a prompt-set run's workers ask the image servers here, not in the web process.

Thousands of cells decode, verify and keep images; in the web process they would take turns with the pages for the
one interpreter lock, and the pages would answer two or three times slower while a run goes (bench/runs.py). Here,
at a lower priority, they leave the web process and its pages alone. The web process (running/run_control.py)
starts this one with `python -m proofsheet.running.run_process`, writes its settings as the first line of stdin,
then one command a line; this process answers each command, and tells the web process what its pages should hear,
a JSON object a line on stdout. It stops when told to, or when stdin ends: the web process has gone, killed or not.
"""
from __future__ import annotations

import json
import logging
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any, TextIO

from proofsheet.history.runs import RunBook
from proofsheet.history.store import HistoryUnavailable, Store
from proofsheet.redaction import install_log_redaction
from proofsheet.running.events import EventBus
from proofsheet.running.runner import Runner
from proofsheet.running.runs import RunScheduler
from proofsheet.upstream.servers import KEYS_FILE, SERVERS_FILE, ServerRegistry, registry_from

log = logging.getLogger(__name__)
NICENESS = 10  # the web process and the image server go first
COMMANDS = ("launch", "pause", "resume", "cancel")


class Outbox:
    """Lines to the web process, one JSON object each, whole even when several threads write at once."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._lock = threading.Lock()

    def send(self, message: dict[str, Any]) -> None:
        line = json.dumps(message, ensure_ascii=False, separators=(",", ":")) + "\n"
        with self._lock:
            try:
                self._stream.write(line)
                self._stream.flush()
            except (OSError, ValueError):  # the web process has gone: stdin ends too, and this process stops
                pass


class ForwardedEvents(EventBus):
    """How far the runs are goes to the web process, which tells the pages following live. Their generations do
    not: the History shows a run as one entry, and its pages pass over them (static/live.js)."""

    def __init__(self, outbox: Outbox) -> None:
        super().__init__(max_listeners=0)
        self._outbox = outbox

    def publish(self, event: dict[str, Any]) -> None:
        if event.get("via") != "run":
            self._outbox.send({"event": event})


class Servers:
    """The servers as the web process has them: those added on its Servers page since are read again when a run
    is started or resumed."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.config, self.folder = config, Path(config["DATA_DIR"])
        self._seen = self._files_changed()
        self.registry = self._build()

    def refreshed(self) -> ServerRegistry:
        seen = self._files_changed()
        if seen != self._seen:
            self._seen, self.registry = seen, self._build()
        return self.registry

    def _build(self) -> ServerRegistry:
        return registry_from(self.config, self.folder, self.config["VIA"])

    def _files_changed(self) -> tuple[float, ...]:
        return tuple(path.stat().st_mtime if path.exists() else 0.0
                     for path in (self.folder / SERVERS_FILE, self.folder / KEYS_FILE))


def serve(config: dict[str, Any], commands: TextIO, outbox: Outbox) -> int:
    """Resume the runs that were running, then do what each command line says until told to stop."""
    try:
        # A run's thumbnails are made when a page first shows them (the web process makes one on request): a run
        # keeps thousands of images, most never looked at one by one, and its workers share the machine's cores
        # with the image server and the pages.
        store = Store(config["DATA_DIR"], owner=False, thumbnails_ahead=False)
    except HistoryUnavailable as error:
        log.warning("The runs cannot go on: %s", error)
        return 1
    servers = Servers(config)
    install_log_redaction(lambda: servers.registry.redactor())
    runner = Runner(store, servers.registry, int(config["MAX_IN_FLIGHT"]), ForwardedEvents(outbox))
    scheduler = RunScheduler(runner, RunBook(store), int(config["RUN_MAX_ATTEMPTS"]))
    try:
        scheduler.resume_all()
        outbox.send({"ready": True})
        for line in commands:
            command = json.loads(line)
            if command.get("do") == "close":
                break
            if command.get("do") in ("launch", "resume"):
                runner.servers = servers.refreshed()
            outbox.send({"reply": command.get("id"), "ok": _do(scheduler, command)})
    finally:
        scheduler.close()
        store.close()
    return 0


def _do(scheduler: RunScheduler, command: dict[str, Any]) -> bool:
    action, run_id = command.get("do"), command.get("run")
    if action not in COMMANDS or not isinstance(run_id, int):
        log.warning("The run workers were asked for %r, which they do not do.", action)
        return False
    if action == "launch":
        scheduler.launch(run_id)
        return True
    return bool(getattr(scheduler, action)(run_id))


def _lower_priority() -> None:
    """A higher niceness than the web process's, so that a page asked for while a run goes is answered first. Not
    Linux's idle class: on a machine kept busy (a test suite, a build) it starved a run to a standstill."""
    try:
        os.nice(NICENESS)
    except OSError:
        pass


def main() -> int:
    # Ctrl-C in a terminal reaches this process too: it stops when the web process, closing, tells it to.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    config = json.loads(sys.stdin.readline() or "null")
    if not isinstance(config, dict):
        return 2
    logging.basicConfig(level=config["LOG_LEVEL"], format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    _lower_priority()
    try:
        return serve(config, sys.stdin, Outbox(sys.stdout))
    except Exception:  # a fault of Proofsheet's own: one line in the log; the web process starts the workers again
        log.error("The run workers stopped on an error of Proofsheet's own.", exc_info=config["LOG_LEVEL"] <= 10)
        return 1


if __name__ == "__main__":
    sys.exit(main())
