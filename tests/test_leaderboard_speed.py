"""The leaderboard kept current: a vote counts at once, the numbers are those of a full refit, and votes from threads
and from another process all count. The tally's ratings and intervals are compared with `standings` (every vote read
and every fit done again, as each load after a vote did before) within 1e-6 rating points: the same wins and games,
the same resampled votes, only sums taken in another order."""
import json
import random
import threading
import time
from unittest import mock

import pytest
from hypothesis import given, settings, strategies as st

from proofsheet.history import ratings as maths
from proofsheet.history.ratings import Round, Tally, intervals, standings
from proofsheet.history.store import Store

TOLERANCE = 1e-6  # rating points
OFFLINE = "http://127.0.0.1:9/v1"  # no image server is asked: the votes are written as the arena keeps them
MODELS = [f"model-{n}" for n in range(6)]


def cast(app, count, rng, category="portraits"):
    """`count` rounds among MODELS, each started and voted through the arena's book, as a person's are."""
    book = app.extensions["arena"]
    for _ in range(count):
        one = open_round(app, rng.sample(MODELS, rng.choice([2, 2, 3, 4])), category)
        assert book.vote(one.id, rng.choice([c.label for c in one.contenders] + ["tie", "both_bad"]))


def open_round(app, models=("model-0", "model-1"), category="portraits"):
    group_id = app.extensions["store"].create_group("a fox", [{"model": name} for name in models])
    return app.extensions["arena"].start(group_id, [{"server": "default", "model": m} for m in models], category)


def settled(book, category=None):
    """The leaderboard once its intervals are worked out."""
    book.leaderboard(category)
    assert book.board.settle()
    return book.leaderboard(category)


def assert_same(board, reference):
    assert [(s.contender, s.votes, s.wins, s.ties, s.losses, s.both_bad) for s in board] == \
        [(s.contender, s.votes, s.wins, s.ties, s.losses, s.both_bad) for s in reference]
    for got, expected in zip(board, reference):
        assert (got.rating, got.low, got.high) == pytest.approx((expected.rating, expected.low, expected.high),
                                                                abs=TOLERANCE)


rounds_strategy = st.lists(
    st.tuples(st.lists(st.sampled_from("abcdef"), min_size=2, max_size=4, unique=True), st.integers(0, 5)),
    min_size=1, max_size=40).map(
    lambda drawn: [Round(tuple(names), names[pick] if pick < len(names) else None, pick == 5)
                   for names, pick in drawn])


@settings(max_examples=60, deadline=None)
@given(rounds=rounds_strategy, arrival=st.randoms(use_true_random=False))
def test_the_tally_gives_the_ratings_intervals_and_records_of_a_full_refit(rounds, arrival):
    tally = Tally()
    order = list(range(len(rounds)))
    arrival.shuffle(order)  # the votes come in any order; each is placed by when it was cast
    for position in order:
        tally.add((float(position), position), rounds[position])
    with mock.patch.object(maths, "RESAMPLES", 12):
        reference = standings(rounds)
        rated = tally.ratings()
        bounds = intervals(tally.kinds, tally.kind_of(), rated)
    table = tally.records()
    for name, standing in table.items():
        standing.rating, (standing.low, standing.high) = rated[name], bounds[name]
    assert_same(maths.ranked(table.values()), reference)


def test_a_vote_counts_at_once_and_its_intervals_follow_in_the_background(make_app, tmp_path):
    app = make_app(tmp_path, OFFLINE)
    client, book = app.test_client(), app.extensions["arena"]
    cast(app, 400, random.Random(1))
    before = {s["contender"]: s for s in client.get("/api/arena/leaderboard").get_json()["standings"]}
    assert book.board.settle()
    voted = open_round(app)
    assert client.post(f"/api/arena/{voted.id}/vote", json={"winner": "A"}).status_code == 200
    winner = next(c.name for c in voted.contenders if c.label == "A")
    after = {s["contender"]: s for s in client.get("/api/arena/leaderboard").get_json()["standings"]}
    assert after[winner]["votes"] == before[winner]["votes"] + 1
    assert after[winner]["wins"] == before[winner]["wins"] + 1 and after[winner]["rating"] > before[winner]["rating"]
    assert after[winner]["updating"]  # the page did not wait for 200 fits
    again = open_round(app)
    assert client.post(f"/api/arena/{again.id}/vote", json={"winner": "tie"}).status_code == 200
    page = client.get("/arena/leaderboard").get_data(as_text=True)  # the page, too, at once, fetched again till done
    assert "<em>updating</em>" in page and 'data-updating="true"' in page
    assert book.board.settle()
    assert not any(s["updating"] for s in client.get("/api/arena/leaderboard").get_json()["standings"])
    assert 'data-updating="false"' in client.get("/arena/leaderboard").get_data(as_text=True)
    assert_same(settled(book), book.standings_from_scratch())
    assert_same(settled(book, "portraits"), book.standings_from_scratch("portraits"))


def test_while_updating_the_last_intervals_move_with_their_ratings(make_app, tmp_path):
    app = make_app(tmp_path, OFFLINE)
    book = app.extensions["arena"]
    cast(app, 300, random.Random(2))
    book.leaderboard()
    assert book.board.settle()
    earlier = {s.contender: s for s in book.leaderboard()}
    cast(app, 30, random.Random(3))
    for standing in book.leaderboard():
        assert standing.updating and standing.low <= standing.rating <= standing.high
        then = earlier[standing.contender]
        assert standing.high - standing.low == pytest.approx(then.high - then.low)
    assert book.board.settle()


def test_each_category_is_ranked_on_its_own_votes(make_app, tmp_path):
    app = make_app(tmp_path, OFFLINE)
    book = app.extensions["arena"]
    rng = random.Random(4)
    cast(app, 120, rng, category="portraits")
    cast(app, 80, rng, category="landscapes")
    cast(app, 50, rng, category=None)
    assert book.categories() == ["landscapes", "portraits"]
    for category in ("portraits", "landscapes", None):
        assert_same(settled(book, category), book.standings_from_scratch(category))
    assert sum(s.votes for s in book.leaderboard("landscapes")) == sum(
        len(json.loads(row[0])) for row in app.extensions["store"].db.execute(
            "SELECT contenders_json FROM arena_rounds WHERE category='landscapes'"))
    assert book.leaderboard("no such category") == []


def test_votes_from_many_threads_all_count(make_app, tmp_path):
    app = make_app(tmp_path, OFFLINE)
    book = app.extensions["arena"]
    cast(app, 250, random.Random(5))
    rounds = [open_round(app, models=random.Random(n).sample(MODELS, 2)) for n in range(48)]
    failures = []

    def vote(mine):
        client = app.test_client()
        for one in mine:
            answer = client.post(f"/api/arena/{one.id}/vote", json={"winner": "B"})
            board = client.get("/api/arena/leaderboard?category=portraits")  # loads between the votes, too
            if answer.status_code != 200 or board.status_code != 200:
                failures.append((answer.status_code, board.status_code))

    threads = [threading.Thread(target=vote, args=(rounds[n::8],)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert failures == []
    assert sum(s.votes for s in book.leaderboard("portraits")) == sum(s.votes for s in book.standings_from_scratch(
        "portraits"))
    assert_same(settled(book, "portraits"), book.standings_from_scratch("portraits"))


def test_votes_kept_by_another_process_count_on_the_next_load(make_app, tmp_path):
    app = make_app(tmp_path, OFFLINE)
    book = app.extensions["arena"]
    cast(app, 60, random.Random(6))
    assert sum(s.votes for s in book.leaderboard()) > 0
    other = Store(tmp_path / "data", lock=False)  # a second Proofsheet's own connection to the same history
    try:
        rows = [(1, json.dumps([{"label": "A", "position": 0, "server": "elsewhere", "model": "m"},
                                {"label": "B", "position": 1, "server": "default", "model": "model-0"}]), "A")]
        group_id = other.create_group("from afar", [{"model": "m"}])
        with other.writing():
            other.db.execute("INSERT INTO arena_rounds (group_id, created_at, category, contenders_json, vote, "
                             "voted_at) VALUES (?, ?, 'portraits', ?, ?, ?)",
                             (group_id, time.time(), rows[0][1], rows[0][2], time.time()))
            # stamped an hour ago but kept only now (a clock set back, a write that waited): read all again
            other.db.execute("INSERT INTO arena_rounds (group_id, created_at, category, contenders_json, vote, "
                             "voted_at) VALUES (?, ?, NULL, ?, 'tie', ?)",
                             (group_id, time.time(), rows[0][1], time.time() - 3600))
    finally:
        other.close()
    board = {s.contender: s for s in book.leaderboard()}
    assert (board["elsewhere · m"].votes, board["elsewhere · m"].wins, board["elsewhere · m"].ties) == (2, 1, 1)
    assert book.board.settle()
    assert_same(settled(book), book.standings_from_scratch())
    assert_same(settled(book, "portraits"), book.standings_from_scratch("portraits"))


def test_a_vote_changed_in_the_history_is_read_again(make_app, tmp_path):
    app = make_app(tmp_path, OFFLINE)
    book = app.extensions["arena"]
    one = open_round(app, ("model-0", "model-1"))
    book.vote(one.id, next(c.label for c in one.contenders if c.model == "model-0"))
    assert [s.contender for s in book.leaderboard()] == ["default · model-0", "default · model-1"]
    with app.extensions["store"].writing():  # as a room's vote might be, changeable until its round closes
        app.extensions["store"].db.execute("UPDATE arena_rounds SET vote=?, voted_at=? WHERE id=?", (
            next(c.label for c in one.contenders if c.model == "model-1"), time.time() + 1, one.id))
    assert [s.contender for s in book.leaderboard()] == ["default · model-1", "default · model-0"]
