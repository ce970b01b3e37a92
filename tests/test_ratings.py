"""The rating maths against values worked out by hand."""
import math

import pytest

from proofsheet.history.ratings import Round, expected, ratings, standings


def test_equal_ratings_expect_an_even_chance_and_400_points_mean_ten_to_one():
    assert expected(1000, 1000) == 0.5
    assert expected(1400, 1000) == pytest.approx(10 / 11)


def test_one_win_with_the_virtual_draw_is_three_to_one():
    # a: 1 win + ½ (virtual draw), b: ½, over 2 games: strengths 3:1, so 400·log10(3) = 190.85 points apart
    rated = ratings([Round(("a", "b"), "a")])
    assert rated["a"] == pytest.approx(1000 + 200 * math.log10(3), abs=1e-6)  # 1095.42
    assert rated["b"] == pytest.approx(1000 - 200 * math.log10(3), abs=1e-6)  # 904.58


def test_two_wins_to_one_is_five_to_three():
    # with the virtual draw: 2½ against 1½
    rated = ratings([Round(("a", "b"), "a"), Round(("b", "a"), "b"), Round(("a", "b"), "a")])
    assert rated["a"] - rated["b"] == pytest.approx(400 * math.log10(5 / 3), abs=1e-6)  # 88.74
    assert rated["a"] + rated["b"] == pytest.approx(2000)


def test_a_tie_changes_nothing_and_both_bad_counts_as_a_tie():
    assert ratings([Round(("a", "b"), None)]) == {"a": pytest.approx(1000), "b": pytest.approx(1000)}
    table = {s.contender: s for s in standings([Round(("a", "b"), None, both_bad=True)])}
    assert (table["a"].ties, table["a"].both_bad, table["a"].wins, table["a"].losses) == (1, 1, 0, 0)
    assert table["a"].plain_ties == 0  # the page's Ties column: not counted twice beside "both bad"


def test_equal_ratings_share_a_place_and_the_place_after_them_is_skipped():
    table = standings([Round(("a", "b"), None), Round(("a", "c"), "a"), Round(("b", "c"), "b")])
    assert [(s.contender, s.rank, s.shared) for s in table] == [("a", 1, True), ("b", 1, True), ("c", 3, False)]
    assert [s.to_dict()["rank"] for s in table] == [1, 1, 3]
    assert [(s.rank, s.shared) for s in standings([Round(("a", "b"), "a")])] == [(1, False), (2, False)]


def test_a_win_among_three_beats_each_other_contender_and_the_losers_are_not_compared():
    rated = ratings([Round(("a", "b", "c"), "a")])
    assert rated["b"] == pytest.approx(rated["c"])
    assert rated["a"] - rated["b"] == pytest.approx(400 * math.log10(3), abs=1e-6)


def test_the_order_of_the_votes_does_not_matter():
    rounds = [Round(("a", "b"), "a"), Round(("a", "c"), "c"), Round(("b", "c"), None), Round(("a", "b"), "b")]
    assert ratings(rounds) == pytest.approx(ratings(list(reversed(rounds))))


def test_standings_rank_best_first_with_an_interval_that_narrows_with_more_votes():
    votes = [Round(("a", "b"), "a"), Round(("a", "b"), "b"), Round(("a", "b"), "a")]
    few, many = standings(votes), standings(votes * 20)
    assert [s.contender for s in many] == ["a", "b"]
    for standing in few + many:
        assert standing.low <= standing.rating <= standing.high
    assert many[0].high - many[0].low < few[0].high - few[0].low
    assert many[0].low > 1000  # sixty votes at two to one: a is better, beyond doubt
    assert (many[0].votes, many[0].wins, many[0].losses, many[0].ties) == (60, 40, 20, 0)


def test_the_same_votes_always_give_the_same_interval():
    rounds = [Round(("a", "b"), "a"), Round(("a", "c"), "c"), Round(("b", "c"), None)]
    assert [s.to_dict() for s in standings(rounds)] == [s.to_dict() for s in standings(rounds)]
