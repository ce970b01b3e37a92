"""The history as it happens: GET /api/events, Server-Sent Events that pages showing the history listen to.

Each event is `generation` with {"type", "id", "status", "permalink"} whenever a generation begins, changes or ends
(from the form, the API, or a program through /v1), and `run` with {"type", "id", "status", "total", "done",
"failed", "pending", "permalink"} as a run's cells finish. A connection lasts at most STREAM_SECONDS; the browser's
EventSource reconnects by itself (after `retry`) and the page catches up, so no thread is held forever.
"""
from __future__ import annotations

import time
from typing import Any, Callable, Iterator

from flask import Blueprint, Response

from proofsheet.results import Problem
from proofsheet.running.events import Subscription
from proofsheet.upstream import sse
from proofsheet.web.context import asker_gone, runner
from proofsheet.web.errors import refusal

live = Blueprint("live", __name__)
STREAM_SECONDS = 50.0
HEARTBEAT_SECONDS = 15.0
GONE_CHECK_SECONDS = 0.25


@live.get("/api/events")
def events() -> Any:
    subscription = runner().events.subscribe()
    if subscription is None:
        return refusal(Problem("busy", "As many pages as Proofsheet serves are already following the history live."))
    return Response(_stream(subscription, asker_gone()), mimetype="text/event-stream",
                    headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


def _stream(subscription: Subscription, gone: Callable[[], bool] | None) -> Iterator[bytes]:
    """Events as they come; a comment now and then; over when the page has gone (checked often: each open stream
    holds a thread) or after STREAM_SECONDS, when the browser reconnects by itself."""
    try:
        yield b"retry: 1000\n\n"
        now = time.monotonic()
        ends, heartbeat = now + STREAM_SECONDS, now + HEARTBEAT_SECONDS
        while time.monotonic() < ends and not (gone and gone()):
            event = subscription.next(timeout=GONE_CHECK_SECONDS)
            if event is not None:
                yield sse.encode(event.get("type", "generation"), event)
            elif time.monotonic() > heartbeat:
                heartbeat = time.monotonic() + HEARTBEAT_SECONDS
                yield b": still here\n\n"
    finally:
        subscription.close()
