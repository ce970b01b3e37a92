"""Admission: how many conversations with image servers Proofsheet holds at once, and the place each one holds.

Every path that asks an image server (the form, the API, a comparison, an edit, a stream, a call through /v1) takes
a `Place` first and holds it in a `with` block until the answer is in (for a relayed answer: until the caller has
its last byte). Each waiting conversation holds one of the web server's threads, so the places bound them and the
rest stay free for pages. A place also keeps the flights its work starts, so that Cancel and an asker who walks
away cut their sockets, and lets go of them when it is left.
"""
from __future__ import annotations

import contextlib
import threading
from types import TracebackType
from typing import Callable, Iterable, Iterator

from proofsheet.results import Problem
from proofsheet.upstream.cancellation import Flight, Flights, flying

Gone = Callable[[], bool]
ABANDONED = "The browser or program that asked went away, so Proofsheet stopped waiting for the image server."


class Admission:
    """At most `limit` places at once; beyond that a plain "busy", never a queue nobody sees."""

    def __init__(self, limit: int, flights: Flights) -> None:
        self.limit = limit
        self.flights = flights
        self._slots = threading.BoundedSemaphore(limit)

    def place(self, gone: Gone | None = None, wait: float = 0.0) -> Place | Problem:
        """A place (use it in a `with` block), or why there is none: the asker has gone, or all are taken (after
        waiting up to `wait` seconds for one, for work that can wait, such as a queue)."""
        if gone is not None and gone():
            return Problem("gone", ABANDONED)
        taken = self._slots.acquire(timeout=wait) if wait > 0 else self._slots.acquire(blocking=False)
        if not taken:
            return Problem("busy", f"Proofsheet is already waiting on {self.limit} generations, as many as it takes "
                                   "at once. Try again when some have finished.")
        return Place(self._slots.release, self.flights, gone)


class Place:
    """One place among the conversations in flight, given back exactly once: when its `with` block ends, or when
    the stream it was handed to ends."""

    def __init__(self, release: Callable[[], None], flights: Flights, gone: Gone | None) -> None:
        self.gone = gone
        self._release = release
        self._flights = flights
        self._mine: list[Flight] = []
        self._handed_over = False
        self._left = False
        self._lock = threading.Lock()

    def __enter__(self) -> Place:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        if not self._handed_over:
            self.leave()

    def fly(self, generation_id: int) -> Flight:
        """A flight watched (Cancel, the asker gone) until it lands or the place is left."""
        flight = Flight(generation_id, self.gone)
        with self._lock:
            self._mine.append(flight)
        self._flights.add(flight)
        return flight

    def land(self, flight: Flight) -> None:
        self._flights.remove(flight)
        with self._lock:
            if flight in self._mine:
                self._mine.remove(flight)

    @contextlib.contextmanager
    def flying(self, generation_id: int) -> Iterator[Flight]:
        """A flight for the block's conversation with the image server: its sockets are cut on Cancel or when the
        asker goes, and it lands when the block ends."""
        flight = self.fly(generation_id)
        try:
            with flying(flight):
                yield flight
        finally:
            self.land(flight)

    def hand_over(self, chunks: Iterable[bytes], then: Callable[[], None] | None = None) -> Iterator[bytes]:
        """The place passes from its `with` block to an answer sent on after the view returns: held until the last
        chunk is sent (or the caller has gone), then left, then `then` runs."""
        self._handed_over = True
        return self._held_while(chunks, then)

    def leave(self) -> None:
        with self._lock:
            if self._left:
                return
            self._left, mine, self._mine = True, self._mine, []
        for flight in mine:
            self._flights.remove(flight)
        self._release()

    def _held_while(self, chunks: Iterable[bytes], then: Callable[[], None] | None) -> Iterator[bytes]:
        try:
            yield from chunks
        finally:
            self.leave()
            if then:
                then()
