"""Script from outside never runs: payloads in every place a page shows, in real Chromium."""
import base64

import pytest
from playwright.sync_api import expect

from tests.support import png_base64

GEN = "/v1/images/generations"
PAYLOAD = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script><b id="pwned">'
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" onload="window.__xss=3"><script>window.__xss=4</script></svg>'


@pytest.fixture
def hostile(tmp_path, make_app, serve_app, fake_server):
    live = serve_app(make_app(tmp_path, fake_server.api_base, TIMEOUT=5, WTF_CSRF_ENABLED=True))
    live.fake = fake_server
    return live


def assert_no_script_ran(page):
    assert page.evaluate("window.__xss") is None
    assert page.locator("#pwned").count() == 0
    assert page.locator("img[src='x']").count() == 0


def generate_in_browser(page, live, prompt):
    page.goto(live.url)
    page.fill("#prompt", prompt)
    page.click("#generate-button")
    expect(page.locator(".result")).to_be_visible(timeout=15_000)


HOSTILE_ANSWERS = {
    "revised_prompt": dict(json_body={"data": [{"b64_json": png_base64(), "revised_prompt": PAYLOAD}]}),
    "error message": dict(status=500, json_body={"error": {"message": PAYLOAD}}),
    "JSON keys": dict(json_body={"data": [{"b64_json": png_base64(), PAYLOAD: PAYLOAD}], PAYLOAD: 1}),
    "422 detail": dict(status=422, json_body={"detail": [{"loc": ["body", PAYLOAD], "msg": PAYLOAD}]}),
    "HTML error page": dict(status=502, body=f"<html><title>{PAYLOAD}</title></html>".encode(), content_type="text/html"),
    "SVG as base64": dict(json_body={"data": [{"b64_json": base64.b64encode(SVG).decode()}]}),
    "SVG as a data URI": dict(json_body={"data": [{"url": "data:image/svg+xml;base64," + base64.b64encode(SVG).decode()}]}),
}


@pytest.mark.parametrize("where", list(HOSTILE_ANSWERS))
def test_hostile_answer_is_shown_as_text_on_the_result_page_and_in_the_gallery(page, hostile, where):
    hostile.fake.on_generate(**HOSTILE_ANSWERS[where])
    generate_in_browser(page, hostile, PAYLOAD)
    expect(page.locator(".result-prompt")).to_have_text(PAYLOAD)
    assert_no_script_ran(page)
    page.reload()
    assert_no_script_ran(page)
    page.goto(hostile.url + "/generations")
    expect(page.locator(".gallery-prompt").first).to_have_text(PAYLOAD)
    assert_no_script_ran(page)


def test_revised_prompt_and_json_keys_are_readable_text(page, hostile):
    hostile.fake.on_generate(json_body={"data": [{"b64_json": png_base64(), "revised_prompt": PAYLOAD}], PAYLOAD: 1})
    generate_in_browser(page, hostile, "plain prompt")
    expect(page.locator(".revised-prompt")).to_contain_text(PAYLOAD)
    expect(page.locator("#raw-json")).to_contain_text(PAYLOAD.replace('"', '\\"'))


def test_error_text_is_readable_text(page, hostile):
    hostile.fake.on_generate(status=500, json_body={"error": {"message": PAYLOAD}})
    generate_in_browser(page, hostile, "plain prompt")
    expect(page.locator(".error-message")).to_contain_text(PAYLOAD)
    assert_no_script_ran(page)


def test_html_served_as_png_is_refused_and_never_shown_as_an_image(page, hostile):
    hostile.fake.on("GET", "/media/evil.png", body=f"<html><body>{PAYLOAD}</body></html>".encode(),
                    content_type="image/png")
    hostile.fake.on("GET", "/media/evil.svg", body=SVG, content_type="image/svg+xml")
    hostile.fake.on_generate(json_body={"data": [{"url": "/media/evil.png"}, {"url": "/media/evil.svg"},
                                                 {"b64_json": png_base64()}]})
    generate_in_browser(page, hostile, "mixed bag")
    expect(page.locator(".image-card")).to_have_count(1)
    problems = page.locator(".image-problems")
    expect(problems).to_contain_text("an HTML page, not an image")
    expect(problems).to_contain_text("SVG or XML document")
    assert_no_script_ran(page)
    for source in page.locator("img").evaluate_all("images => images.map(image => image.src)"):
        assert "evil" not in source
