"""Generations that stream: POST /api/generate (or /api/edit) with "stream": true answers Server-Sent Events; the
partial images they name are served from memory while they are fresh (web/partials.py).

Events: `started` ({"id", "permalink"}) once the generation is recorded, `partial` ({"id", "index", "src", "width",
"height"}) for each partial image as the image server sends it, then `done` with the normalized result (the same
JSON as a plain POST /api/generate), or `error` ({"error": {"kind", "message"}}) when it could not start or
failed inside Proofsheet: the stream always ends with one of the two.
"""
from __future__ import annotations

import logging
import queue
import threading
from typing import Any, Callable, Iterator

from flask import Response

from proofsheet.running.runner import INTERNAL_ERROR, Listener
from proofsheet.history.records import StoredGeneration
from proofsheet.results import Problem, VerifiedImage
from proofsheet.upstream import sse
from proofsheet.web.context import runner

log = logging.getLogger(__name__)
HEARTBEAT_SECONDS = 15.0  # a comment line now and then keeps proxies and browsers from giving up while waiting


class _QueueListener:
    def __init__(self, events: "queue.Queue[tuple[str, Any]]") -> None:
        self.events = events

    def started(self, generation_id: int) -> None:
        self.events.put(("started", {"id": generation_id, "permalink": f"/generations/{generation_id}"}))

    def partial(self, generation_id: int, index: int, image: VerifiedImage) -> None:
        self.events.put(("partial", {"id": generation_id, "index": index, "width": image.width,
                                     "height": image.height, "src": f"/generations/{generation_id}/partials/{index}"}))


def stream_generation(run: Callable[[Listener], StoredGeneration | Problem]) -> Response:
    """Run the generation (or edit) beside the response and relay what it says as events, each as it happens.

    `run(listener)` is the runner's generate or edit with everything but the listener already given.
    """
    events: queue.Queue[tuple[str, Any]] = queue.Queue()
    store = runner().store

    def work() -> None:
        try:
            events.put(("end", _last_event(run(_QueueListener(events)))))
        except Exception:  # whatever raised, the stream still ends: with an error event that says so
            log.exception("A streamed generation failed")
            events.put(("end", sse.encode("error", {"error": Problem("internal_error", INTERNAL_ERROR).to_dict()})))
        finally:
            store.release_connection()

    threading.Thread(target=work, name="stream", daemon=True).start()
    return Response(_relay(events), mimetype="text/event-stream",
                    headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


def _relay(events: "queue.Queue[tuple[str, Any]]") -> Iterator[bytes]:
    while True:
        try:
            kind, payload = events.get(timeout=HEARTBEAT_SECONDS)
        except queue.Empty:
            yield b": still waiting for the image server\n\n"
            continue
        if kind == "end":
            yield payload
            return
        yield sse.encode(kind, payload)


def _last_event(outcome: StoredGeneration | Problem) -> bytes:
    """`done` with the result, or `error` when the generation could not start."""
    if isinstance(outcome, Problem):
        return sse.encode("error", {"error": outcome.to_dict()})
    return sse.encode("done", outcome.to_dict())
