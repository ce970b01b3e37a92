"""Ranking contenders from blind votes: Bradley–Terry strengths on the Elo scale, with a bootstrap 95% interval.

A round has two to four contenders. A win counts as the winner beating each of the others; a tie (or "both bad",
counted as a tie as the text-to-image arenas do) as every pair drawing, half a win each. Every pair that met also gets
one virtual draw, so a contender who has only won is rated high, not infinitely high. Ratings are centred on 1000, and
400 points apart mean ten to one odds, as in Elo. Unlike Elo's running updates, the result does not depend on the
order of the votes, and the interval narrows as votes come in.
"""
from __future__ import annotations

import math
import random
from collections import Counter, defaultdict
from dataclasses import dataclass
from itertools import combinations

BASE = 1000.0
SCALE = 400.0
RESAMPLES = 200
ITERATIONS = 200


@dataclass(frozen=True)
class Round:
    contenders: tuple[str, ...]
    winner: str | None  # a contender, or None for a tie or "both bad"
    both_bad: bool = False


@dataclass
class Standing:
    contender: str
    rating: float
    low: float  # the 95% interval from resampling the rounds
    high: float
    votes: int = 0
    wins: int = 0
    ties: int = 0
    losses: int = 0
    both_bad: int = 0

    def to_dict(self) -> dict[str, object]:
        return {"contender": self.contender, "rating": round(self.rating, 1),
                "interval": [round(self.low, 1), round(self.high, 1)], "votes": self.votes, "wins": self.wins,
                "ties": self.ties, "losses": self.losses, "both_bad": self.both_bad}


def expected(rating: float, opponent: float) -> float:
    """The chance a rating gives of beating an opponent."""
    return 1.0 / (1.0 + 10 ** ((opponent - rating) / SCALE))


def ratings(rounds: list[Round]) -> dict[str, float]:
    """Each contender's Bradley–Terry rating (maximum likelihood, by Hunter's MM iterations)."""
    return _fit(Counter(rounds))


def _fit(tally: Counter[Round]) -> dict[str, float]:
    """The ratings from alike rounds counted together: as many kinds of round as there are, however many votes."""
    wins: dict[str, float] = defaultdict(float)
    met: dict[tuple[str, str], float] = defaultdict(float)
    for one, times in tally.items():
        for a, b in combinations(sorted(one.contenders), 2):
            if one.winner is None:
                wins[a] += 0.5 * times
                wins[b] += 0.5 * times
            elif one.winner in (a, b):
                wins[one.winner] += times
            else:
                continue  # the winner beat both; these two were not compared
            met[(a, b)] += times
    for a, b in list(met):  # one virtual draw per pair that met
        met[(a, b)] += 1.0
        wins[a] += 0.5
        wins[b] += 0.5
    names = sorted({name for pair in met for name in pair} | set(wins))
    opponents: dict[str, list[tuple[str, float]]] = defaultdict(list)
    for (a, b), count in met.items():
        opponents[a].append((b, count))
        opponents[b].append((a, count))
    strength = dict.fromkeys(names, 1.0)
    for _ in range(ITERATIONS):
        updated = {}
        for name in names:
            games = sum(count / (strength[name] + strength[other]) for other, count in opponents[name])
            updated[name] = wins[name] / games if games else 1.0
        centre = math.exp(sum(math.log(value) for value in updated.values()) / len(updated)) if updated else 1.0
        updated = {name: value / centre for name, value in updated.items()}
        settled = all(abs(updated[name] - strength[name]) < 1e-10 for name in names)
        strength = updated
        if settled:
            break
    return {name: BASE + SCALE * math.log10(value) for name, value in strength.items()}


def standings(rounds: list[Round], seed: int = 0) -> list[Standing]:
    """Every contender with its rating, 95% interval and record, best first."""
    rated = ratings(rounds)
    samples: dict[str, list[float]] = {name: [] for name in rated}
    rng = random.Random(seed)  # the same votes always give the same interval
    kinds = list(dict.fromkeys(rounds))  # the rounds drawn are counted by kind: the fits cost the same at any count
    number_of = {one: number for number, one in enumerate(kinds)}
    kind_of = [number_of[one] for one in rounds]
    for _ in range(RESAMPLES if rounds else 0):
        drawn = Counter(rng.choices(kind_of, k=len(rounds)))  # the votes drawn again, with replacement
        resampled = _fit(Counter({kinds[kind]: times for kind, times in drawn.items()}))
        for name in samples:
            if name in resampled:
                samples[name].append(resampled[name])
    table = {name: Standing(name, rating, *_interval(samples[name], rating)) for name, rating in rated.items()}
    for one in rounds:
        for name in one.contenders:
            standing = table[name]
            standing.votes += 1
            if one.winner is None:
                standing.ties += 1
                standing.both_bad += one.both_bad
            elif one.winner == name:
                standing.wins += 1
            else:
                standing.losses += 1
    return sorted(table.values(), key=lambda s: (-s.rating, s.contender))


def _interval(values: list[float], rating: float) -> tuple[float, float]:
    if not values:
        return rating, rating
    ordered = sorted(values)
    low = ordered[int(0.025 * (len(ordered) - 1))]
    high = ordered[int(round(0.975 * (len(ordered) - 1)))]
    return min(low, rating), max(high, rating)
