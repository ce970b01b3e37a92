"""Stage view: what a room sees while a presenter walks through a deck of saved prompts with the keyboard."""
import pytest
from playwright.sync_api import expect



@pytest.fixture
def deck_app(tmp_path, make_app, serve_app, start_demo):
    """Streamed partials a second apart, and a deck of two saved prompts (in the order of their names)."""
    server = start_demo(partial_delay=1.0)
    live = serve_app(make_app(tmp_path, server.api_base, WTF_CSRF_ENABLED=True))
    client = live.app.test_client()
    client.post("/api/prompts", json={"name": "1 lighthouse", "prompt": "A lighthouse at dawn"})
    client.post("/api/prompts", json={"name": "2 fox", "prompt": "A fox in the snow"})
    return live


def test_the_stage_shows_the_image_with_its_prompt_and_n_runs_the_next_saved_prompt(page, deck_app):
    page.goto(deck_app.url)
    page.get_by_role("button", name="Stage view").click()
    expect(page.locator("#generate-form")).to_be_hidden()
    expect(page.locator(".topbar")).to_be_hidden()
    expect(page.locator("#stage-hint")).to_contain_text("1 lighthouse (1 of 2)")

    page.keyboard.press("n")
    image = page.locator(".result .image-card img")
    expect(image).to_be_visible(timeout=15_000)
    expect(page.locator(".result-prompt")).to_have_text("A lighthouse at dawn")
    assert image.bounding_box()["y"] < page.locator(".result-prompt").bounding_box()["y"]  # a caption, under it
    assert image.bounding_box()["height"] > 0.7 * 768
    expect(page.locator(".result-technical")).to_be_hidden()
    expect(page.locator("#stage-hint")).to_contain_text("2 fox (2 of 2)")

    page.keyboard.press("PageDown")  # a presenter's clicker
    expect(page.locator(".result-prompt")).to_have_text("A fox in the snow", timeout=15_000)
    page.reload()  # the tab remembers the stage from result to result
    expect(page.locator("#generate-form")).to_be_hidden()
    page.keyboard.press("s")
    expect(page.locator("#generate-form")).to_be_visible()
    expect(page.locator(".result-technical")).to_be_visible()


def test_on_stage_the_timer_is_large_and_partial_images_fill_the_screen(page, deck_app):
    page.goto(deck_app.url)
    page.fill("#model", "gpt-image-1")
    page.click(".more-options summary")
    page.check("#stream")
    page.fill("#partial_images", "2")
    page.evaluate("document.activeElement.blur()")  # the keys go to the page, not into a field
    page.keyboard.press("s")
    page.keyboard.press("n")
    timer = page.get_by_role("timer")
    expect(timer).to_be_visible()
    assert timer.bounding_box()["height"] > 80  # read from the back of the room
    partial = page.locator(".waiting-card .partial img")
    expect(partial).to_be_visible(timeout=15_000)
    assert partial.bounding_box()["height"] > 0.5 * 768
