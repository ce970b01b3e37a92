"""A run's blind tournament against the real demo server: pairs drawn evenly, each two targets on one prompt, nothing
naming a target before its vote, votes in the arena's leaderboard under the run's name, and the run's own
leaderboard and win-rate matrix agreeing with the votes. In Chromium: tests/browser/test_tournament.py."""
import hashlib
import re
from collections import Counter

import pytest

from tests.support.tournament import ANIMALS, finished_run, image_owners

THREE = [{"model": "flux"}, {"model": "sdxl-turbo"}, {"model": "dall-e-3"}]
NAMES = ["default · flux", "default · sdxl-turbo", "default · dall-e-3"]


@pytest.fixture
def run(client):
    """3 targets × 6 prompts, finished: 18 cells, each with an image."""
    finished = finished_run(client, THREE)
    assert (finished["status"], finished["done"]) == ("done", 18)
    return finished


def next_pair(client, run_id):
    answer = client.post(f"/api/runs/{run_id}/tournament/next")
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()


def shown_targets(pair, owners):
    """The (target, prompt) of the images shown as A and B, as a voter who knew every image would tell."""
    return [owners[image["src"]] for image in pair["images"]]


def test_pairs_are_drawn_evenly_each_two_targets_on_one_prompt_until_every_pair_met_on_every_prompt(client, run):
    owners = image_owners(client, run["id"])
    per_pair, seen, a_first = Counter(), set(), Counter()
    for vote in range(18):
        pair = next_pair(client, run["id"])
        (target_a, prompt_a), (target_b, prompt_b) = shown_targets(pair, owners)
        assert target_a != target_b and prompt_a == prompt_b  # two targets, one prompt
        assert pair["prompt"] == ANIMALS[prompt_a]
        key = tuple(sorted((target_a, target_b)))
        assert (key, prompt_a) not in seen  # never the same pair on the same prompt twice
        seen.add((key, prompt_a))
        per_pair[key] += 1
        a_first[target_a < target_b] += 1
        assert client.post(f"/api/arena/{pair['id']}/vote", json={"winner": "tie"}).status_code == 200
        counts = [per_pair[key] for key in [(0, 1), (0, 2), (1, 2)]]
        assert max(counts) - min(counts) <= 1, f"after {vote + 1} votes: {counts}"
    assert set(per_pair.values()) == {6}
    assert a_first[True] and a_first[False]  # A is either target: the letter says nothing
    over = client.post(f"/api/runs/{run['id']}/tournament/next")
    assert over.status_code == 409
    assert over.get_json()["error"]["kind"] == "all_judged"
    assert "Every pair of targets has been judged on every prompt" in over.get_json()["error"]["message"]


def test_asking_again_before_the_vote_gives_the_same_pair(client, run):
    first = next_pair(client, run["id"])
    assert next_pair(client, run["id"])["id"] == first["id"]
    page = client.get(f"/runs/{run['id']}/tournament").get_data(as_text=True)
    assert f'data-round-id="{first["id"]}"' in page
    client.post(f"/api/arena/{first['id']}/vote", json={"winner": "B"})
    assert next_pair(client, run["id"])["id"] != first["id"]


def test_nothing_in_the_blind_pair_names_a_target_before_its_vote(tmp_path, make_app, demo_server):
    client = make_app(tmp_path, demo_server.api_base, SERVERS=[("studio", demo_server.api_base)]).test_client()
    targets = [{"model": "flux"}, {"model": "dall-e-3", "server": "studio"},
               {"model": "sdxl-turbo", "server": "studio"}]
    run = finished_run(client, targets, name="spring show")
    pair = next_pair(client, run["id"])
    blind = [str(pair), str(client.get(f"/api/arena/{pair['id']}").get_json()),
             client.get(f"/runs/{run['id']}/tournament").get_data(as_text=True),
             client.get(f"/arena/{pair['id']}").get_data(as_text=True)]
    for text in blind:
        for word in ("flux", "dall-e-3", "sdxl-turbo", "studio", "/generations/"):
            assert word not in text
    for image in pair["images"]:  # named by the content's hash: no model, server, generation or cell in the address
        served = client.get(image["src"])
        assert image["src"] == f"/images/{hashlib.sha256(served.data).hexdigest()}.png"
        assert "flux" not in str(served.headers)
    revealed = client.post(f"/api/arena/{pair['id']}/vote", json={"winner": "A"}).get_json()
    assert {(one["server"], one["model"]) for one in revealed["contenders"]} <= {
        ("default", "flux"), ("studio", "dall-e-3"), ("studio", "sdxl-turbo")}
    assert revealed["winner"] in ("default · flux", "studio · dall-e-3", "studio · sdxl-turbo")


def test_votes_count_in_the_arena_leaderboard_under_the_run_name(client, run):
    for winner in ("A", "B", "tie", "both_bad"):
        client.post(f"/api/arena/{next_pair(client, run['id'])['id']}/vote", json={"winner": winner})
    board = client.get("/api/arena/leaderboard?category=animals").get_json()
    assert "animals" in board["categories"]
    assert {standing["contender"] for standing in board["standings"]} <= set(NAMES)
    assert sum(standing["votes"] for standing in board["standings"]) == 8  # two contenders a vote
    assert sum(standing["both_bad"] for standing in board["standings"]) == 2
    page = client.get("/arena/leaderboard?category=animals").get_data(as_text=True)
    assert "sdxl-turbo" in page or "dall-e-3" in page


def test_the_run_leaderboard_and_matrix_agree_with_the_votes(client, run):
    """A voter who always prefers flux's image, and calls sdxl-turbo against dall-e-3 a tie."""
    owners = image_owners(client, run["id"])
    for _ in range(9):
        pair = next_pair(client, run["id"])
        targets = [target for target, _ in shown_targets(pair, owners)]
        winner = "ABC"[targets.index(0)] if 0 in targets else "tie"
        client.post(f"/api/arena/{pair['id']}/vote", json={"winner": winner})
    board = client.get(f"/api/runs/{run['id']}/leaderboard").get_json()
    assert board["votes"] == 9 and board["category"] == "animals" and board["targets"] == NAMES
    rows = {row["target"]: {cell["opponent"]: cell for cell in row["against"]} for row in board["matrix"]}
    flux = rows["default · flux"]
    assert flux["default · sdxl-turbo"]["wins"] == flux["default · dall-e-3"]["wins"] == 3  # 9 votes, 3 a pair
    assert flux["default · sdxl-turbo"]["win_rate"] == 1.0
    assert rows["default · sdxl-turbo"]["default · flux"] == {"opponent": "default · flux", "wins": 0, "losses": 3,
                                                              "ties": 0, "votes": 3, "win_rate": 0.0}
    assert rows["default · dall-e-3"]["default · sdxl-turbo"] == {"opponent": "default · sdxl-turbo", "wins": 0,
                                                                  "losses": 0, "ties": 3, "votes": 3, "win_rate": 0.5}
    standings = {standing["contender"]: standing for standing in board["standings"]}
    assert standings["default · flux"]["wins"] == 6 and standings["default · flux"]["losses"] == 0
    assert (standings["default · sdxl-turbo"]["ties"], standings["default · sdxl-turbo"]["losses"]) == (3, 3)
    assert board["standings"][0]["contender"] == "default · flux"
    low, high = board["standings"][0]["interval"]
    assert low <= board["standings"][0]["rating"] <= high
    page = client.get(f"/runs/{run['id']}/leaderboard").get_data(as_text=True)
    assert "9 votes" in page and "preliminary" in page and "± " in page
    assert "100%" in page and "3–0–0" in page and "0–0–3" in page and "50%" in page


def standings_rows(page: str) -> list[dict[str, str]]:
    """The leaderboard table as a reader sees it: each row's cells by their column."""
    rows = re.findall(r'<tr class="standing[^"]*">(.*?)</tr>', page, re.S)
    return [{label: re.sub(r"<[^>]+>", "", text).strip()
             for label, text in re.findall(r'<td[^>]*data-label="([^"]+)"[^>]*>(.*?)</td>', row, re.S)}
            for row in rows]


def test_targets_rated_the_same_share_a_place_and_each_vote_is_in_one_column(client, run):
    """Three pairs, one of each two targets: a tie, a tie and "both bad": every target rated 1000."""
    for winner in ("tie", "tie", "both_bad"):
        client.post(f"/api/arena/{next_pair(client, run['id'])['id']}/vote", json={"winner": winner})
    for path in (f"/runs/{run['id']}/leaderboard", "/arena/leaderboard?category=animals"):
        page = client.get(path).get_data(as_text=True)
        rows = standings_rows(page)
        assert len(rows) == 3 and {row["Rating"] for row in rows} == {"1000"}, path
        assert [row["#"] for row in rows] == ["=1", "=1", "=1"], path
        for row in rows:
            assert int(row["Votes"]) == 2, path
            assert sum(int(row[column]) for column in ("Wins", "Losses", "Ties", "Both bad")) == 2, path
        assert sorted(row["Both bad"] for row in rows) == ["0", "1", "1"], path
        said = " ".join(page.split())
        assert 'wins, losses, ties and "both bad" add up to the votes; the ratings count a "both bad" as a draw' in said
    board = client.get(f"/api/runs/{run['id']}/leaderboard").get_json()
    assert [standing["rank"] for standing in board["standings"]] == [1, 1, 1]


def test_a_run_with_one_target_says_so_plainly(client):
    run = finished_run(client, [{"model": "flux"}], prompts=["a fox", "a whale"], name="solo")
    refused = client.post(f"/api/runs/{run['id']}/tournament/next")
    assert refused.status_code == 409
    error = refused.get_json()["error"]
    assert error["kind"] == "too_few_targets"
    assert "This run has one target (default · flux): a tournament compares two or more." in error["message"]
    page = client.get(f"/runs/{run['id']}/tournament")
    assert page.status_code == 200
    assert "This run has one target (default · flux)" in page.get_data(as_text=True)
    assert 'id="vote-form"' not in page.get_data(as_text=True)


def test_a_target_that_made_no_image_is_never_in_a_pair(client):
    run = finished_run(client, [{"model": "flux"}, {"model": "no-such-model"}, {"model": "sdxl-turbo"}],
                       prompts=["a fox", "a whale"])
    assert (run["done"], run["failed"]) == (4, 2)
    owners = image_owners(client, run["id"])
    for _ in range(2):
        pair = next_pair(client, run["id"])
        assert {target for target, _ in shown_targets(pair, owners)} == {0, 2}
        client.post(f"/api/arena/{pair['id']}/vote", json={"winner": "A"})
    assert client.post(f"/api/runs/{run['id']}/tournament/next").get_json()["error"]["kind"] == "all_judged"


def test_two_targets_of_which_one_made_images_is_not_a_tournament(client):
    run = finished_run(client, [{"model": "flux"}, {"model": "no-such-model"}], prompts=["a fox"])
    error = client.post(f"/api/runs/{run['id']}/tournament/next").get_json()["error"]
    assert error["kind"] == "too_few_targets"
    assert "of this run's 2, only default · flux made one" in error["message"]


def test_voting_without_javascript_posts_then_shows_the_next_pair_with_the_reveal(client, run):
    first = next_pair(client, run["id"])
    voted = client.post(f"/runs/{run['id']}/tournament/{first['id']}/vote", data={"winner": "B"})
    assert voted.status_code == 303
    assert voted.headers["Location"].endswith(f"/runs/{run['id']}/tournament?last={first['id']}")
    page = client.get(voted.headers["Location"]).get_data(as_text=True)
    revealed = client.get(f"/api/arena/{first['id']}").get_json()
    assert revealed["vote"] == "B"
    winner = next(one for one in revealed["contenders"] if one["label"] == "B")
    assert f"B won: {winner['model']} · {winner['server']}." in page
    assert 'id="vote-form"' in page and f'data-round-id="{first["id"]}"' not in page.split("tournament-last")[0]
    again = client.post(f"/runs/{run['id']}/tournament/{first['id']}/vote", data={"winner": "A"})
    assert again.status_code == 303  # judged already: on to the next pair, the vote unchanged
    assert client.get(f"/api/arena/{first['id']}").get_json()["vote"] == "B"


def test_an_unvoted_pair_is_never_revealed_by_the_last_parameter(client, run):
    pair = next_pair(client, run["id"])
    page = client.get(f"/runs/{run['id']}/tournament?last={pair['id']}").get_data(as_text=True)
    assert "tournament-last" not in page and "flux" not in page


def test_a_pair_is_voted_and_shown_on_the_arena_s_own_round_page(client, run):
    pair = next_pair(client, run["id"])
    page = client.get(f"/arena/{pair['id']}").get_data(as_text=True)
    assert page.count('<img src="/images/') == 2 and 'id="vote-form"' in page
    client.post(f"/arena/{pair['id']}/vote", data={"winner": "A"})
    shown = client.get(f"/arena/{pair['id']}").get_data(as_text=True)
    assert "A won:" in shown and shown.count("Details and raw JSON") == 2


@pytest.mark.parametrize("method, path", [
    ("post", "/api/runs/99/tournament/next"), ("get", "/api/runs/99/leaderboard")])
def test_an_unknown_run_is_a_404_that_says_so(client, method, path):
    answer = getattr(client, method)(path)
    assert answer.status_code == 404
    assert answer.get_json()["error"]["message"] == "There is no run 99."
    assert client.get("/runs/99/tournament").status_code == 404
    assert client.get("/runs/99/leaderboard").status_code == 404


def test_a_vote_posted_to_another_run_s_pair_is_a_404(client, run):
    other = finished_run(client, THREE[:2], prompts=["a fox"], name="other")
    pair = next_pair(client, run["id"])
    assert client.post(f"/runs/{other['id']}/tournament/{pair['id']}/vote", data={"winner": "A"}).status_code == 404
    assert client.get(f"/api/arena/{pair['id']}").get_json()["voted"] is False


def test_the_leaderboard_before_any_vote_says_there_is_none(client, run):
    board = client.get(f"/api/runs/{run['id']}/leaderboard").get_json()
    assert (board["votes"], board["standings"]) == (0, [])
    assert "No votes yet" in client.get(f"/runs/{run['id']}/leaderboard").get_data(as_text=True)
