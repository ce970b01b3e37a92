"""The room's vote as it happens: where the voters' listener is, and the tally told to the projector's page as votes
arrive — at most one `room` event per round each THROTTLE seconds, the last vote always told."""
from __future__ import annotations

import functools
import logging
import threading
import time

import segno

from proofsheet.history.arena import ArenaBook, ArenaRound
from proofsheet.history.room import RoomBook, RoomRound, Tally
from proofsheet.running.events import EventBus

log = logging.getLogger("proofsheet")
THROTTLE = 0.25  # seconds: bars moving four times a second read as live; 200 votes a second stay 4 events


@functools.lru_cache(maxsize=32)
def qr_code(url: str) -> str:
    """The URL as a QR code (an SVG data URL), drawn here with no outside service, dark on light whatever the theme;
    kept, since drawing one takes ~20 ms and the projector's page asks for it at every load."""
    return segno.make(url, error="m", micro=False).svg_data_uri(scale=10, border=2)


class Room:
    def __init__(self, book: RoomBook, arena: ArenaBook, events: EventBus) -> None:
        self.book = book
        self.arena = arena
        self.events = events
        self.base_url: str | None = None  # the voters' listener, once it listens (python app.py --room ...)
        self.address_note: str | None = None  # said on the page when the address shown may not be the right one
        self._lock = threading.Lock()
        self._told: dict[int, float] = {}  # round id -> when its tally was last told
        self._waiting: set[int] = set()  # rounds whose next telling is already due

    def listening_at(self, base_url: str, note: str | None = None) -> None:
        self.base_url, self.address_note = base_url.rstrip("/"), note

    def url_of(self, room: RoomRound) -> str:
        return f"{self.base_url}/r/{room.token}"

    def qr_of(self, room: RoomRound) -> str:
        return qr_code(self.url_of(room))

    def open(self, found: ArenaRound) -> RoomRound:
        room = self.book.open(found.id)
        self.tell(found.id)
        return room

    def vote(self, found: ArenaRound, device: str, choice: str) -> bool:
        kept = self.book.vote(found.id, device, choice)
        if kept:
            self._tell_soon(found.id)
        return kept

    def close(self, found: ArenaRound) -> Tally:
        tally = self.book.close(found)
        self.tell(found.id)
        return tally

    def tell(self, round_id: int) -> None:
        """Publish the round's tally now (read fresh, so a delayed telling carries every vote before it)."""
        found = self.arena.get(round_id)
        if found is None:
            return
        with self._lock:
            self._told[round_id] = time.monotonic()
            self._waiting.discard(round_id)
        self.events.publish({"type": "room", "id": round_id, **self.book.tally(found).to_dict()})

    def _tell_soon(self, round_id: int) -> None:
        with self._lock:
            if round_id in self._waiting:
                return
            wait = self._told.get(round_id, 0.0) + THROTTLE - time.monotonic()
            if wait > 0:
                self._waiting.add(round_id)
        if wait <= 0:
            self.tell(round_id)
            return
        timer = threading.Timer(wait, self._tell_quietly, (round_id,))
        timer.daemon = True
        timer.start()

    def _tell_quietly(self, round_id: int) -> None:
        """On the timer's thread: a failure is logged in one line, never a traceback on the terminal."""
        try:
            self.tell(round_id)
        except Exception as exc:  # noqa: BLE001 - the next vote tells again
            log.warning("The room's tally for round %d could not be told: %s", round_id, exc)
        finally:
            self.arena.store.release_connection()
