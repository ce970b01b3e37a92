"""The leaderboard page with many votes, against the same page with none, in one run (Flask's test client).

    python bench/leaderboard.py

Each vote is a round of two to four of eight contenders; the page fits Bradley–Terry ratings once, then 200 times
more on resampled votes for the 95% intervals; the result is kept until the next vote.
"""
from __future__ import annotations

import json
import random
import sys
import tempfile
import time

from _common import ROOT, median_seconds

sys.path.insert(0, str(ROOT))

from app import create_app  # noqa: E402

CONTENDERS = [f"model-{n}" for n in range(8)]


def add_votes(app, count: int, rng: random.Random) -> None:
    store = app.extensions["store"]
    group_id = store.create_group("bench", [{"model": name} for name in CONTENDERS[:2]])
    rows = []
    for _ in range(count):
        chosen = rng.sample(CONTENDERS, rng.choice([2, 2, 3, 4]))
        contenders = [{"label": "ABCD"[i], "position": i, "server": "default", "model": m} for i, m in enumerate(chosen)]
        vote = rng.choice(["ABCD"[i] for i in range(len(chosen))] + ["tie", "both_bad"])
        rows.append((group_id, time.time(), None, json.dumps(contenders), vote, time.time()))
    with store.writing():
        store.db.executemany("INSERT INTO arena_rounds (group_id, created_at, category, contenders_json, vote, "
                             "voted_at) VALUES (?, ?, ?, ?, ?, ?)", rows)


def main() -> None:
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as data:
        app = create_app({"DATA_DIR": data, "API_BASE": "http://127.0.0.1:9/v1"})
        client = app.test_client()
        baseline = median_seconds(lambda: client.get("/arena/leaderboard"), 20)
        print(f"leaderboard page, no votes: {baseline * 1000:.1f} ms (baseline)")
        total = 0
        for count in (100, 1000, 5000):
            add_votes(app, count - total, rng)
            total = count
            started = time.perf_counter()
            client.get("/arena/leaderboard")
            first = time.perf_counter() - started
            again = median_seconds(lambda: client.get("/arena/leaderboard"), 5)
            print(f"leaderboard page, {count:,} votes: first after a vote {first * 1000:.0f} ms "
                  f"({first / baseline:.0f}× the baseline), then {again * 1000:.1f} ms ({again / baseline:.1f}×)")
        app.extensions["store"].close()


if __name__ == "__main__":
    main()
