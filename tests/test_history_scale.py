"""The History at scale: prompt search through the trigram index finds what the plain substring search found, counts
and lists come from tallies kept by triggers, and an existing history gains both when it is opened."""
import json
import sqlite3

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from proofsheet.history import queries
from proofsheet.history.db import DB_NAME
from proofsheet.history.migrations import MIGRATIONS
from proofsheet.history.store import Store
from proofsheet.results import GenerationResult
from tests.support import wait_until

ENDPOINT = "http://127.0.0.1:1/v1/images/generations"
TYPED = ['"', 'say "cheese"', "*", "cat*", "-dog", "NEAR(cat dog)", "cat AND dog", "cat OR", "(a", "prompt:cat",
         "^start", "50%", "snake_case", "back\\slash", "{x y}", "a + b", "'single'"]


@pytest.fixture
def store(tmp_path):
    opened = Store(tmp_path)
    yield opened
    opened.close()


def add(store: Store, prompt: str, model: str = "flux", server: str = "default") -> int:
    return store.begin({"prompt": prompt, "model": model}, ENDPOINT, model=model, server=server)


def fail(store: Store, generation_id: int) -> None:
    store.finish(generation_id, GenerationResult(request={}, endpoint=ENDPOINT, status=500, elapsed=0.1))


def succeed(store: Store, generation_id: int) -> None:
    """As a generation that gave one image: its status and its image's row."""
    store.db.execute("UPDATE generations SET status='ok' WHERE id=?", (generation_id,))
    store.db.execute("INSERT INTO images (generation_id, position, source, sha256) VALUES (?, 0, 'b64_json', ?)",
                     (generation_id, f"{generation_id:064x}"))


def found(store: Store, query: str, **filters) -> list[str]:
    return [row["prompt"] for row in store.gallery(per_page=1000, query=query, **filters).rows]


def before_the_index(store: Store, query: str) -> list[str]:
    """What the search found before the index: SQLite's LIKE '%query%' over every prompt, newest first."""
    where, params = queries._gallery_filter(query, "", "", "", False)
    return [row[0] for row in store.db.execute(f"SELECT prompt FROM generations g {where} ORDER BY id DESC", params)]


def test_a_search_finds_a_substring_inside_words_in_any_ascii_case(store):
    for prompt in ("a lighthouse at dawn", "LIGHTHOUSES of Maine", "a light house", "a fox"):
        add(store, prompt)
    assert found(store, "ighthous") == ["LIGHTHOUSES of Maine", "a lighthouse at dawn"]
    assert found(store, "LightHouse") == ["LIGHTHOUSES of Maine", "a lighthouse at dawn"]
    assert found(store, "t h") == ["a light house"]


def test_a_search_of_one_or_two_characters_still_finds_substrings(store):
    for prompt in ("ox cart", "a fox", "a cat", "日本の猫"):
        add(store, prompt)
    assert found(store, "ox") == ["a fox", "ox cart"]
    assert found(store, "x") == ["a fox", "ox cart"]
    assert found(store, "日本") == ["日本の猫"]


def test_a_search_of_other_scripts_matches_them_exactly(store):
    for prompt in ("Zürich tram in winter", "ZÜRICH by night", "un été à Paris", "日本の猫と犬", "Straße"):
        add(store, prompt)
    assert found(store, "Zürich") == ["Zürich tram in winter"]  # as LIKE: only ASCII letters ignore their case
    assert found(store, "ZÜRICH") == ["ZÜRICH by night"]
    assert found(store, "été à") == ["un été à Paris"]
    assert found(store, "猫と犬") == ["日本の猫と犬"]
    assert found(store, "straße") == ["Straße"]


@pytest.mark.parametrize("typed", TYPED)
def test_search_syntax_a_person_types_is_searched_for_literally(store, typed):
    add(store, f"before {typed} after")
    add(store, "cat dog cheese start prompt snake case a b single 50 x y backslash")
    assert found(store, typed) == [f"before {typed} after"]
    assert found(store, f"e {typed} a") == [f"before {typed} after"]


def test_a_search_with_the_page_and_the_api_never_fails_on_search_syntax(client):
    for typed in [*TYPED, "a\0b", "\0\0\0", '"\0"']:
        assert client.get("/generations", query_string={"q": typed}).status_code == 200
        answer = client.get("/api/generations", query_string={"q": typed})
        assert answer.status_code == 200 and answer.get_json()["total"] == 0


def test_a_deleted_generation_leaves_the_search_and_the_counts(store):
    kept, deleted = add(store, "a lighthouse kept"), add(store, "a lighthouse deleted", model="sdxl")
    assert store.delete(deleted)
    assert found(store, "lighthouse") == ["a lighthouse kept"]
    assert store.gallery(query="deleted").total == 0
    assert store.gallery().total == 1 and store.models() == ["flux"]
    assert store.gallery(model="sdxl").total == 0 and store.recent_models() == []
    assert kept


def test_counts_follow_every_change_of_model_server_outcome_and_star(store):
    first, second, third = add(store, "one"), add(store, "two", server="litellm"), add(store, "three", model="sdxl")
    fail(store, second)
    store.star(third)
    assert store.gallery().total == 3
    assert store.gallery(outcome="failed").total == 1 and store.gallery(outcome="succeeded").total == 0
    assert store.gallery(server="litellm").total == 1 and store.gallery(model="flux").total == 2
    assert store.gallery(starred=True).total == 1 and store.gallery(starred=True, model="flux").total == 0
    store.star(third)
    assert store.gallery(starred=True).total == 0
    assert store.models() == ["flux", "sdxl"] and store.servers() == ["default", "litellm"]
    assert first


def test_a_search_past_the_counting_limit_says_at_least(client, monkeypatch):
    store = client.application.extensions["store"]
    monkeypatch.setattr(queries, "COUNT_AHEAD", 5)
    for number in range(7):
        add(store, f"a lighthouse number {number}")
    searched = client.get("/api/generations?q=lighthouse&per_page=2").get_json()
    assert searched["total"] == 5 and searched["total_exact"] is False
    assert [row["prompt"] for row in searched["generations"]] == ["a lighthouse number 6", "a lighthouse number 5"]
    page = client.get("/generations?q=lighthouse").get_data(as_text=True)
    assert "5+ generations" in page
    whole = client.get("/api/generations?per_page=2").get_json()
    assert whole["total"] == 7 and whole["total_exact"] is True


def test_the_newest_successful_models_are_offered_as_recent(store):
    for model, server in (("flux", "default"), ("sdxl", "litellm"), ("typo", "default"), ("dall-e-3", "default")):
        generation = add(store, "a cat", model=model, server=server)
        if model == "typo":
            fail(store, generation)
        else:
            succeed(store, generation)
    assert store.recent_models() == ["dall-e-3", "sdxl", "flux"]
    assert store.recent_models(server="default") == ["dall-e-3", "flux"]
    assert store.recent_models(limit=1) == ["dall-e-3"]


def test_the_spending_follows_new_and_deleted_generations_as_a_fresh_sum_does(store):
    store.prices.path.write_text(json.dumps({"models": {"flux": {"per_image": {"1024x1024": 0.25}}}}))
    made = []
    for number in range(4):
        made.append(add(store, f"priced {number}"))
        succeed(store, made[-1])
        assert store.spending() == queries.Spending(store.prices).total(store.db)
    store.delete(made[1])
    store.db.execute("DELETE FROM generations WHERE id=?", (made[2],))  # gone without the store knowing
    assert store.spending() == (0.5, 2) == queries.Spending(store.prices).total(store.db)


def test_an_existing_history_gains_the_index_and_the_tallies_when_opened(tmp_path):
    db = sqlite3.connect(tmp_path / DB_NAME, isolation_level=None)
    before_the_index = next(number for number, script in enumerate(MIGRATIONS) if "prompt_search" in script)
    for number, script in enumerate(MIGRATIONS[:before_the_index], start=1):  # later migrations come after it
        db.executescript(f"BEGIN; {script}; PRAGMA user_version = {number}; COMMIT;")
    for prompt, status, model in (("an old lighthouse", "ok", "flux"), ("an old fox", "failed", "sdxl")):
        db.execute("INSERT INTO generations (created_at, status, prompt, model, request_json, endpoint) "
                   "VALUES (1, ?, ?, ?, '{}', 'e')", (status, prompt, model))
    db.close()
    store = Store(tmp_path)
    try:
        assert found(store, "LIGHTHOUSE") == ["an old lighthouse"]
        assert store.gallery(outcome="failed").total == 1 and store.models() == ["flux", "sdxl"]
        assert store.recent_models() == ["flux"]
    finally:
        store.close()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(prompts=st.lists(st.text(alphabet="abcAB Cé É_%\"*-日\0", min_size=1, max_size=12), min_size=1, max_size=8),
       start=st.integers(0, 11), length=st.integers(1, 6))
def test_the_index_finds_what_the_substring_search_found(tmp_path_factory, prompts, start, length):
    store = Store(tmp_path_factory.mktemp("history"))
    try:
        for prompt in prompts:
            add(store, prompt)
        query = prompts[0][start:start + length].strip() or "a"
        assert found(store, query) == before_the_index(store, query)
    finally:
        store.close()


def test_a_large_spending_is_added_up_in_the_background_and_shown_once_known(store, monkeypatch):
    monkeypatch.setattr(queries, "WAIT_FOR_AT_MOST", 2)
    store.prices.path.write_text(json.dumps({"models": {"flux": {"per_image": {"1024x1024": 0.25}}}}))
    for number in range(7):
        succeed(store, add(store, f"priced {number}"))
    assert store.spending() == (0.0, 0)  # not known yet: the page leaves it out
    assert wait_until(lambda: store.spending() == (1.75, 7), 10)


@pytest.mark.parametrize("filters", [{"model": "flux"}, {"server": "litellm"}, {"outcome": "failed"},
                                     {"outcome": "succeeded"}, {"starred": True},
                                     {"model": "flux", "server": "litellm", "outcome": "failed", "starred": True}])
def test_a_search_with_filters_finds_what_each_alone_allows(store, filters, monkeypatch):
    monkeypatch.setattr(queries, "FEW_TO_SEARCH", 0)  # through the index, as in a large history
    made = {}
    for number in range(16):
        model, server = ("flux", "sdxl")[number % 2], ("default", "litellm")[number // 2 % 2]
        generation = add(store, f"a lighthouse {number}" if number % 3 else f"a fox {number}", model, server)
        if number // 4 % 2:
            fail(store, generation)
        else:
            succeed(store, generation)
        if number // 8:
            store.star(generation)
        made[generation] = store.gallery_row(generation) | {"outcome": "failed" if number // 4 % 2 else "succeeded"}
    expected = [row["prompt"] for row in sorted(made.values(), key=lambda row: -row["id"])
                if "lighthouse" in row["prompt"] and all(row[key] == value for key, value in filters.items())]
    assert expected and found(store, "lighthouse", **filters) == expected
    assert found(store, "se", **filters) == expected  # two letters: the filters still through the index
    assert store.gallery(query="lighthouse", **filters).total == len(expected)
