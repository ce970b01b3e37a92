"""The History with runs in it, as a person reads it: a heading that counts the cards shown (generations and runs), a
spend that says it includes the runs', no action bar when no card can be chosen, and a button pressed with nothing
chosen coming back to the History with a word rather than an error page. Against the real demo server."""
import html
import re

import pytest

from tests.support import wait_until

PRICED = {"model": "gpt-image-1", "size": "256x256"}  # priced by the tokens the demo server counts


def finished_run(client, prompts, targets, name="a run"):
    started = client.post("/api/runs", json={"prompts": prompts, "targets": targets, "name": name})
    assert started.status_code == 201, started.get_json()
    run_id = started.get_json()["id"]
    assert wait_until(lambda: client.get(f"/api/runs/{run_id}").get_json()["status"] == "done", 60)
    return run_id


def text_of(page, pattern):
    """The text a person reads in the element the pattern finds, tags left out and spaces as shown."""
    found = re.search(pattern, page, re.S)
    assert found, pattern
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", "", found.group(0)))).strip()


def history(client, url="/generations"):
    answer = client.get(url)
    assert answer.status_code == 200
    return answer.get_data(as_text=True)


def heading(page):
    return text_of(page, r'<h1 id="gallery-title">.*?</h1>')


def test_a_history_of_runs_only_counts_its_runs_and_says_the_spend_includes_their_generations(client):
    for name in ("kites", "boats", "owls"):
        finished_run(client, ["a kite", "a boat"], [PRICED], name=name)
    page = history(client)
    assert page.count('class="gallery-card run-card') == 3
    assert heading(page) == "History 0 generations · 3 runs"
    assert re.fullmatch(r"Estimated spend: \$\d+\.\d\d over 6 priced generations, the runs' included",
                        text_of(page, r'<p class="spending".*?</p>'))


def test_the_heading_counts_generations_and_runs_apart(client):
    for number in range(12):
        assert client.post("/api/generate", json={"prompt": f"a lighthouse {number}", **PRICED}).status_code == 200
    finished_run(client, ["a kite"], [PRICED])
    page = history(client)
    assert heading(page) == "History 12 generations · 1 run"
    assert "13 priced generations, the runs' included" in text_of(page, r'<p class="spending".*?</p>')


def test_a_filtered_or_searched_history_lists_no_run_and_counts_none(client):
    client.post("/api/generate", json={"prompt": "a kite by hand", **PRICED})
    finished_run(client, ["a kite"], [PRICED])
    for url in ("/generations?q=kite", "/generations?model=gpt-image-1", "/generations?outcome=succeeded"):
        page = history(client, url)
        assert 'run-card' not in page
        assert heading(page) == "History 1 generation", url


def test_a_history_without_runs_says_nothing_of_them(client):
    client.post("/api/generate", json={"prompt": "a kite by hand", **PRICED})
    page = history(client)
    assert heading(page) == "History 1 generation"
    assert re.fullmatch(r"Estimated spend: \$\d+\.\d\d over 1 priced generation", text_of(page, r'<p class="spending".*?</p>'))


def test_a_page_of_run_cards_only_has_no_action_bar_and_one_with_a_generation_has(client):
    finished_run(client, ["a kite"], [PRICED])
    assert re.search(r'<p class="export-bar" id="export-bar"\s+hidden>', history(client))
    client.post("/api/generate", json={"prompt": "a kite by hand", **PRICED})
    page = history(client)
    bar = re.search(r'<p class="export-bar" id="export-bar"[^>]*>', page).group(0)
    assert "hidden" not in bar
    assert page.count('name="id"') == 1  # the generation's box; the run's card has none


@pytest.mark.parametrize("button", ["/present", "/generations/contact-sheet.png", "/generations/contact-sheet.html",
                                    "/generations/export", "/generations/contact-sheet.png?download=1"])
def test_a_history_button_pressed_with_nothing_chosen_comes_back_to_the_history_saying_so(client, button):
    client.post("/api/generate", json={"prompt": "a kite by hand", **PRICED})
    answer = client.get(button, headers={"Referer": "http://localhost/generations"})
    assert answer.status_code == 303 and answer.headers["Location"] == "http://localhost/generations"
    assert "Choose a card first: tick the box on each card to present, export or print." in history(client)


def test_a_history_button_pressed_with_nothing_chosen_keeps_the_page_and_filters_it_was_pressed_on(client):
    answer = client.get("/generations/export",
                        headers={"Referer": "http://localhost/generations?model=gpt-image-1&page=2"})
    assert answer.status_code == 303
    assert answer.headers["Location"] == "http://localhost/generations?model=gpt-image-1&page=2"


def test_the_same_addresses_asked_by_a_program_or_from_another_page_still_answer_with_the_reason(client):
    assert client.get("/generations/export").status_code == 400
    assert client.get("/generations/contact-sheet.png").status_code == 400
    assert client.get("/present").status_code == 404
    assert client.get("/present", headers={"Referer": "http://localhost/runs/1"}).status_code == 404
    assert client.get("/present", headers={"Referer": "http://elsewhere.example/generations"}).status_code == 404


def test_a_runs_card_is_served_alone_for_the_history_following_it(client):
    run_id = finished_run(client, ["a kite", "a boat"], [PRICED], name="kites & boats")
    answer = client.get(f"/runs/{run_id}/card")
    assert answer.status_code == 200
    card = answer.get_data(as_text=True)
    assert f'data-run-card="{run_id}"' in card and 'data-run-status="done"' in card
    assert "kites &amp; boats" in card and card.count("<img ") == 2
    assert text_of(card, r"<span data-run-card-counts>.*?</span>") == "done · 2 done of 2"
    assert client.get(f"/runs/{run_id + 1}/card").status_code == 404
