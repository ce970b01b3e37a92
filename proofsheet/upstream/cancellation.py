"""Cutting a generation off: its sockets to the image server are shut from another thread.

A `Flight` is one generation's conversation with the image server. The HTTP client registers each socket it waits on
with the flight of its thread (`current()`); `cancel()` shuts them, so a blocked read returns at once and the worker
is free. `Flights` keeps the flights in the air and, every fraction of a second, abandons those whose browser or API
client has gone away.
"""
from __future__ import annotations

import contextlib
import logging
import socket
import threading
from typing import Callable, Iterator

log = logging.getLogger(__name__)
WATCH_INTERVAL = 0.2  # seconds between looks at whether the askers are still there

_local = threading.local()


class Flight:
    def __init__(self, generation_id: int, gone: Callable[[], bool] | None = None) -> None:
        self.generation_id = generation_id
        self._gone = gone
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()
        self.cancelled = False

    def watch(self, sock: socket.socket) -> None:
        with self._lock:
            if self.cancelled:
                _shut(sock)
            else:
                self._sockets.add(sock)

    def cancel(self) -> None:
        with self._lock:
            self.cancelled = True
            for sock in self._sockets:
                _shut(sock)
            self._sockets.clear()

    def asker_gone(self) -> bool:
        try:
            return bool(self._gone and self._gone())
        except Exception:  # the server's own check; never let it stop the watch
            return False


def current() -> Flight | None:
    return getattr(_local, "flight", None)


@contextlib.contextmanager
def flying(flight: Flight) -> Iterator[Flight]:
    """Makes `flight` the current one of this thread while the image server is asked."""
    _local.flight = flight
    try:
        yield flight
    finally:
        _local.flight = None


class Flights:
    """The flights in the air, and a watcher that abandons those whose asker has gone."""

    def __init__(self, on_asker_gone: Callable[[Flight], None]) -> None:
        self._on_asker_gone = on_asker_gone
        self._flights: dict[int, Flight] = {}
        self._changed = threading.Condition()
        self._watcher: threading.Thread | None = None

    def add(self, flight: Flight) -> None:
        with self._changed:
            self._flights[flight.generation_id] = flight
            if self._watcher is None:
                self._watcher = threading.Thread(target=self._watch, name="flight-watcher", daemon=True)
                self._watcher.start()
            self._changed.notify()

    def remove(self, flight: Flight) -> None:
        with self._changed:
            self._flights.pop(flight.generation_id, None)

    def cancel(self, generation_id: int) -> bool:
        with self._changed:
            flight = self._flights.get(generation_id)
        if flight is None:
            return False
        flight.cancel()
        return True

    def __len__(self) -> int:
        with self._changed:
            return len(self._flights)

    def _watch(self) -> None:
        while True:
            with self._changed:
                while not self._flights:
                    self._changed.wait()
                flights = list(self._flights.values())
            for flight in flights:
                if not flight.cancelled and flight.asker_gone():
                    try:
                        self._on_asker_gone(flight)
                    except Exception:
                        log.exception("Could not abandon generation %d", flight.generation_id)
            with self._changed:
                self._changed.wait(WATCH_INTERVAL)


def _shut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
