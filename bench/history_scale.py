"""The History at 1,000,000 generations: every query a History page load or GET /api/generations asks, each timed.

    python bench/history_scale.py [--generations 1000000]

Baseline measured in the same run: the same query on a history of 1,000 generations (how much does it grow with
the history?). The large history is written with direct SQL through the project's own migrations, all but the last
first, so that the last one (the search index and the tallies) is also timed as it runs on an existing history.
"""
from __future__ import annotations

import argparse
import json
import random
import sqlite3
import tempfile
import time
from pathlib import Path
from typing import Callable, Iterator

from _common import median_seconds

from app import create_app
from proofsheet.history import queries
from proofsheet.history.db import DB_NAME, Database
from proofsheet.history.migrations import MIGRATIONS
from proofsheet.history.prices import PriceTable

REPEATS = 31
SMALL = 1000
MODELS = ["gpt-image-1", "dall-e-3", "dall-e-2", "flux", "flux-pro", "flux-dev", "sdxl-turbo", "sd-3.5-large",
          "imagen-4", "recraft-v3", "ideogram-v2", "midjourney-relay", "kandinsky-3", "playground-v2.5"]
SERVERS = ["default", "openai", "litellm", "localai"]
SUBJECTS = ["a lighthouse at dawn", "a red fox in the snow", "a bowl of ramen", "an astronaut riding a horse",
            "a Victorian street in the rain", "a tiny robot watering plants", "a koi pond from above",
            "the skyline of Tokyo at night", "a cat wearing a knitted hat", "a medieval map of an island",
            "a café in Montmartre", "a glass of iced coffee", "a dragon made of origami", "a mountain cabin",
            "a portrait of an old fisherman", "Zürich tram in winter", "a bicycle leaning on a wall"]
STYLES = ["watercolor", "oil painting", "35mm photo", "isometric pixel art", "studio lighting", "ukiyo-e print",
          "low-poly 3D render", "charcoal sketch", "cinematic, golden hour", "flat vector illustration",
          "macro photography", "neon cyberpunk", "children's book illustration", "Bauhaus poster"]
DETAILS = ["highly detailed", "soft focus", "dramatic shadows", "pastel colours", "wide angle", "8k",
           "shallow depth of field", "muted palette", "symmetrical composition", "grainy film", "morning mist"]
# Filters and searches the benchmark asks, chosen as a person would: common and rare words, one model, one server.
SEARCHES = ["lighthouse", "fisherman", "Zürich", "origami dragon", "ramen", "ukiyo-e", "a", "xyzzy nothing",
            "variation 1234", "a cat wearing a knitted hat"]


def fake_rows(count: int, seed: int = 7) -> Iterator[tuple]:
    """Realistic generations, oldest first: a year of pages and /v1 traffic across models and servers."""
    pick = random.Random(seed)
    started = time.time() - 365 * 86400
    for number in range(1, count + 1):
        prompt = (f"{pick.choice(SUBJECTS)}, {pick.choice(STYLES)}, {pick.choice(DETAILS)}, "
                  f"{pick.choice(DETAILS)}, variation {pick.randrange(10_000)}")
        model, server = pick.choice(MODELS), pick.choice(SERVERS)
        roll = pick.random()
        status = "ok" if roll < 0.9 else "partial" if roll < 0.92 else "cancelled" if roll < 0.93 else "failed"
        request = {"prompt": prompt, "model": model, "size": pick.choice(["1024x1024", "1024x1536", "512x512"]),
                   "n": 1, "response_format": "b64_json"}
        usage = {"input_tokens": 40, "output_tokens": 4160} if model == "gpt-image-1" else None
        yield (number, started + number * 31.5, status, prompt, model, "b64_json", json.dumps(request),
               f"http://127.0.0.1:1/{server}/v1/images/generations", 200 if status != "failed" else 500, 2.5,
               None if status != "failed" else "server_error", None if status != "failed" else "The server failed.",
               json.dumps(usage) if usage else None, "v1" if pick.random() < 0.6 else "proofsheet", server,
               int(pick.random() < 0.02))


def build(folder: Path, count: int, migrate_last: bool = True) -> float:
    """A history of `count` generations (one image each when it succeeded), filled as it was before the search index
    and tallies came; the seconds the migrations from that one on took (the index built once, as an upgrade does)."""
    db = sqlite3.connect(folder / DB_NAME, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    before_the_index = next(number for number, script in enumerate(MIGRATIONS) if "prompt_search" in script)
    for number, script in enumerate(MIGRATIONS[:before_the_index], start=1):
        db.executescript(f"BEGIN; {script}; PRAGMA user_version = {number}; COMMIT;")
    db.execute("BEGIN")
    for rows in _batches(fake_rows(count), 10_000):
        db.executemany("INSERT INTO generations (id, created_at, status, prompt, model, response_format, "
                       "request_json, endpoint, upstream_status, elapsed, error_kind, error_message, usage_json, "
                       "via, server, starred) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        db.executemany("INSERT INTO images (generation_id, position, source, sha256, format, width, height, bytes) "
                       "VALUES (?, 0, 'b64_json', ?, 'png', 1024, 1024, 1500000)",
                       [(row[0], f"{row[0]:064x}") for row in rows if row[2] in ("ok", "partial")])
    db.execute("COMMIT")
    started = time.perf_counter()
    if migrate_last:
        Database(folder / DB_NAME).migrate()
    seconds = time.perf_counter() - started
    db.close()
    return seconds


def _batches(rows: Iterator[tuple], size: int) -> Iterator[list[tuple]]:
    batch: list[tuple] = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def query_table(db: sqlite3.Connection, prices: PriceTable) -> dict[str, Callable[[], object]]:
    """Every query of the History, by what a person does."""
    spending = queries.Spending(prices)
    spending.total(db)  # worked out once when Proofsheet starts (see queries.Spending); each load checks it
    table: dict[str, Callable[[], object]] = {
        "first page": lambda: queries.gallery(db),
        "page 50": lambda: queries.gallery(db, page=50),
        "model filter": lambda: queries.gallery(db, model="flux-dev"),
        "server filter": lambda: queries.gallery(db, server="localai"),
        "outcome: failed": lambda: queries.gallery(db, outcome="failed"),
        "outcome: succeeded": lambda: queries.gallery(db, outcome="succeeded"),
        "starred": lambda: queries.gallery(db, starred=True),
        "model + server + failed + starred": lambda: queries.gallery(db, model="flux", server="openai",
                                                                     outcome="failed", starred=True),
    }
    for words in SEARCHES:
        table[f"search {words!r}"] = lambda words=words: queries.gallery(db, query=words)
    for filters in ({"model": "flux"}, {"starred": True}, {"outcome": "succeeded"},
                    {"model": "flux", "outcome": "failed"}, {"model": "flux", "server": "openai"},
                    {"model": "dall-e-3", "server": "localai", "outcome": "failed"}):
        table[f"search 'lighthouse' + {' + '.join(filters)}"] = \
            lambda filters=filters: queries.gallery(db, query="lighthouse", **filters)
    table["search 'zq' (two letters found nowhere)"] = lambda: queries.gallery(db, query="zq")
    table.update({
        "model list": lambda: queries.models(db),
        "server list": lambda: queries.servers(db),
        "recent models": lambda: queries.recent_models(db),
        "recent models on one server": lambda: queries.recent_models(db, server="litellm"),
        "spending (per load)": lambda: spending.total(db),
        "index page's recent strip": lambda: queries.gallery(db, per_page=12),
    })
    return table


def time_queries(folder: Path) -> dict[str, float]:
    db = Database(folder / DB_NAME)
    prices = PriceTable(folder)
    timings = {name: median_seconds(action, REPEATS) for name, action in query_table(db.connection, prices).items()}
    db.close()
    return timings


def time_pages(folder: Path) -> dict[str, float]:
    """The page and the API through Flask's test client, once the spending is known (added up after a start)."""
    app = create_app({"DATA_DIR": str(folder), "API_BASE": "http://127.0.0.1:1/v1", "SECRET_KEY": "bench"})
    client = app.test_client()
    paths = {"GET /generations": "/generations", "GET /generations?q=lighthouse": "/generations?q=lighthouse",
             "GET /api/generations": "/api/generations", "GET /api/models (recent models)": "/api/models"}
    for path in paths.values():
        assert client.get(path).status_code == 200, path
    started = time.perf_counter()  # the first load began adding up the spending in the background
    while app.extensions["store"].spending() == (0.0, 0) and time.perf_counter() - started < 600:
        time.sleep(0.5)
    print(f"  ({Path(folder).name}: the spending was known {time.perf_counter() - started:.0f} s after the first "
          f"load: {app.extensions['store'].spending()})")
    timings = {name: median_seconds(lambda path=path: client.get(path), REPEATS) for name, path in paths.items()}
    app.extensions["store"].close()
    return timings


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--generations", type=int, default=1_000_000)
    large_count = parser.parse_args().generations
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as small, tempfile.TemporaryDirectory() as large:
        build(Path(small), SMALL)
        fill_started = time.perf_counter()
        migration = build(Path(large), large_count)
        print(f"built {large_count:,} generations in {time.perf_counter() - fill_started - migration:.0f} s; "
              f"the migrations from the index on took {migration:.1f} s "
              f"(database {(Path(large) / DB_NAME).stat().st_size / 1e6:,.0f} MB)")
        baseline = {**time_queries(Path(small)), **time_pages(Path(small))}
        measured = {**time_queries(Path(large)), **time_pages(Path(large))}
    width = max(map(len, measured))
    print(f"{'query':<{width}}  {large_count:>9,}  {SMALL:>7,}  ratio   (median of {REPEATS})")
    for name, seconds in measured.items():
        print(f"{name:<{width}}  {seconds * 1000:>6.2f} ms  {baseline[name] * 1000:>5.2f} ms  "
              f"{seconds / baseline[name]:>5.1f}x")
    print(f"total bench time {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
