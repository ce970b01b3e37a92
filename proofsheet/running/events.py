"""What just happened to the history, for pages that show it live: a small in-process publish/subscribe.

Each listener (an open history page) has a bounded queue; a listener that falls behind loses the oldest events and
simply reloads what it shows. There are at most `max_listeners` at once, since each holds a web server thread.
"""
from __future__ import annotations

import queue
import threading
from typing import Any

from proofsheet import settings

QUEUE_SIZE = 100


class Subscription:
    def __init__(self, bus: "EventBus") -> None:
        self._bus = bus
        self.events: queue.Queue[dict[str, Any]] = queue.Queue(QUEUE_SIZE)

    def next(self, timeout: float) -> dict[str, Any] | None:
        try:
            return self.events.get(timeout=timeout)
        except queue.Empty:
            return None

    def close(self) -> None:
        self._bus._leave(self)


class EventBus:
    def __init__(self, max_listeners: int = settings.LIVE_PAGES) -> None:
        self.max_listeners = max_listeners
        self._listeners: list[Subscription] = []
        self._lock = threading.Lock()

    def subscribe(self) -> Subscription | None:
        """A new listener, or None when as many as allowed are already listening."""
        with self._lock:
            if len(self._listeners) >= self.max_listeners:
                return None
            subscription = Subscription(self)
            self._listeners.append(subscription)
            return subscription

    def publish(self, event: dict[str, Any]) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            while True:
                try:
                    listener.events.put_nowait(event)
                    break
                except queue.Full:
                    try:
                        listener.events.get_nowait()  # drop the oldest; the page reloads what it shows
                    except queue.Empty:
                        pass

    def _leave(self, subscription: Subscription) -> None:
        with self._lock:
            if subscription in self._listeners:
                self._listeners.remove(subscription)
