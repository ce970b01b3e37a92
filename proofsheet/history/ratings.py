"""Ranking contenders from blind votes: Bradley–Terry strengths on the Elo scale, with a bootstrap 95% interval.

A round has two to four contenders. A win counts as the winner beating each of the others; a tie (or "both bad",
counted as a tie as the text-to-image arenas do) as every pair drawing, half a win each. Every pair that met also gets
one virtual draw, so a contender who has only won is rated high, not infinitely high. Ratings are centred on 1000, and
400 points apart mean ten to one odds, as in Elo. Unlike Elo's running updates, the result does not depend on the
order of the votes, and the interval narrows as votes come in.
"""
from __future__ import annotations

import bisect
import math
import random
from collections import Counter, defaultdict
from dataclasses import dataclass, replace
from itertools import combinations
from typing import Any, Callable, Iterable

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
    updating: bool = False  # the interval is the last one worked out, moved with the rating, until the new one is done
    rank: int = 0  # its place (set by `ranked`): contenders whose ratings round to the same whole point share one
    shared: bool = False  # another contender has the same place

    @property
    def plain_ties(self) -> int:
        """Ties other than "both bad" (`ties` counts both, as the fit does): so that wins, losses, these and "both
        bad" add up to the votes."""
        return self.ties - self.both_bad

    def to_dict(self) -> dict[str, object]:
        return {"contender": self.contender, "rank": self.rank, "rating": round(self.rating, 1),
                "interval": [round(self.low, 1), round(self.high, 1)], "votes": self.votes, "wins": self.wins,
                "ties": self.ties, "losses": self.losses, "both_bad": self.both_bad,
                "updating": self.updating}


class Tally:
    """One leaderboard's votes, added as they come: each contender's wins and each pair's games (what the ratings are
    fitted from), the rounds by kind (what a resample is counted by) in the order cast (the order the resamples are
    drawn from, so that the same votes give the same interval), and each contender's record."""

    def __init__(self) -> None:
        self.kinds: list[Round] = []
        self._number_of: dict[Round, int] = {}
        self._cast: list[tuple[Any, int]] = []  # (when, kind), in order
        self._records: dict[str, Standing] = {}
        self._wins: dict[str, float] = defaultdict(float)  # without the virtual draws
        self._met: dict[tuple[str, str], float] = defaultdict(float)

    def __len__(self) -> int:
        return len(self._cast)

    def add(self, when: Any, one: Round) -> None:
        """Count a vote cast at `when` (any sortable value: later votes usually come last)."""
        kind = Round(tuple(sorted(one.contenders)), one.winner, one.both_bad)  # the same round in any letter order
        number = self._number_of.setdefault(kind, len(self.kinds))
        if number == len(self.kinds):
            self.kinds.append(kind)
        bisect.insort(self._cast, (when, number))
        _compare(self._wins, self._met, kind, 1)
        for name in kind.contenders:
            self._records.setdefault(name, Standing(name, BASE, BASE, BASE))
        _record(self._records, kind)

    def ratings(self) -> dict[str, float]:
        """What `ratings` gives of every vote, fitted from the wins and games kept: the same cost at any count."""
        return _solve(*_with_virtual_draws(self._wins, self._met))

    def kind_of(self) -> list[int]:
        """Each vote's kind, in the order cast: what `intervals` draws from."""
        return [kind for _, kind in self._cast]

    def records(self) -> dict[str, Standing]:
        """Each contender's votes, wins, ties, losses and "both bad" (copies, rated at BASE)."""
        return {name: replace(standing) for name, standing in self._records.items()}


def expected(rating: float, opponent: float) -> float:
    """The chance a rating gives of beating an opponent."""
    return 1.0 / (1.0 + 10 ** ((opponent - rating) / SCALE))


def ratings(rounds: list[Round]) -> dict[str, float]:
    """Each contender's Bradley–Terry rating (maximum likelihood, by Hunter's MM iterations)."""
    return _fit(Counter(rounds))


def _fit(tally: Counter[Round]) -> dict[str, float]:
    """The ratings from alike rounds counted together: as many kinds of round as there are, however many votes."""
    return _solve(*_pairs(tally))


def _pairs(tally: Counter[Round]) -> tuple[dict[str, float], dict[tuple[str, str], float]]:
    """Each contender's wins and each pair's games, with one virtual draw for every pair that met."""
    wins: dict[str, float] = defaultdict(float)
    met: dict[tuple[str, str], float] = defaultdict(float)
    for one, times in tally.items():
        _compare(wins, met, one, times)
    return _with_virtual_draws(wins, met)


def _compare(wins: dict[str, float], met: dict[tuple[str, str], float], one: Round, times: int) -> None:
    """Add a round (`times` alike) to the wins and games: halves and wholes, so their sums are exact in any order."""
    for a, b in combinations(sorted(one.contenders), 2):
        if one.winner is None:
            wins[a] += 0.5 * times
            wins[b] += 0.5 * times
        elif one.winner in (a, b):
            wins[one.winner] += times
        else:
            continue  # the winner beat both; these two were not compared
        met[(a, b)] += times


def _with_virtual_draws(wins: dict[str, float], met: dict[tuple[str, str], float]
                        ) -> tuple[dict[str, float], dict[tuple[str, str], float]]:
    wins, met = defaultdict(float, wins), defaultdict(float, met)
    for a, b in list(met):  # one virtual draw per pair that met
        met[(a, b)] += 1.0
        wins[a] += 0.5
        wins[b] += 0.5
    return wins, met


def _solve(wins: dict[str, float], met: dict[tuple[str, str], float]) -> dict[str, float]:
    """Hunter's MM iterations, from even strengths."""
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
    """Every contender with its rating, 95% interval and record, best first: everything worked out from the rounds,
    as each load after a vote did before the leaderboard kept a tally (the reference `Tally` is tested against)."""
    rated = ratings(rounds)
    kinds = list(dict.fromkeys(rounds))  # the rounds drawn are counted by kind: the fits cost the same at any count
    number_of = {one: number for number, one in enumerate(kinds)}
    bounds = _resampled([number_of[one] for one in rounds], rated, seed,
                        lambda drawn: _fit(Counter({kinds[kind]: times for kind, times in drawn.items()})))
    table = {name: Standing(name, rating, *bounds[name]) for name, rating in rated.items()}
    for one in rounds:
        _record(table, one)
    return ranked(table.values())


def intervals(kinds: list[Round], kind_of: list[int], rated: dict[str, float], seed: int = 0,
              between: Callable[[], object] = lambda: None) -> dict[str, tuple[float, float]]:
    """The intervals of `standings` from a tally's rounds by kind (`kind_of`: each vote's kind, in the order cast),
    each kind's wins and games worked out once, not once per resample; `between` is called after each fit."""
    parts = []
    for one in kinds:
        wins: dict[str, float] = defaultdict(float)
        met: dict[tuple[str, str], float] = defaultdict(float)
        _compare(wins, met, one, 1)
        parts.append((wins, met))

    def fit(drawn: Counter[int]) -> dict[str, float]:
        wins: dict[str, float] = defaultdict(float)
        met: dict[tuple[str, str], float] = defaultdict(float)
        for kind, times in drawn.items():
            for name, won in parts[kind][0].items():
                wins[name] += won * times  # halves and wholes: the same sums as `_pairs`, in any order
            for pair, games in parts[kind][1].items():
                met[pair] += games * times
        between()
        return _solve(*_with_virtual_draws(wins, met))
    return _resampled(kind_of, rated, seed, fit)


def _resampled(kind_of: list[int], rated: dict[str, float], seed: int,
               fit: Callable[[Counter[int]], dict[str, float]]) -> dict[str, tuple[float, float]]:
    """Each rating's 95% interval: the votes (`kind_of`, each vote's kind) drawn again with replacement RESAMPLES
    times, and `fit` of each draw's kinds counted."""
    samples: dict[str, list[float]] = {name: [] for name in rated}
    rng = random.Random(seed)  # the same votes always give the same interval
    for _ in range(RESAMPLES if kind_of else 0):
        resampled = fit(Counter(rng.choices(kind_of, k=len(kind_of))))
        for name in samples:
            if name in resampled:
                samples[name].append(resampled[name])
    return {name: _interval(samples[name], rating) for name, rating in rated.items()}


def ranked(table: Iterable[Standing]) -> list[Standing]:
    """Highest rating first; equal ratings by name. Equal to a millionth of a point: two contenders with the same
    record are fitted equal only up to the float noise of the path taken (a full fit, or the tally's), which must not
    decide their order. Each is given its place: the same for ratings shown the same (to the whole point), the
    next place after them skipped as in sport (1, 1, 3)."""
    order = sorted(table, key=lambda s: (-round(s.rating, 6), s.contender))
    shown = [round(standing.rating) for standing in order]
    for number, standing in enumerate(order):
        standing.rank = shown.index(shown[number]) + 1  # the first with the same rating shown: ratings descend
        standing.shared = shown.count(shown[number]) > 1
    return order


def _record(table: dict[str, Standing], one: Round, times: int = 1) -> None:
    """Count a round (`times` alike) in each of its contenders' records."""
    for name in one.contenders:
        standing = table[name]
        standing.votes += times
        if one.winner is None:
            standing.ties += times
            standing.both_bad += one.both_bad * times
        elif one.winner == name:
            standing.wins += times
        else:
            standing.losses += times


def _interval(values: list[float], rating: float) -> tuple[float, float]:
    if not values:
        return rating, rating
    ordered = sorted(values)
    low = ordered[int(0.025 * (len(ordered) - 1))]
    high = ordered[int(round(0.975 * (len(ordered) - 1)))]
    return min(low, rating), max(high, rating)
