"""A run's tournament in real Chromium: a person votes pairs with the keys and the mouse, each next pair appears
in place (no reload) with the pair before revealed beside it, and the run's leaderboard shows the votes."""
import pytest
from playwright.sync_api import expect

from tests.support.tournament import finished_run

TARGETS = [{"model": "flux"}, {"model": "sdxl-turbo"}, {"model": "dall-e-3"}]
MODELS = ("flux", "sdxl-turbo", "dall-e-3")


@pytest.fixture
def run(live_app):
    return finished_run(live_app.app.test_client(), TARGETS)


def vote_and_see_the_next_pair(page, act):
    """Vote with `act` (a key or a click); the next pair takes the place of this one."""
    pair = page.locator("#arena-round")
    before = pair.get_attribute("data-round-id")
    act()
    expect(pair).not_to_have_attribute("data-round-id", before, timeout=10_000)
    expect(page.locator(".tournament-last .arena-name")).to_have_count(2)
    return before


def test_three_pairs_voted_with_keys_and_a_click_each_next_one_in_place_then_the_leaderboard(page, live_app, run):
    page.goto(f"{live_app.url}/runs/{run['id']}/tournament")
    expect(page.locator("#arena-round img")).to_have_count(2)
    stage = page.locator("#tournament-stage")
    for model in MODELS:
        expect(stage).not_to_contain_text(model)
    page.evaluate("window.sameDocument = true")  # gone if the page reloads
    judged = [vote_and_see_the_next_pair(page, lambda: page.keyboard.press("1")),
              vote_and_see_the_next_pair(page, lambda: page.get_by_role("button", name="B is better").click()),
              vote_and_see_the_next_pair(page, lambda: page.keyboard.press("0"))]
    assert page.evaluate("window.sameDocument") is True
    expect(page.locator(".tournament-last .vote-result")).to_have_text("Voted a tie.")
    expect(page.locator("#tournament-said")).to_contain_text("Voted a tie.")
    expect(page.locator("#arena-round .arena-name")).to_have_count(0)  # the new pair: still no names
    votes = [page.request.get(f"{live_app.url}/api/arena/{round_id}").json()["vote"] for round_id in judged]
    assert votes == ["A", "B", "tie"]
    page.click("#tournament-leaderboard")
    expect(page.locator("#run-votes")).to_have_text("3 votes")
    expect(page.locator(".leaderboard-table tbody tr")).not_to_have_count(0)
    expect(page.locator(".win-matrix tbody tr")).to_have_count(3)


def test_the_pair_and_its_vote_bar_fit_a_projector_and_a_phone(new_context, live_app, run):
    for viewport in ({"width": 1366, "height": 768}, {"width": 390, "height": 844}):
        page = new_context(viewport=viewport, is_mobile=viewport["width"] < 500).new_page()
        page.goto(f"{live_app.url}/runs/{run['id']}/tournament")
        page.keyboard.press("2")
        expect(page.locator(".tournament-last")).to_be_visible()
        bar = page.locator("#vote-form").bounding_box()
        assert bar["y"] + bar["height"] <= viewport["height"], f"the vote bar is below the screen at {viewport}"
        for image in page.locator("#arena-round img").all():
            box = image.bounding_box()
            assert box["width"] > 100 and box["x"] + box["width"] <= viewport["width"]


def test_without_javascript_a_vote_posts_and_the_next_pair_comes_back_with_the_reveal(new_context, live_app, run):
    page = new_context(java_script_enabled=False, viewport={"width": 1366, "height": 768}).new_page()
    page.goto(f"{live_app.url}/runs/{run['id']}/tournament")
    first = page.locator("#arena-round").get_attribute("data-round-id")
    page.get_by_role("button", name="A is better").click()
    expect(page).to_have_url(f"{live_app.url}/runs/{run['id']}/tournament?last={first}")
    expect(page.locator(".tournament-last .vote-result")).to_contain_text("A won:")
    expect(page.locator("#arena-round")).not_to_have_attribute("data-round-id", first)
