"""The leaderboard page's first load after a vote, against the old path in the same run (Flask's test client).

    python bench/leaderboard.py

Each vote is a round of two to four of eight contenders, in one of two categories or none, stamped over the past
month; the measured votes go through `POST /api/arena/<id>/vote` as a person's would. The old path, what every first
load after a vote did before the leaderboard was kept current, reads every vote and fits Bradley–Terry 201 times
(`ArenaBook.standings_from_scratch`); it is measured on the same votes by putting it in the book's place.
"""
from __future__ import annotations

import json
import random
import statistics
import sys
import tempfile
import time

from _common import ROOT, median_seconds

sys.path.insert(0, str(ROOT))

from app import create_app  # noqa: E402
from proofsheet.history.arena import round_of  # noqa: E402

CONTENDERS = [f"model-{n}" for n in range(8)]
CATEGORIES = ["portraits"] * 5 + ["landscapes"] * 3 + [None] * 2
MONTH = 30 * 24 * 3600.0
REPEATS = 5


def add_votes(app, count: int, rng: random.Random) -> None:
    store = app.extensions["store"]
    group_id = store.create_group("bench", [{"model": name} for name in CONTENDERS[:2]])
    rows = []
    for _ in range(count):
        chosen = rng.sample(CONTENDERS, rng.choice([2, 2, 3, 4]))
        contenders = [{"label": "ABCD"[i], "position": i, "server": "default", "model": m} for i, m in enumerate(chosen)]
        vote = rng.choice(["ABCD"[i] for i in range(len(chosen))] + ["tie", "both_bad"])
        when = time.time() - rng.uniform(60, MONTH)
        rows.append((group_id, when, rng.choice(CATEGORIES), json.dumps(contenders), vote, when))
    with store.writing():
        store.db.executemany("INSERT INTO arena_rounds (group_id, created_at, category, contenders_json, vote, "
                             "voted_at) VALUES (?, ?, ?, ?, ?, ?)", rows)


def voted(app, category: str | None = None) -> int:
    return app.extensions["store"].db.execute(
        "SELECT COUNT(*) FROM arena_rounds WHERE vote IS NOT NULL AND (? IS NULL OR category = ?)",
        (category, category)).fetchone()[0]


def first_load_after_a_vote(app, client, path: str, rng: random.Random, settle: bool = True) -> tuple[float, float]:
    """A vote through the API, then the page timed: (seconds, seconds of this thread's CPU, which the machine's load
    does not stretch); the background intervals finished first unless `settle` is off."""
    book = app.extensions["arena"]
    group_id = app.extensions["store"].create_group("bench", [{"model": name} for name in CONTENDERS[:2]])
    cells = [{"server": "default", "model": name} for name in rng.sample(CONTENDERS, 2)]
    started = book.start(group_id, cells, "portraits")
    if settle:
        book.board.settle()
    assert client.post(f"/api/arena/{started.id}/vote", json={"winner": "A"}).status_code == 200
    began, cpu = time.perf_counter(), time.thread_time()
    assert client.get(path).status_code == 200
    return time.perf_counter() - began, time.thread_time() - cpu


def medians(timings: list[tuple[float, float]]) -> tuple[float, float]:
    return statistics.median(t[0] for t in timings), statistics.median(t[1] for t in timings)


def measure(app, client, rng: random.Random, count: int) -> None:
    book = app.extensions["arena"]
    book.board = type(book.board)(book.store, round_of)  # as in a process just started: every vote read once
    began, cpu = time.perf_counter(), time.thread_time()
    client.get("/arena/leaderboard")
    start, start_cpu = time.perf_counter() - began, time.thread_time() - cpu
    print(f"{count:,} votes ({voted(app, 'portraits'):,} in 'portraits'):")
    print(f"  first load after a start, reading every vote once: {start * 1000:.0f} ms, CPU {start_cpu * 1000:.0f} ms")
    for label, path in (("all categories", "/arena/leaderboard"),
                        ("'portraits'", "/arena/leaderboard?category=portraits")):
        new, new_cpu = medians([first_load_after_a_vote(app, client, path, rng) for _ in range(REPEATS)])
        busy, _ = medians([first_load_after_a_vote(app, client, path, rng, settle=False) for _ in range(REPEATS)])
        book.leaderboard = book.standings_from_scratch  # the old path, on the same votes
        old, old_cpu = medians([first_load_after_a_vote(app, client, path, rng) for _ in range(3)])
        del book.leaderboard
        print(f"  first load after a vote, {label}: {new * 1000:.1f} ms, CPU {new_cpu * 1000:.1f} ms (old path "
              f"{old * 1000:.0f} ms, CPU {old_cpu * 1000:.0f} ms: {new / old:.3f}×, {old / new:.0f} times faster); "
              f"{busy * 1000:.1f} ms while the last vote's intervals are still being worked out")
    first_load_after_a_vote(app, client, "/arena/leaderboard", rng)
    began = time.perf_counter()
    book.board.settle()
    updating = time.perf_counter() - began
    again = median_seconds(lambda: client.get("/arena/leaderboard"), 11)
    print(f"  intervals updated in the background {updating * 1000:.0f} ms after that load; "
          f"every later load {again * 1000:.1f} ms")


def main() -> None:
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as data:
        app = create_app({"DATA_DIR": data, "API_BASE": "http://127.0.0.1:9/v1"})
        client = app.test_client()
        for count in (1000, 5000):
            add_votes(app, count - voted(app), rng)
            measure(app, client, rng, count)
        app.extensions["arena"].board.settle()
        app.extensions["store"].close()


if __name__ == "__main__":
    main()
