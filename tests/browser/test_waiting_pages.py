"""Pages that wait for something being made come back by themselves once it is there, in real Chromium, without a
timed reload (a meta refresh, which moves a reader's place on every tick); without JavaScript, on a Refresh click."""
import re
import threading

import requests
from playwright.sync_api import expect

from tests.support import wait_until


def round_being_made(live_url, prompt):
    """Starts a blind vote of flux and sdxl-turbo (the slower one) through the API, which answers once both are made;
    returns the thread asking and the round's id, known from the History before then."""
    body = {"prompt": prompt, "contenders": [{"model": "flux"}, {"model": "sdxl-turbo"}]}
    asking = threading.Thread(target=requests.post, args=(live_url + "/api/arena",), kwargs={"json": body,
                                                                                             "timeout": 30})
    asking.start()
    found = []
    assert wait_until(lambda: found.extend(re.findall(r'href="/arena/(\d+)"', requests.get(
        live_url + "/generations", timeout=10).text)) or found, 10)
    return asking, found[0]


def test_a_blind_vote_opened_while_a_contender_is_made_shows_the_vote_once_both_are_in(page, tmp_path, make_app,
                                                                                      serve_app, start_demo):
    demo = start_demo(model_delays={"sdxl-turbo": 3.0})
    live = serve_app(make_app(tmp_path, demo.api_base))
    asking, round_id = round_being_made(live.url, "a heron at dawn")
    try:
        page.goto(f"{live.url}/arena/{round_id}")
        expect(page.locator("[data-watch-state]")).to_contain_text("still being made")
        assert page.locator("meta[http-equiv]").count() == 0
        expect(page.locator("#vote-form")).to_be_visible(timeout=15_000)  # no click: the page looked again
        expect(page.locator(".arena-image img")).to_have_count(2)
        expect(page.locator("[data-watch-state]")).to_have_count(0)
    finally:
        asking.join(timeout=30)


def test_without_javascript_refresh_shows_the_vote_once_both_contenders_are_in(new_context, tmp_path, make_app,
                                                                             serve_app, start_demo):
    demo = start_demo(model_delays={"sdxl-turbo": 2.0})
    live = serve_app(make_app(tmp_path, demo.api_base))
    asking, round_id = round_being_made(live.url, "a crane in the reeds")
    try:
        page = new_context(viewport={"width": 390, "height": 844}, is_mobile=True,
                           java_script_enabled=False).new_page()
        page.goto(f"{live.url}/arena/{round_id}")
        refresh = page.get_by_role("link", name="Refresh")
        expect(refresh).to_be_visible()
        asking.join(timeout=30)  # both contenders made
        expect(page.locator("#vote-form")).to_have_count(0)  # nothing reloads by itself without JavaScript
        refresh.click()
        expect(page.locator("#vote-form")).to_be_visible()
        expect(page.locator(".arena-image img")).to_have_count(2)
    finally:
        asking.join(timeout=30)


def test_a_tournament_vote_that_leaves_no_pair_yet_shows_the_next_pair_once_the_run_has_made_it(page, tmp_path,
                                                                                              make_app, serve_app,
                                                                                              start_demo):
    """The run goes one cell at a time, sdxl-turbo taking 5 s: the first prompt's pair is there at about 5 s, the
    second's at about 10 s. The first pair is voted as soon as it is there; the page then waits, and shows the second
    pair once it is made, without a click."""
    demo = start_demo(model_delays={"sdxl-turbo": 5.0})
    live = serve_app(make_app(tmp_path, demo.api_base))
    started = requests.post(live.url + "/api/runs", timeout=10, json={
        "prompts": ["a kestrel hovering", "a newt in a pond"], "targets": [{"model": "flux"}, {"model": "sdxl-turbo"}],
        "concurrency": 1, "name": "waiting"})
    run_id = started.json()["id"]
    assert wait_until(lambda: requests.get(f"{live.url}/api/runs/{run_id}", timeout=10).json()["done"] >= 2, 20)
    page.goto(f"{live.url}/runs/{run_id}/tournament")
    first = page.locator("#arena-round").get_attribute("data-round-id")
    page.get_by_role("button", name="A is better").click()
    expect(page.locator("[data-watch-state]")).to_be_visible()  # no pair yet: the run still makes the second
    expect(page.locator(".tournament-last .vote-result")).to_be_visible()
    expect(page.locator(".tournament-over")).to_contain_text("(1 pair)")
    # The message and its leaderboard link where the pair stood, the pair before beside them, as beside a pair.
    message, before = page.locator(".tournament-over").bounding_box(), page.locator(".tournament-last").bounding_box()
    button = page.get_by_role("link", name=re.compile("See the leaderboard")).bounding_box()
    assert before["x"] >= max(message["x"] + message["width"], button["x"] + button["width"])
    expect(page.locator("#arena-round img")).to_have_count(2, timeout=20_000)  # no click: the page looked again
    assert page.locator("#arena-round").get_attribute("data-round-id") != first
    assert requests.get(f"{live.url}/api/runs/{run_id}", timeout=10).json()["done"] == 4
