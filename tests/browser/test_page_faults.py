"""The page under the conditions that used to trip it: an open model list over the button, a pasted long prompt, a
phone, no JavaScript, and a header that must follow what just happened."""
import pytest
from playwright.sync_api import expect



@pytest.fixture
def slowish_app(tmp_path, make_app, serve_app, start_demo):
    """Every model answers after 1.5 s, so the waiting card can be seen."""
    return serve_app(make_app(tmp_path, start_demo(delay=1.5).api_base, WTF_CSRF_ENABLED=True))


def test_a_click_on_generate_generates_even_with_the_model_list_open(page, live_app):
    page.goto(live_app.url)
    page.fill("#prompt", "the button wins")
    page.click("#model")
    expect(page.locator("#model-options")).to_be_visible()
    expect(page.locator("#model-options [role=option]").first).to_be_visible()
    page.click("#generate-button")  # Playwright refuses to click an element something else covers
    expect(page.locator(".result .image-card img")).to_be_visible(timeout=15_000)
    expect(page.locator(".result-prompt")).to_have_text("the button wins")
    assert page.locator("#model").input_value() == "flux"  # no model was picked by that click


def test_the_model_list_opens_when_asked_and_closes_on_tab_and_outside_clicks(page, live_app):
    page.goto(live_app.url)
    expect(page.locator("#model-status")).to_contain_text("image models first")  # as a person sees the list arrive
    page.focus("#model")
    expect(page.locator("#model-options")).to_be_hidden()  # focus alone never pops it up
    page.locator("#model").press("ArrowDown")  # typed in the model field, wherever the page had put focus since
    expect(page.locator("#model-options")).to_be_visible()
    page.keyboard.press("Tab")
    expect(page.locator("#model-options")).to_be_hidden()
    page.click("#model")
    expect(page.locator("#model-options")).to_be_visible()
    page.click("h1")
    expect(page.locator("#model-options")).to_be_hidden()


def test_a_pasted_prompt_over_the_limit_is_counted_refused_and_kept_whole(page, live_app):
    long_prompt = "a very detailed prompt " * 180  # 4,140 characters
    page.goto(live_app.url)
    page.fill("#prompt", long_prompt)
    count = page.locator("#prompt-count")
    expect(count).to_have_text("4,139 / 4,000 characters: 139 too many")
    expect(count).to_have_class("field-hint prompt-count over")
    page.click("#generate-button")
    expect(page.locator("#prompt-error")).to_have_text(
        "The prompt is 4,139 characters; at most 4,000 are allowed.")
    assert page.locator("#prompt").input_value().strip() == long_prompt.strip()  # nothing was cut


def top_of(page, selector):
    return page.evaluate("selector => document.querySelector(selector).getBoundingClientRect().top", selector)


def test_on_a_phone_the_page_scrolls_to_the_waiting_card_and_then_to_the_result(browser, slowish_app):
    context = browser.new_context(viewport={"width": 375, "height": 667}, is_mobile=True, has_touch=True)
    page = context.new_page()
    try:
        page.goto(slowish_app.url)
        page.fill("#prompt", "seen on a phone")
        assert top_of(page, "#result-slot") > 667  # below the form, out of sight
        page.click("#generate-button")
        expect(page.locator(".waiting-card")).to_be_visible()
        page.wait_for_timeout(100)
        box = page.locator(".waiting-card").bounding_box()
        assert box["y"] >= 0 and box["y"] + box["height"] <= 667  # scrolled into sight, whole
        expect(page.locator(".result .image-card img")).to_be_visible(timeout=15_000)
        page.wait_for_timeout(100)
        assert -2 <= top_of(page, "#result-slot") < 100
    finally:
        context.close()


def test_without_javascript_controls_that_need_it_are_not_shown(browser, live_app):
    client = live_app.app.test_client()
    generation = client.post("/api/generate", json={"prompt": "no script here"}).get_json()
    context = browser.new_context(java_script_enabled=False, viewport={"width": 1366, "height": 768})
    page = context.new_page()
    try:
        page.goto(f"{live_app.url}/generations/{generation['id']}")
        expect(page.locator(".result .image-card img")).to_be_visible()
        expect(page.locator("#refresh-models")).to_be_hidden()
        for button in page.locator(".copy-button, .copy-image-button").all():
            expect(button).to_be_hidden()
        expect(page.locator("#generate-button")).to_be_visible()  # the plain form still works
    finally:
        context.close()


def test_copy_buttons_appear_with_javascript(page, live_app):
    generation = live_app.app.test_client().post("/api/generate", json={"prompt": "with script"}).get_json()
    page.goto(f"{live_app.url}/generations/{generation['id']}")
    expect(page.get_by_role("button", name="Copy as curl")).to_be_visible()
    expect(page.get_by_role("button", name="Copy prompt")).to_be_visible()


def test_the_header_checks_the_server_again_as_soon_as_a_generation_ends(page, live_app):
    checks = []
    page.on("request", lambda request: "/healthz" in request.url and checks.append(request.url))
    page.goto(live_app.url)
    expect(page.locator("#server-status")).to_have_attribute("data-state", "up")
    before = len(checks)
    page.fill("#prompt", "header follows")
    page.click("#generate-button")
    expect(page.locator(".result .image-card img")).to_be_visible(timeout=15_000)
    page.wait_for_timeout(500)
    assert len(checks) == before + 1  # at once, not 30 seconds later


def test_the_header_says_when_the_server_is_not_an_images_api(page, tmp_path, make_app, serve_app, demo_server):
    live = serve_app(make_app(tmp_path, demo_server.base_url, WTF_CSRF_ENABLED=True))  # /v1 left out
    page.goto(live.url)
    badge = page.locator("#server-status")
    expect(badge).to_have_attribute("data-state", "warn")
    expect(badge.locator(".server-state")).to_have_text("answers, but not an images API")
    assert f"Did you mean {demo_server.base_url}/v1?" in badge.get_attribute("title")
