"""Keeping what passes through Proofsheet's /v1 endpoint: each call is recorded as running before it is relayed,
and finished beside the relay — in the background, once the caller has every byte — like a generation made here.

Recording never stands in the caller's way: a call that cannot be recorded (disk full) is still relayed, and a
failure while keeping the answer is logged, never sent to the caller.

Memory stays bounded however large the answers and however many callers: the answer is copied to a temporary file in
the data folder as it passes (nothing of it is held), and at most KEEP_QUEUE answers wait to be kept, read back one
per keeper thread. An answer that finds no place in the queue, or waits longer than KEEP_WAIT for its turn, is
recorded as failed, saying it was not kept; the caller had it all the same.
"""
from __future__ import annotations

import ctypes
import functools
import itertools
import logging
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from proofsheet.asking.asked_vs_got import asked_vs_got
from proofsheet.asking.generation import GenerationRequest, RequestErrors, parse_request
from proofsheet.running.runner import Runner
from proofsheet.history.store import StorageError, storage_problem
from proofsheet.redaction import Redactor
from proofsheet.results import GenerationResult, Problem, VerifiedImage
from proofsheet.upstream.edits import kept_request
from proofsheet.upstream.relay import Relayed
from proofsheet.upstream.servers import Server

log = logging.getLogger(__name__)
_unrecorded = itertools.count(-1, -1)  # flights of calls not recorded get ids of their own
# The web server may still be sending the last megabyte or two of a large answer when the relay has handed it all
# on; parsing it (16 MB of JSON holds the interpreter for milliseconds) would hold those sends up. Keeping a large
# answer waits a moment first (bench/v1_relay.py: 1.09-1.10x -> 1.07-1.08x the time straight to the server).
LARGE_ANSWER = 1024 * 1024
TAIL_PAUSE = 0.05  # seconds
KEEPERS = 2  # answers read back and kept at once (each may take a few times its size in memory while parsed)
KEEP_QUEUE = 32  # answers waiting to be kept or being kept, each a file of at most the size cap (64 MB)
KEEP_WAIT = 120.0  # seconds an answer may wait for a keeper before it is given up


@dataclass
class Call:
    """One call through /v1: what the caller sent, and where it is kept."""

    kind: str  # "generation" or "edit"
    server: Server
    body: dict[str, Any]  # the JSON body, or an edit's form fields
    redactor: Redactor
    inputs: list[VerifiedImage]
    mask: VerifiedImage | None = None
    generation_id: int | None = None
    started: float = 0.0

    @property
    def endpoint(self) -> str:
        client = self.server.client
        return client.edits_url if self.kind == "edit" else client.generations_url

    @functools.cached_property
    def flight_id(self) -> int:
        """The generation's id, or (for a call that could not be recorded) an id of its own, the same every time."""
        return self.generation_id if self.generation_id is not None else unrecorded_id()


def unrecorded_id() -> int:
    """An id for the flight of a call that is relayed but not kept (below zero: never a generation's)."""
    return next(_unrecorded)


class Recorder:
    def __init__(self, runner: Runner, queue_size: int = KEEP_QUEUE, wait: float = KEEP_WAIT) -> None:
        self.runner = runner
        self.queue_size = queue_size
        self.wait = wait
        self._places = threading.BoundedSemaphore(queue_size)
        self._pool = ThreadPoolExecutor(max_workers=KEEPERS, thread_name_prefix="recorder")

    def close(self) -> None:
        """Finish keeping every answer already relayed (before the history is closed)."""
        self._pool.shutdown(wait=True)

    def begin(self, call: Call) -> None:
        """Record the call as running, via /v1; on a full or read-only disk, relay it unrecorded."""
        store = self.runner.store
        call.started = time.monotonic()
        body = call.redactor.value(call.body)
        if call.kind == "edit":
            body = kept_request(body, call.inputs, call.mask)
        try:
            call.generation_id = store.begin(body, call.endpoint, kind=call.kind, via="v1", server=call.server.name,
                                             prompt=_text(body.get("prompt")), model=_text(body.get("model")))
            if call.inputs:
                store.add_inputs(call.generation_id, call.inputs, call.mask)
        except StorageError as error:
            log.warning("A /v1 call is relayed but not recorded: %s", error.problem.message)
            if call.generation_id is not None:
                store.fail(call.generation_id, error.problem)
            return
        self.runner.announce(call.generation_id, "running")

    def fail(self, call: Call, problem: Problem) -> None:
        """The call never reached the image server: recorded as failed with why."""
        if call.generation_id is None:
            return
        result = GenerationResult(request=call.body, endpoint=call.endpoint, error=problem,
                                  elapsed=time.monotonic() - call.started)
        self.runner.store.finish(call.generation_id, result)
        self.runner.announce(call.generation_id)

    def copy_as_it_passes(self, call: Call, relayed: Relayed) -> None:
        """Have the answer copied to a temporary file in the data folder as it is relayed (gone once kept, and with
        the process should it end first); a call not recorded is not copied."""
        if call.generation_id is None:
            return
        try:
            relayed.copy_to = tempfile.TemporaryFile(dir=self.runner.store.responses_dir, suffix=".relayed.tmp")
        except OSError as exc:
            relayed.copy_failed = exc

    def finish_later(self, call: Call, relayed: Relayed) -> None:
        """Keep the answer in the background, once the caller has taken its last bytes."""
        if call.generation_id is None:
            return
        if not self._places.acquire(blocking=False):
            self._not_kept(call, relayed, f"{self.queue_size} answers were already waiting to be kept")
            return
        self._pool.submit(self._finish_after_the_caller, call, relayed, time.monotonic())

    def _finish_after_the_caller(self, call: Call, relayed: Relayed, queued: float) -> None:
        try:
            if time.monotonic() - queued > self.wait:
                self._not_kept(call, relayed, f"it waited more than {self.wait:g} seconds behind other answers")
                return
            if relayed.size > LARGE_ANSWER:
                time.sleep(TAIL_PAUSE)
            self._finish(call, relayed)
        finally:
            self._places.release()

    def finish_now(self, call: Call, relayed: Relayed) -> None:
        if call.generation_id is not None:
            self._finish(call, relayed)

    def _finish(self, call: Call, relayed: Relayed) -> None:
        try:
            if relayed.copy_failed:
                self._end_failed(call, storage_problem(relayed.copy_failed, self.runner.store.folder))
                return
            result = GenerationResult(request=call.redactor.value(call.body), endpoint=call.endpoint)
            call.server.client.read_relayed(result, relayed.status, relayed.reason, relayed.headers,
                                             relayed.read_copy(), call.redactor)
            asked = _parsed(call.body)
            if asked is not None:
                result.notes += asked_vs_got(asked, result)
            if relayed.problem:  # why the answer is short (cut, too large, too slow) says more than its parse
                result.error = relayed.problem
            result.elapsed = time.monotonic() - call.started
            status = self.runner.store.finish(call.generation_id, result)
            self.runner.announce(call.generation_id, status)
            log.info("/v1 %s kept as /generations/%d (%s)", call.kind, call.generation_id, status)
        except Exception:  # never let keeping a copy disturb anything else; say so in the log and on the row
            log.exception("Could not keep /v1 generation %s", call.generation_id)
            self._end_failed(call, Problem("not_kept", "The answer went to the caller, but Proofsheet could not "
                                                       "keep it (its log says why)."))
        finally:
            _discard(relayed)
            if relayed.size > LARGE_ANSWER:
                _return_freed_memory()

    def _not_kept(self, call: Call, relayed: Relayed, why: str) -> None:
        log.warning("/v1 generation %s relayed but not kept: %s", call.generation_id, why)
        _discard(relayed)
        self._end_failed(call, Problem("not_kept", f"The answer went to the caller, but Proofsheet did not keep it: "
                                                   f"{why}."))

    def _end_failed(self, call: Call, problem: Problem) -> None:
        self.runner.store.fail(call.generation_id, problem)
        self.runner.announce(call.generation_id)


def _discard(relayed: Relayed) -> None:
    """The copy is no longer needed: closing the temporary file removes it."""
    if relayed.copy_to is not None:
        relayed.copy_to.close()


def _glibc() -> Any:
    try:
        libc = ctypes.CDLL(None)  # the C library the interpreter runs on
    except (OSError, TypeError):  # Windows has no such handle
        return None
    return libc if hasattr(libc, "malloc_trim") else None


_LIBC = _glibc()  # None on systems without glibc's malloc_trim (macOS, Windows, musl)


def _return_freed_memory() -> None:
    """Hand the memory a large answer used back to the system. glibc keeps freed blocks of a few megabytes in each
    thread's arena for reuse, and with callers' answers passing eight at a time those arenas grow by hundreds of
    megabytes the process never gives back (bench/memory.py: +161 MB after three rounds and climbing; +37 MB with
    this, level)."""
    if _LIBC is not None:
        _LIBC.malloc_trim(0)


def _parsed(body: dict[str, Any]) -> GenerationRequest | None:
    """The caller's body as Proofsheet reads one, for asked-vs-got notes; None when it would not pass the checks."""
    parsed = parse_request(body)
    return None if isinstance(parsed, RequestErrors) else parsed


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""
