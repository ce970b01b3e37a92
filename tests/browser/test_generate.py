"""What a person does on the page, in real Chromium."""
from playwright.sync_api import expect


def test_typing_a_prompt_and_submitting_shows_the_image_and_the_raw_json(page, live_app):
    page.goto(live_app.url)
    page.fill("#prompt", "hello world user")
    page.select_option("#response_format", "b64_json")
    page.click("#generate-button")
    image = page.locator(".image-card img").first
    expect(image).to_be_visible(timeout=20_000)
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=image.element_handle())
    assert page.evaluate("img => img.naturalWidth", image.element_handle()) == 1024
    expect(page.locator("#raw-json")).to_contain_text('"b64_json": "iVBORw0KGgo')
    expect(page.locator(".result-prompt")).to_have_text("hello world user")
    assert "/generations/" in page.url


def test_blank_prompt_shows_the_message_and_keeps_the_other_fields(page, live_app):
    page.goto(live_app.url)
    page.fill("#model", "sdxl-turbo")
    page.click("#generate-button")
    expect(page.locator("#prompt-error")).to_have_text("Write a prompt: it cannot be blank.")
    expect(page.locator("#model")).to_have_value("sdxl-turbo")
