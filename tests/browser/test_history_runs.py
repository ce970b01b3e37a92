"""The History with runs in it, in Chromium: the action bar only where a card can be chosen, its buttons disabled
until one is, every one of them on a phone's screen and big enough to tap, and a running run's card following the
run to its end without a reload."""
import pytest
import requests
from playwright.sync_api import expect

from tests.browser.page_states import PHONE, SMALL_CONTROLS
from tests.support import wait_until

BUTTONS = ["Present chosen", "Contact sheet (PNG)", "Contact sheet (HTML)", "Export chosen as .zip",
           "Download sheet (PNG)"]


@pytest.fixture
def slow_app(tmp_path, make_app, serve_app, start_demo):
    """Each image takes 0.4 s: a run of six calls, one at a time, lasts long enough to watch."""
    demo = start_demo(delay=0.4)
    return serve_app(make_app(tmp_path, demo.api_base, WTF_CSRF_ENABLED=True))


def start_run(live, prompts, **fields):
    started = requests.post(live.url + "/api/runs", json={"prompts": prompts, "targets": [{"model": "flux"}],
                                                         "concurrency": 1, **fields}, timeout=10)
    assert started.status_code == 201, started.text
    return started.json()["id"]


def run_status(live, run_id):
    return requests.get(f"{live.url}/api/runs/{run_id}", timeout=5).json()["status"]


def test_a_page_of_runs_only_shows_no_action_bar(page, live_app):
    run_id = start_run(live_app, ["a kite"])
    assert wait_until(lambda: run_status(live_app, run_id) == "done", 60)
    page.goto(live_app.url + "/generations")
    expect(page.locator(".run-card")).to_have_count(1)
    expect(page.locator("#gallery-title")).to_have_text("History 0 generations · 1 run")
    expect(page.locator("#export-bar")).to_be_hidden()
    for name in BUTTONS:
        expect(page.get_by_role("button", name=name)).to_have_count(0)  # hidden: not even to a screen reader


def test_the_buttons_wait_for_a_chosen_card_and_the_bar_comes_when_a_choosable_card_does(page, live_app):
    run_id = start_run(live_app, ["a kite"])
    assert wait_until(lambda: run_status(live_app, run_id) == "done", 60)
    page.goto(live_app.url + "/generations")
    expect(page.locator("#export-bar")).to_be_hidden()
    made = requests.post(live_app.url + "/api/generate", json={"prompt": "a kite by hand", "size": "64x64"},
                         timeout=30).json()["id"]  # arrives live, with its box
    expect(page.locator(f'[data-generation-id="{made}"] .pick')).to_be_visible(timeout=10_000)
    bar = page.locator("#export-bar")
    expect(bar).to_be_visible()
    expect(bar).to_contain_text("Choose cards to present, export or print")
    for name in BUTTONS:
        expect(bar.get_by_role("button", name=name)).to_be_disabled()
    page.locator(f'[data-generation-id="{made}"] .pick').click()
    expect(bar).to_contain_text("1 chosen")
    for name in BUTTONS:
        expect(bar.get_by_role("button", name=name)).to_be_enabled()
    page.locator(f'[data-generation-id="{made}"] .pick').click()
    expect(bar.get_by_role("button", name="Present chosen")).to_be_disabled()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_on_a_phone_every_button_of_the_bar_is_on_the_screen_and_big_enough_to_tap(new_context, live_app, scheme):
    client = live_app.app.test_client()
    made = [client.post("/api/generate", json={"prompt": f"card {n}", "size": "64x64"}).get_json()["id"]
            for n in range(3)]
    page = new_context(viewport=PHONE, color_scheme=scheme, is_mobile=True, has_touch=True).new_page()
    page.goto(live_app.url + "/generations")
    for generation_id in made[:2]:
        page.locator(f'[data-generation-id="{generation_id}"] .pick').click()
    bar = page.locator("#export-bar")
    expect(bar).to_contain_text("2 chosen")
    assert bar.evaluate("bar => bar.scrollWidth <= bar.clientWidth")  # nothing hidden off to the side
    for name in BUTTONS:
        box = bar.get_by_role("button", name=name).bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], name
        assert box["y"] >= 0 and box["y"] + box["height"] <= PHONE["height"], name
        assert box["height"] >= 44 and box["width"] >= 44, name
    assert page.evaluate(SMALL_CONTROLS) == []
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
    with page.expect_popup() as opened:
        bar.get_by_role("button", name="Contact sheet (HTML)").tap()
    expect(opened.value.locator("h1")).to_be_visible()


def test_a_running_runs_card_follows_the_run_to_its_end_without_a_reload(page, slow_app):
    run_id = start_run(slow_app, [f"a lighthouse number {n}" for n in range(1, 7)], name="lighthouses")
    page.goto(slow_app.url + "/generations")
    card = page.locator(f'[data-run-card="{run_id}"]')
    counts = card.locator("[data-run-card-counts]")
    expect(counts).to_contain_text("running")
    page.evaluate("() => { window.stillTheSamePage = true; }")  # gone if the page were reloaded
    served = counts.inner_text()
    expect(counts).not_to_have_text(served, timeout=10_000)  # it moves while the run goes
    expect(counts).to_have_text("done · 6 done of 6", timeout=30_000)
    expect(card.locator("[data-run-bar-finished]")).to_have_attribute("value", "6")
    expect(card.locator("[data-run-bar-done]")).to_have_attribute("value", "6")
    expect(card.locator("img")).to_have_count(4)  # its first images, in place of the blank tile
    expect(card).to_have_attribute("data-run-status", "done")
    assert page.evaluate("() => window.stillTheSamePage === true")


def test_without_javascript_a_button_pressed_with_nothing_chosen_comes_back_to_the_history_saying_so(
        new_context, live_app):
    live_app.app.test_client().post("/api/generate", json={"prompt": "a kite by hand", "size": "64x64"})
    page = new_context(java_script_enabled=False).new_page()
    page.goto(live_app.url + "/generations?outcome=succeeded")
    page.get_by_role("button", name="Export chosen as .zip").click()
    expect(page).to_have_url(live_app.url + "/generations?outcome=succeeded")
    expect(page.get_by_role("status").filter(has_text="Choose a card first")).to_be_visible()
