"""Blind votes kept beside the history: each round's contenders behind their letters, and the vote that reveals them."""
from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass
from typing import Any

from proofsheet.history.leaderboard import Leaderboard
from proofsheet.history.records import Group
from proofsheet.history.store import Store
from proofsheet.history.ratings import Round, Standing, standings

LABELS = "ABCD"
VOTES = ("tie", "both_bad")


@dataclass
class Contender:
    label: str
    position: int  # the cell of the round's comparison
    server: str
    model: str

    @property
    def name(self) -> str:
        return f"{self.server} · {self.model}"


@dataclass
class ArenaRound:
    id: int
    group_id: int
    created_at: float
    category: str | None
    contenders: list[Contender]  # in the order of their letters
    vote: str | None
    voted_at: float | None

    @property
    def voted(self) -> bool:
        return self.vote is not None

    @property
    def winner(self) -> Contender | None:
        return next((c for c in self.contenders if c.label == self.vote), None)

    def waiting(self, group: Group) -> bool:
        """Whether a contender is still being made (the round is kept before they are asked for)."""
        return any(generation.status == "running" for generation in group.generations)

    def blind(self, group: Group) -> dict[str, Any]:
        """What the audience may see before the vote: letters and images, never a model's or server's name."""
        images = []
        for contender in self.contenders:
            generation = group.generation_at(contender.position)
            shown = generation.shown_images[0] if generation and generation.shown_images else None
            images.append({"label": contender.label, "ok": shown is not None,
                           "src": shown.src if shown else None,
                           "width": shown.width if shown else None, "height": shown.height if shown else None,
                           "status": generation.status if generation else "missing"})
        return {"id": self.id, "prompt": group.prompt, "category": self.category, "images": images,
                "voted": self.voted, "waiting": self.waiting(group), "permalink": f"/arena/{self.id}",
                "vote_url": f"/api/arena/{self.id}/vote"}

    def reveal(self, group: Group) -> dict[str, Any]:
        """After the vote: who was who, and what each made."""
        contenders = []
        for contender in self.contenders:
            generation = group.generation_at(contender.position)
            contenders.append({"label": contender.label, "server": contender.server, "model": contender.model,
                               "generation": f"/generations/{generation.id}" if generation else None,
                               "error": generation.error.message if generation and generation.error else None})
        return {**self.blind(group), "vote": self.vote, "contenders": contenders,
                "winner": self.winner.name if self.winner else None}


class ArenaBook:
    def __init__(self, store: Store, rng: random.Random | None = None) -> None:
        self.store = store
        self.rng = rng or random.SystemRandom()
        self.board = Leaderboard(store, round_of)

    def start(self, group_id: int, cells: list[dict[str, Any]], category: str | None) -> ArenaRound:
        """A round for a comparison (each cell naming its server), kept before its contenders are asked for, so that
        the history never names them before the vote: its cells behind letters, in random order."""
        positions = list(range(len(cells)))
        self.rng.shuffle(positions)
        contenders = [Contender(LABELS[index], position, cells[position]["server"], cells[position]["model"])
                      for index, position in enumerate(positions)]
        with self.store.writing():
            cursor = self.store.db.execute(
                "INSERT INTO arena_rounds (group_id, created_at, category, contenders_json) VALUES (?, ?, ?, ?)",
                (group_id, time.time(), category, json.dumps([c.__dict__ for c in contenders])))
        return self.get(int(cursor.lastrowid))

    def get(self, round_id: int) -> ArenaRound | None:
        row = self.store.db.execute("SELECT * FROM arena_rounds WHERE id=?", (round_id,)).fetchone()
        if row is None:
            return None
        return ArenaRound(row["id"], row["group_id"], row["created_at"], row["category"],
                          [Contender(**entry) for entry in json.loads(row["contenders_json"])], row["vote"],
                          row["voted_at"])

    def vote(self, round_id: int, vote: str) -> bool:
        """Keep the vote; False when the round already has one (each round is judged once)."""
        with self.store.writing():
            return self.store.db.execute("UPDATE arena_rounds SET vote=?, voted_at=? WHERE id=? AND vote IS NULL",
                                         (vote, time.time(), round_id)).rowcount == 1

    def categories(self) -> list[str]:
        """The categories with a vote, in order."""
        return self.board.categories()

    def leaderboard(self, category: str | None = None) -> list[Standing]:
        """Every contender ranked, a vote counted from the next load on (the intervals may still be updating)."""
        return self.board.standings(category)

    def standings_from_scratch(self, category: str | None = None) -> list[Standing]:
        """Every vote read and every fit done again, intervals and all: what each load after a vote did before the
        leaderboard was kept current; the reference it is measured and tested against."""
        rows = self.store.db.execute(
            "SELECT contenders_json, vote FROM arena_rounds WHERE vote IS NOT NULL AND (? IS NULL OR category = ?) "
            "ORDER BY voted_at, id", (category, category))
        return standings([round_of(row["contenders_json"], row["vote"]) for row in rows])


def round_of(contenders_json: str, vote: str) -> Round:
    """A voted round as the ratings count it: its contenders' names in the order of their letters, and the winner's."""
    by_label = {c.label: c.name for c in (Contender(**entry) for entry in json.loads(contenders_json))}
    return Round(tuple(by_label.values()), by_label.get(vote), vote == "both_bad")
