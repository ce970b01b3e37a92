"""Waiting, cancelling, picking a model, comparing, the lightbox, copying and the keyboard, in real Chromium."""
import json
import shlex
import time

import pytest
from playwright.sync_api import expect



@pytest.fixture
def slow_app(tmp_path, make_app, serve_app, start_demo):
    """flux answers at once, sdxl-turbo after 3 s, dall-e-3 after 6 s."""
    server = start_demo(model_delays={"sdxl-turbo": 3.0, "dall-e-3": 6.0})
    live = serve_app(make_app(tmp_path, server.api_base, WTF_CSRF_ENABLED=True))
    live.demo = server
    return live


def seconds_shown(locator) -> float:
    return float(locator.inner_text().split()[0])


def test_timer_runs_while_waiting_and_the_result_appears_in_place(page, slow_app):
    page.goto(slow_app.url)
    page.fill("#prompt", "a slow lighthouse")
    page.fill("#model", "sdxl-turbo")
    page.click("#generate-button")
    timer = page.get_by_role("timer")
    expect(timer).to_be_visible()
    first = seconds_shown(timer)
    page.wait_for_timeout(1200)
    assert seconds_shown(timer) >= first + 1.0
    expect(page.locator(".result .image-card img")).to_be_visible(timeout=15_000)
    assert page.url.startswith(slow_app.url + "/generations/")
    expect(page.locator(".result-prompt")).to_have_text("a slow lighthouse")
    expect(page.locator("#prompt")).to_have_value("a slow lighthouse")  # the form keeps what was typed


def test_cancel_stops_the_timer_and_the_generation_is_recorded_as_cancelled(page, slow_app):
    page.goto(slow_app.url)
    page.fill("#prompt", "never mind")
    page.fill("#model", "dall-e-3")
    page.click("#generate-button")
    page.wait_for_timeout(800)
    page.get_by_role("button", name="Cancel").click()
    timer = page.get_by_role("timer")
    stopped_at = timer.inner_text()
    page.wait_for_timeout(600)
    assert timer.inner_text() == stopped_at
    expect(page.locator(".waiting-card")).to_contain_text("Cancelled")
    expect(page.locator("#generate-button")).to_be_enabled()
    client = slow_app.app.test_client()
    for _ in range(50):
        rows = client.get("/api/generations").get_json()["generations"]
        if rows and rows[0]["status"] == "cancelled":
            break
        time.sleep(0.1)
    assert rows[0]["status"] == "cancelled" and rows[0]["prompt"] == "never mind"


def test_compare_grid_fills_in_cell_by_cell(page, slow_app):
    page.goto(slow_app.url + "/compare")
    page.fill("#prompt", "one prompt, three models")
    for row, model in enumerate(["flux", "sdxl-turbo", "dall-e-3"]):
        page.fill(f"#target-model-{row}", model)
    page.click("#compare-button")
    cells = page.locator(".compare-grid > .cell")
    expect(cells).to_have_count(3)
    expect(cells.nth(0).locator("img")).to_be_visible(timeout=10_000)
    assert cells.nth(1).locator("img").count() == 0 and cells.nth(1).get_by_role("timer").is_visible()
    assert cells.nth(2).locator("img").count() == 0
    expect(cells.nth(1).locator("img")).to_be_visible(timeout=10_000)
    assert cells.nth(2).locator("img").count() == 0
    expect(cells.nth(2).locator("img")).to_be_visible(timeout=15_000)
    expect(cells.locator(".cell-model")).to_have_text(["flux", "sdxl-turbo", "dall-e-3"])
    expect(cells.nth(2).locator(".elapsed")).to_contain_text(" s")
    permalink = page.url
    assert "/compare/" in permalink
    page.goto(permalink)
    expect(page.locator(".compare-grid > .cell img")).to_have_count(3)


def test_lightbox_opens_steps_with_arrow_keys_zooms_and_closes_with_escape(page, live_app):
    generation = live_app.app.test_client().post("/api/generate", json={"prompt": "two to browse", "n": 2,
                                                                        "size": "512x512"}).get_json()
    page.goto(live_app.url + generation["permalink"])
    page.locator(".image-card img").first.click()
    dialog = page.locator("dialog.lightbox")
    expect(dialog).to_be_visible()
    expect(dialog).to_have_attribute("data-index", "0")
    page.keyboard.press("ArrowRight")
    expect(dialog).to_have_attribute("data-index", "1")
    expect(dialog.locator(".lightbox-caption")).to_contain_text("2 / 2")
    page.keyboard.press("ArrowRight")
    expect(dialog).to_have_attribute("data-index", "0")
    page.keyboard.press("+")
    expect(dialog).to_have_attribute("data-zoom", "1")
    assert dialog.locator("img").evaluate("img => img.getBoundingClientRect().width") == 512
    page.keyboard.press("0")
    expect(dialog).to_have_attribute("data-zoom", "0")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()


def test_copied_curl_and_python_equal_the_request_sent(browser, live_app, demo_server):
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_app.url)
    page = context.new_page()
    page.goto(live_app.url)
    page.fill("#prompt", "it's a \"quoted\" $prompt")
    page.select_option("#response_format", "b64_json")
    page.click("#generate-button")
    expect(page.locator(".result .image-card img")).to_be_visible(timeout=15_000)
    sent = demo_server.requests_seen[-1]

    page.get_by_role("button", name="Copy as curl").click()
    words = shlex.split(page.evaluate("navigator.clipboard.readText()"))
    assert words[1] == demo_server.api_base + "/images/generations"
    assert json.loads(words[words.index("-d") + 1]) == sent

    page.get_by_role("button", name="Copy as Python").click()
    exec(page.evaluate("navigator.clipboard.readText()"), {})  # posts the same body again
    assert demo_server.requests_seen[-1] == sent

    page.get_by_role("button", name="Copy prompt").click()
    assert page.evaluate("navigator.clipboard.readText()") == "it's a \"quoted\" $prompt"
    copy_image = page.locator(".copy-image-button")
    copy_image.click()
    expect(copy_image).to_have_text("Copied ✓")
    types = page.evaluate("navigator.clipboard.read().then(items => items.flatMap(item => item.types))")
    assert types == ["image/png"]
    context.close()


def test_keyboard_slash_focuses_the_prompt_and_ctrl_enter_submits(page, live_app):
    page.goto(live_app.url)
    page.locator("body").click()
    page.keyboard.press("/")
    expect(page.locator("#prompt")).to_be_focused()
    page.keyboard.type("typed, then Ctrl+Enter")
    page.locator("#response_format").focus()
    page.keyboard.press("Control+Enter")
    expect(page.locator(".result-prompt")).to_have_text("typed, then Ctrl+Enter", timeout=15_000)


def test_model_combobox_searches_the_servers_models_and_allows_free_text(page, live_app):
    page.goto(live_app.url)
    page.locator("#model").click()
    options = page.locator("#model-options").get_by_role("option")
    expect(options.first).to_be_visible()
    names = options.locator(".option-name").all_inner_texts()
    assert names.index("flux") < names.index("gpt-4o-mini")  # image models first, none hidden
    page.fill("#model", "sdx")
    expect(options).to_have_count(1)
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    expect(page.locator("#model")).to_have_value("sdxl-turbo")
    expect(page.get_by_role("listbox")).to_be_hidden()
    page.fill("#model", "my-own-model")
    expect(page.get_by_role("listbox")).to_contain_text("will be sent as typed")


def test_header_shows_live_whether_the_server_answers(page, live_app):
    page.goto(live_app.url)
    expect(page.locator("#server-status")).to_have_attribute("data-state", "up")
    expect(page.locator("#server-status .server-state")).to_have_text("answers")


def test_no_javascript_errors_on_any_page(page, live_app):
    client = live_app.app.test_client()
    generation = client.post("/api/generate", json={"prompt": "for every page"}).get_json()
    group = client.post("/api/compare", json={"prompt": "grid", "models": ["flux", "sdxl-turbo"]}).get_json()
    for path in ("/", "/compare", "/generations", generation["permalink"], group["permalink"],
                 f"/?from={generation['id']}", "/generations?q=none", "/no-such-page"):
        page.goto(live_app.url + path)
        page.wait_for_load_state("networkidle")
    assert page.errors == []


def test_phone_layout_stacks_the_form_above_the_result(browser, live_app):
    generation = live_app.app.test_client().post("/api/generate", json={"prompt": "on a phone"}).get_json()
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page = context.new_page()
    page.goto(live_app.url + generation["permalink"])
    form_box = page.locator("#generate-form").bounding_box()
    image_box = page.locator(".image-card img").bounding_box()
    assert image_box["y"] > form_box["y"] + form_box["height"]
    assert image_box["width"] > 300
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    context.close()
