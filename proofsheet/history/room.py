"""The room's votes kept beside the arena: which rounds are open to the room (by a short random token), each
device's last choice, the tally, and the room's majority that becomes the round's one vote when it closes."""
from __future__ import annotations

import secrets
import sqlite3
import time
from dataclasses import dataclass, field
from typing import Any

from proofsheet.history.arena import VOTES, ArenaBook, ArenaRound
from proofsheet.history.store import Store

TOKEN_BYTES = 6  # eight URL-safe characters: short enough to type from the projector, too many to guess


@dataclass
class RoomRound:
    round_id: int
    token: str
    opened_at: float
    closed_at: float | None

    @property
    def closed(self) -> bool:
        return self.closed_at is not None


@dataclass
class Tally:
    open: bool
    votes: dict[str, int] = field(default_factory=dict)  # every choice of the round, A … then tie and both_bad

    @property
    def voters(self) -> int:
        return sum(self.votes.values())

    def share(self, choice: str) -> int:
        """The choice's share of the votes, in whole percent (0 before any vote)."""
        return round(100 * self.votes.get(choice, 0) / self.voters) if self.voters else 0

    def majority(self) -> str | None:
        """The room's one vote: the choice most voted for; a tie at the top is a tie; None when no one voted."""
        if not self.voters:
            return None
        most = max(self.votes.values())
        leaders = [choice for choice, count in self.votes.items() if count == most]
        return leaders[0] if len(leaders) == 1 else "tie"

    def to_dict(self) -> dict[str, Any]:
        return {"open": self.open, "voters": self.voters, "votes": dict(self.votes)}


def choices(found: ArenaRound) -> list[str]:
    """What a voter may choose in this round: each contender's letter, a tie, both bad."""
    return [contender.label for contender in found.contenders] + list(VOTES)


class RoomBook:
    def __init__(self, store: Store, arena: ArenaBook) -> None:
        self.store = store
        self.arena = arena

    def open(self, round_id: int) -> RoomRound:
        """The round's room, opened now; the same token again when it is already open (a second press)."""
        kept = self.get(round_id)
        if kept is not None and not kept.closed:
            return kept
        with self.store.writing():
            self.store.db.execute("DELETE FROM room_votes WHERE round_id=?", (round_id,))
            self.store.db.execute("INSERT OR REPLACE INTO room_rounds (round_id, token, opened_at, closed_at) "
                                  "VALUES (?, ?, ?, NULL)", (round_id, secrets.token_urlsafe(TOKEN_BYTES), time.time()))
        return self.get(round_id)  # type: ignore[return-value]

    def get(self, round_id: int) -> RoomRound | None:
        return self._one("SELECT * FROM room_rounds WHERE round_id=?", round_id)

    def by_token(self, token: str) -> RoomRound | None:
        return self._one("SELECT * FROM room_rounds WHERE token=?", token)

    def vote(self, round_id: int, device: str, choice: str) -> bool:
        """Keep the device's choice (replacing its last one); False when the round is not open to the room."""
        with self.store.writing():
            return self.store.db.execute(
                "INSERT INTO room_votes (round_id, device, choice, voted_at) SELECT ?, ?, ?, ? WHERE EXISTS "
                "(SELECT 1 FROM room_rounds WHERE round_id=? AND closed_at IS NULL) ON CONFLICT DO UPDATE SET "
                "choice=excluded.choice, voted_at=excluded.voted_at",
                (round_id, device, choice, time.time(), round_id)).rowcount == 1

    def choice_of(self, round_id: int, device: str) -> str | None:
        row = self.store.db.execute("SELECT choice FROM room_votes WHERE round_id=? AND device=?",
                                    (round_id, device)).fetchone()
        return row[0] if row else None

    def tally(self, found: ArenaRound) -> Tally:
        room = self.get(found.id)
        votes = dict.fromkeys(choices(found), 0)
        for choice, count in self.store.db.execute(
                "SELECT choice, COUNT(*) FROM room_votes WHERE round_id=? GROUP BY choice", (found.id,)):
            if choice in votes:
                votes[choice] = count
        return Tally(bool(room and not room.closed and not found.voted), votes)

    def close(self, found: ArenaRound) -> Tally:
        """Close the room's vote; its majority becomes the round's one vote (unless the round already has one)."""
        with self.store.writing():
            self.store.db.execute("UPDATE room_rounds SET closed_at=? WHERE round_id=? AND closed_at IS NULL",
                                  (time.time(), found.id))
        tally = self.tally(found)
        majority = tally.majority()
        if majority and not found.voted:
            self.arena.vote(found.id, majority)
        return tally

    def _one(self, sql: str, value: Any) -> RoomRound | None:
        try:
            row = self.store.db.execute(sql, (value,)).fetchone()
        except (sqlite3.InterfaceError, OverflowError):  # a value SQLite cannot bind is no round of ours
            return None
        return RoomRound(row["round_id"], row["token"], row["opened_at"], row["closed_at"]) if row else None
