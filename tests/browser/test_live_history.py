"""The history as it happens, in Chromium: a program's call through /v1 appears on an open page without a reload."""
import threading

import openai
import requests
from playwright.sync_api import expect


def call_in_background(live, prompt, model="flux"):
    client = openai.OpenAI(base_url=live.url + "/v1", api_key="sk-from-a-notebook", max_retries=0, timeout=30)
    worker = threading.Thread(target=lambda: client.images.generate(model=model, prompt=prompt,
                                                                    response_format="b64_json"))
    worker.start()
    return worker


def test_an_sdk_call_appears_on_the_open_history_page_running_then_done(page, tmp_path, make_app, serve_app,
                                                                       start_demo):
    demo = start_demo(model_delays={"sdxl-turbo": 2.0})
    live = serve_app(make_app(tmp_path, demo.api_base, WTF_CSRF_ENABLED=True))
    page.goto(live.url + "/generations")
    expect(page.locator(".gallery .empty")).to_be_visible()
    expect(page.locator("#gallery-title")).to_have_text("History 0 generations")
    page.wait_for_timeout(300)  # the page's event stream is open
    worker = call_in_background(live, "made by a notebook", model="sdxl-turbo")
    card = page.locator(".gallery-card", has_text="made by a notebook")
    expect(card).to_be_visible(timeout=5_000)
    expect(page.locator("#gallery-title")).to_have_text("History 1 generation")  # the count follows
    expect(card.locator(".badge.status-running")).to_be_visible()
    expect(card.locator(".via-v1")).to_have_text("via /v1")
    expect(card.locator("img")).to_be_visible(timeout=10_000)  # filled in once kept
    expect(card.locator(".badge.status-ok")).to_be_visible()
    worker.join(timeout=10)
    assert "/generations" == page.url.removeprefix(live.url)  # no reload, no navigation
    # Deleted in another tab: the card goes, and the count with it.
    kept = requests.get(live.url + "/api/generations", timeout=5).json()["generations"][0]
    assert requests.delete(f"{live.url}/api/generations/{kept['id']}", timeout=5).status_code == 200
    expect(card).to_have_count(0, timeout=5_000)
    expect(page.locator("#gallery-title")).to_have_text("History 0 generations")


def test_the_main_pages_recent_strip_shows_new_generations(page, live_app):
    page.goto(live_app.url)
    expect(page.locator(".recent-strip")).to_be_hidden()
    page.wait_for_timeout(300)
    call_in_background(live_app, "a recent one").join(timeout=15)
    expect(page.locator(".recent-strip li img")).to_have_count(1, timeout=5_000)
    expect(page.locator("#recent-title")).to_be_visible()
