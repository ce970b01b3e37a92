"""Output lands where the room looks: the image first and in view, the technical rows folded away, the address, the
tab title and Back in agreement, and no stale message or hole left over."""
import pytest
from playwright.sync_api import expect



@pytest.fixture
def streaming_app(tmp_path, make_app, serve_app, start_demo):
    server = start_demo(partial_delay=0.6)
    return serve_app(make_app(tmp_path, server.api_base, WTF_CSRF_ENABLED=True))


def in_view(page, selector) -> bool:
    return page.evaluate("""(selector) => {
        const box = document.querySelector(selector).getBoundingClientRect();
        return box.top >= 0 && box.top < innerHeight && box.bottom > 0;
    }""", selector)


def open_more_options_and_scroll_down(page):
    page.click(".more-options summary")
    page.mouse.wheel(0, 2000)
    page.wait_for_function("() => scrollY > 200")


@pytest.mark.parametrize("size", [{"width": 1366, "height": 768}, {"width": 390, "height": 844}])
def test_partial_images_and_the_result_arrive_in_view_however_the_page_was_scrolled(page, streaming_app, size):
    page.set_viewport_size(size)
    page.goto(streaming_app.url)
    page.fill("#prompt", "a streamed lighthouse")
    page.fill("#model", "gpt-image-1")
    open_more_options_and_scroll_down(page)
    page.check("#stream")
    page.fill("#partial_images", "2")
    page.click("#generate-button")
    expect(page.locator(".waiting-card .partial img")).to_be_visible(timeout=15_000)
    assert in_view(page, ".waiting-card .partial")
    expect(page.locator(".result .image-card img")).to_be_visible(timeout=15_000)
    assert in_view(page, ".result .image-card")


def test_on_a_result_the_image_is_the_largest_thing_and_the_technical_rows_are_folded(page, live_app):
    page.goto(live_app.url)
    page.fill("#prompt", "a large lighthouse")
    page.fill("#model", "gpt-image-1")
    page.click("#generate-button")
    image = page.locator(".result .image-card img")
    expect(image).to_be_visible(timeout=15_000)
    box = image.bounding_box()
    form = page.locator("#generate-form").bounding_box()
    assert box["width"] * box["height"] > form["width"] * min(form["height"], 768)
    assert box["y"] + box["height"] <= 768  # whole, above the fold
    for technical in ["#raw-json", ".server-fact", "#request-json"]:
        expect(page.locator(technical)).to_be_hidden()
    page.get_by_text("Technical details").click()
    expect(page.locator("#raw-json")).to_be_visible()
    expect(page.locator(".server-fact")).to_contain_text("default")


def test_the_tab_title_names_the_result_and_back_and_forward_follow_the_address(page, live_app):
    page.goto(live_app.url)
    page.fill("#prompt", "a titled fox")
    page.click("#generate-button")
    expect(page.locator(".result .image-card img")).to_be_visible(timeout=15_000)
    expect(page).to_have_title("#1 a titled fox · Proofsheet")
    page.go_back()
    expect(page).to_have_url(live_app.url + "/")
    expect(page.locator(".result")).to_have_count(0)
    expect(page.locator(".empty-state h1")).to_be_visible()
    page.wait_for_load_state("load")  # its scripts too: Forward within those milliseconds would find no listener
    page.go_forward()
    expect(page).to_have_url(live_app.url + "/generations/1")
    expect(page.locator(".result-prompt")).to_have_text("a titled fox", timeout=15_000)  # the page reloads


def test_a_blank_prompt_message_goes_when_the_form_is_sent_filled(page, live_app):
    page.goto(live_app.url)
    page.fill("#prompt", "")
    page.click("#generate-button")
    expect(page.locator("#prompt-error")).to_be_visible()
    page.fill("#prompt", "now filled")
    page.click("#generate-button")
    expect(page.locator(".result .image-card img")).to_be_visible(timeout=15_000)
    expect(page.locator("#prompt-error")).to_have_count(0)
    expect(page.locator("#prompt")).not_to_have_attribute("aria-invalid", "true")


def test_a_failed_result_leaves_no_empty_space_where_an_image_would_be(page, live_app):
    page.goto(live_app.url)
    page.fill("#prompt", "a failure")
    page.fill("#model", "no-such-model")
    page.click("#generate-button")
    expect(page.locator(".result .error-card")).to_be_visible(timeout=15_000)
    expect(page.locator(".result-images")).to_have_count(0)
    error = page.locator(".result .error-card").bounding_box()
    actions = page.locator(".result-actions").bounding_box()
    assert actions["y"] - (error["y"] + error["height"]) < 60


@pytest.fixture
def slow_edit_app(tmp_path, make_app, serve_app, start_demo):
    server = start_demo(model_delays={"gpt-image-1": 2.0})
    return serve_app(make_app(tmp_path, server.api_base, WTF_CSRF_ENABLED=True))


def test_on_a_phone_an_edit_waits_in_view_with_its_model_and_its_result_arrives_in_view(page, slow_edit_app):
    client = slow_edit_app.app.test_client()
    source = client.post("/api/generate", json={"prompt": "a plain wall", "model": "flux"}).get_json()
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{slow_edit_app.url}/edit?from={source['id']}&image=0")
    page.fill("#prompt", "add a window")
    page.click("#edit-button")
    waiting = page.locator(".edit-waiting")
    expect(waiting).to_contain_text("Editing with gpt-image-1")
    expect(waiting.locator(".edit-waiting-source")).to_be_visible()  # what is being edited, not a bare "0.0 s"
    expect(waiting.get_by_role("timer")).to_be_visible()
    assert in_view(page, ".edit-waiting")
    page.wait_for_url("**/generations/*", timeout=15_000)
    expect(page.locator(".result .image-card img")).to_be_visible()
    expect(page.locator(".lineage-link img")).to_be_visible()  # where it came from, as a picture
    page.wait_for_function("() => document.querySelector('.result').getBoundingClientRect().top < innerHeight / 2")
