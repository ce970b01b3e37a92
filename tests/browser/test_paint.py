"""From Generate to the images on screen, in real Chromium: each image fetched once, shown decoded, and nothing else
fetched meanwhile for what the person cannot see."""
import requests
from playwright.sync_api import expect

FETCHED_SINCE_SUBMIT = """(part) => performance.getEntriesByType('resource')
  .filter((entry) => entry.startTime >= window.submittedAt && entry.name.includes(part)).map((entry) => entry.name)"""


def generate_two(page, prompt):
    page.fill("#prompt", prompt)
    page.click(".more-options summary")
    page.fill("#n", "2")
    page.evaluate("""() => document.getElementById('generate-form').addEventListener('submit',
                       () => { window.submittedAt = performance.now(); }, { capture: true, once: true })""")
    page.click("#generate-button")
    expect(page.locator(".result .image-card img")).to_have_count(2, timeout=20_000)


def test_each_image_is_fetched_once_and_shown_decoded_with_the_results_own_labels(page, live_app):
    page.goto(live_app.url)
    generate_two(page, "two lighthouses")
    images = page.locator(".result .image-card img")
    page.wait_for_function("""() => [...document.querySelectorAll('.result .image-card img')]
                                      .every((image) => image.complete && image.naturalWidth === 1024)""")
    expect(images.first).to_have_attribute("alt", "Image 1 for: two lighthouses")
    expect(images.nth(1)).to_have_attribute("alt", "Image 2 for: two lighthouses")
    expect(images.first).to_have_attribute("width", "1024")
    expect(page.locator(".result .image-link img")).to_have_count(2)  # still inside the link the lightbox opens
    fetched = page.evaluate(FETCHED_SINCE_SUBMIT, "/images/")
    assert len(fetched) == 2 and len(set(fetched)) == 2, fetched
    assert page.errors == []


def test_a_generation_started_on_the_main_page_fetches_nothing_for_the_recent_strip_it_replaced(page, live_app):
    earlier = requests.post(live_app.url + "/api/generate", json={"prompt": "an earlier one"}, timeout=30)
    assert earlier.status_code == 200
    page.goto(live_app.url)
    expect(page.locator(".recent-strip li img")).to_have_count(1)
    generate_two(page, "while the strip is gone")
    expect(page.locator(".result-prompt")).to_have_text("while the strip is gone")
    page.wait_for_timeout(1_000)  # the history's event for the new generation has come by now
    assert page.evaluate(FETCHED_SINCE_SUBMIT, "/thumbnails/") == []
    assert page.evaluate(FETCHED_SINCE_SUBMIT, "/card?style=recent") == []
    assert page.errors == []
