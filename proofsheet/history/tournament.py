"""A run's blind tournament: pairs of its targets on the same prompt, drawn so that every pair is compared evenly,
each pair judged as an arena round (its category the run's name); and the run's own standings and win-rate matrix.

A pair shows two of the run's cells that made an image, for the same prompt row and repeat (the same seed, when the
prompt has one). The pair of targets judged least so far comes next; for it, a prompt it has not been judged on
(the prompt it has been judged on least); ties are broken at random. The arena shuffles the two into A and B, so the
letter says nothing. One pair at a time is open: asking again before its vote gives the same pair.
"""
from __future__ import annotations

import random
from collections import Counter, defaultdict
from dataclasses import dataclass
from itertools import combinations
from typing import Any

from proofsheet.history.arena import ArenaBook, ArenaRound
from proofsheet.history.ratings import Round, Standing, standings
from proofsheet.history.runs import Run
from proofsheet.history.store import Store
from proofsheet.results import Problem

Pair = tuple[int, int]  # two target indexes, the lower first
Slot = tuple[int, int]  # (prompt index, repeat): where two targets' cells are compared


def target_model(target: dict[str, Any]) -> str:
    """A target's model as the leaderboards name it, with its own fields when it has any (two targets may ask the
    same model with another quality)."""
    fields = [f"{name}={value}" for name, value in target.items() if name not in ("model", "server")]
    return f"{target['model']} ({', '.join(fields)})" if fields else str(target["model"])


def target_name(target: dict[str, Any]) -> str:
    """As the arena names a contender: server · model."""
    return f"{target['server']} · {target_model(target)}"


@dataclass
class Record:
    """One target's votes against another: wins, losses and ties ("both bad" is a tie, as in the ratings)."""

    wins: int = 0
    losses: int = 0
    ties: int = 0

    @property
    def votes(self) -> int:
        return self.wins + self.losses + self.ties

    @property
    def win_rate(self) -> float | None:
        """Wins, a tie counting half, out of the votes; None before any."""
        return (self.wins + self.ties / 2) / self.votes if self.votes else None

    def to_dict(self) -> dict[str, Any]:
        rate = self.win_rate
        return {"wins": self.wins, "losses": self.losses, "ties": self.ties, "votes": self.votes,
                "win_rate": round(rate, 4) if rate is not None else None}


@dataclass(frozen=True)
class Judged:
    """A voted pair: the target shown as A, the one shown as B, and the vote."""

    target_a: int
    target_b: int
    vote: str

    @property
    def winner(self) -> int | None:
        return {"A": self.target_a, "B": self.target_b}.get(self.vote)


@dataclass(frozen=True)
class Candidate:
    """A run's cell that made an image, as a pair may show it."""

    target: int
    generation_id: int
    prompt: str


class TournamentBook:
    def __init__(self, store: Store, arena: ArenaBook, rng: random.Random | None = None) -> None:
        self.store, self.arena = store, arena
        self.rng = rng or random.SystemRandom()

    def next_round(self, run: Run) -> ArenaRound | Problem:
        """The open pair of this run, else a new one drawn; or why there is none."""
        with self.store.writing(), self.store.database.transaction():  # one at a time: never two pairs drawn at once
            opened = self._open_round(run.id)
            if opened is not None:
                return opened
            slots, drawn = self._candidates(run.id), self._drawn(run.id)
            picked = self._draw(slots, drawn)
            if picked is None:
                return self._why_none(run, slots, drawn)
            return self._start(run, *picked)

    def round_of(self, run_id: int, round_id: int) -> ArenaRound | None:
        """An arena round, if it is one of this run's pairs."""
        row = self.store.db.execute("SELECT 1 FROM tournament_rounds WHERE run_id=? AND round_id=?",
                                    (run_id, round_id)).fetchone()
        return self.arena.get(round_id) if row else None

    def run_of(self, round_id: int) -> int | None:
        """The run an arena round is a pair of, if it is one."""
        row = self.store.db.execute("SELECT run_id FROM tournament_rounds WHERE round_id=?", (round_id,)).fetchone()
        return row[0] if row else None

    def judged(self, run_id: int) -> list[Judged]:
        return [Judged(*row) for row in self.store.db.execute(
            "SELECT t.target_a, t.target_b, r.vote FROM tournament_rounds t JOIN arena_rounds r ON r.id = t.round_id "
            "WHERE t.run_id=? AND r.vote IS NOT NULL ORDER BY r.voted_at", (run_id,))]

    # -- drawing a pair ---------------------------------------------------------------------------------------------

    def _open_round(self, run_id: int) -> ArenaRound | None:
        row = self.store.db.execute(
            "SELECT t.round_id FROM tournament_rounds t JOIN arena_rounds r ON r.id = t.round_id "
            "WHERE t.run_id=? AND r.vote IS NULL ORDER BY t.round_id LIMIT 1", (run_id,)).fetchone()
        return self.arena.get(row[0]) if row else None

    def _candidates(self, run_id: int) -> dict[Slot, dict[int, Candidate]]:
        """The cells that made an image, by prompt and repeat, then by target."""
        slots: dict[Slot, dict[int, Candidate]] = defaultdict(dict)
        for row in self.store.db.execute(
                "SELECT prompt_index, repeat, target_index, generation_id, json_extract(fields_json, '$.prompt') "
                "FROM run_cells WHERE run_id=? AND status='done' AND generation_id IS NOT NULL", (run_id,)):
            slots[(row[0], row[1])][row[2]] = Candidate(row[2], row[3], row[4])
        return slots

    def _drawn(self, run_id: int) -> list[tuple[Pair, Slot]]:
        return [(_pair(row[0], row[1]), (row[2], row[3])) for row in self.store.db.execute(
            "SELECT target_a, target_b, prompt_index, repeat FROM tournament_rounds WHERE run_id=?", (run_id,))]

    def _draw(self, slots: dict[Slot, dict[int, Candidate]],
              drawn: list[tuple[Pair, Slot]]) -> tuple[Pair, Slot, list[Candidate]] | None:
        """The pair judged least that still has a prompt to be judged on, and the prompt it was judged on least."""
        # Slots as bits of an int, one int a target or pair: a pair's open slots are then two ANDs, so that 16
        # targets over 10,000 cells draw in a few milliseconds (sets of tuples took a hundred).
        order = sorted(slots)
        bit = {slot: 1 << number for number, slot in enumerate(order)}
        made: dict[int, int] = defaultdict(int)
        for slot, by_target in slots.items():
            for target in by_target:
                made[target] |= bit[slot]
        used: dict[Pair, int] = defaultdict(int)
        for pair, slot in drawn:
            used[pair] |= bit.get(slot, 0)
        open_pairs = {pair: left for pair in combinations(sorted(made), 2)
                      if (left := made[pair[0]] & made[pair[1]] & ~used[pair])}
        if not open_pairs:
            return None
        times = Counter(pair for pair, _ in drawn)
        fewest = min(times[pair] for pair in open_pairs)
        pair = self.rng.choice([pair for pair in sorted(open_pairs) if times[pair] == fewest])
        prompts_used = Counter(slot[0] for judged, slot in drawn if judged == pair)
        left = [slot for slot in order if open_pairs[pair] & bit[slot]]
        least = min(prompts_used[slot[0]] for slot in left)
        slot = self.rng.choice([slot for slot in left if prompts_used[slot[0]] == least])
        return pair, slot, [slots[slot][pair[0]], slots[slot][pair[1]]]

    def _start(self, run: Run, pair: Pair, slot: Slot, shown: list[Candidate]) -> ArenaRound:
        """The pair as an arena round over the run's own generations (the arena shuffles them into A and B)."""
        cells = [{"server": run.targets[cell.target]["server"], "model": target_model(run.targets[cell.target]),
                  "generation_id": cell.generation_id, "target_index": cell.target} for cell in shown]
        group_id = self.store.create_group(shown[0].prompt, cells)
        started = self.arena.start(group_id, cells, run.name)
        target_a, target_b = (cells[contender.position]["target_index"] for contender in started.contenders)
        with self.store.writing():
            self.store.db.execute("INSERT INTO tournament_rounds (round_id, run_id, target_a, target_b, prompt_index, "
                                  "repeat) VALUES (?, ?, ?, ?, ?, ?)",
                                  (started.id, run.id, target_a, target_b, *slot))
        return started

    def _why_none(self, run: Run, slots: dict[Slot, dict[int, Candidate]],
                  drawn: list[tuple[Pair, Slot]]) -> Problem:
        made = sorted({target for by_target in slots.values() for target in by_target})
        going = " The run is still going: look again as its cells come back." if run.status == "running" else ""
        if len(run.targets) < 2:
            return Problem("too_few_targets", f"This run has one target ({target_name(run.targets[0])}): a "
                                              "tournament compares two or more. Start a run with several targets.")
        if len(made) < 2:
            which = f"only {target_name(run.targets[made[0]])}" if made else "none"
            return Problem("too_few_targets", f"A tournament needs two targets with images; of this run's "
                                              f"{len(run.targets)}, {which} made one.{going}")
        if not drawn:
            return Problem("no_pair", "No two targets of this run made an image for the same prompt, so there is "
                                      f"no pair to judge.{going}")
        return Problem("all_judged", f"Every pair of targets has been judged on every prompt both made an image for "
                                     f"({len(drawn)} pair{'' if len(drawn) == 1 else 's'}).{going}")


def run_standings(targets: list[dict[str, Any]], judged: list[Judged]) -> list[Standing]:
    """A run's targets rated from its own votes only (the arena's leaderboard counts them in its category too)."""
    names = [target_name(target) for target in targets]
    return standings([Round((names[one.target_a], names[one.target_b]),
                            names[one.winner] if one.winner is not None else None, one.vote == "both_bad")
                      for one in judged])


def win_matrix(targets: list[dict[str, Any]], judged: list[Judged]) -> list[list[Record | None]]:
    """Each target's record against each other (the row's against the column's); None on the diagonal."""
    size = len(targets)
    table = [[None if row == column else Record() for column in range(size)] for row in range(size)]
    for one in judged:
        first, second = table[one.target_a][one.target_b], table[one.target_b][one.target_a]
        if first is None or second is None:  # never drawn: a pair is two targets
            continue
        if one.winner is None:
            first.ties += 1
            second.ties += 1
        elif one.winner == one.target_a:
            first.wins += 1
            second.losses += 1
        else:
            first.losses += 1
            second.wins += 1
    return table


def _pair(one: int, other: int) -> Pair:
    return (one, other) if one < other else (other, one)
