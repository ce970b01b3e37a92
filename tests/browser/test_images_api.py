"""The whole Images API as a person uses it in Chromium: the form follows the model, partial images paint as they
stream, and an edit's mask is painted with the mouse (and dropped images are taken)."""
import base64
import io

import pytest
from playwright.sync_api import expect
from PIL import Image

from tests.support import png_bytes


@pytest.fixture
def streaming_app(tmp_path, make_app, serve_app, start_demo):
    server = start_demo(partial_delay=0.6)
    live = serve_app(make_app(tmp_path, server.api_base, WTF_CSRF_ENABLED=True))
    live.demo = server
    return live


def test_the_form_shows_the_options_of_the_model_typed(page, live_app):
    page.goto(live_app.url)
    page.click(".more-options summary")
    gpt, dalle, g4f = (page.locator(f"fieldset[data-dialect='{name}']") for name in ("gpt-image", "dall-e-3",
                                                                                      "gpt4free"))
    expect(g4f).to_be_visible(timeout=15_000)  # flux on a gpt4free-like server: known once the model list arrives
    expect(gpt).to_be_hidden()
    page.fill("#model", "gpt-image-1")
    expect(gpt).to_be_visible()
    expect(g4f).to_be_hidden()
    expect(page.locator("#dialect-note")).to_contain_text("always answer base64")
    expect(page.locator("#response_format option[value='']")).to_have_text("not sent (these models answer base64)")
    expect(page.locator("#prompt-count")).to_contain_text("/ 32,000 characters")
    page.fill("#model", "dall-e-3")
    expect(dalle).to_be_visible()
    expect(gpt).to_be_hidden()


def test_gpt_image_options_are_sent_and_response_format_is_not(page, live_app):
    page.goto(live_app.url)
    page.fill("#prompt", "a glass of water")
    page.fill("#model", "gpt-image-1")
    page.click(".more-options summary")
    page.select_option("#quality-gpt-image", "high")
    page.select_option("#background", "transparent")
    page.select_option("#output_format", "webp")
    page.fill("#extra_fields", '{"user": "demo-room"}')
    page.click("#generate-button")
    expect(page.locator(".result .image-card img")).to_be_visible(timeout=15_000)
    sent = live_app.app.test_client().get("/api/generations/1").get_json()["request"]
    assert sent == {"model": "gpt-image-1", "prompt": "a glass of water", "quality": "high",
                    "background": "transparent", "output_format": "webp", "user": "demo-room"}
    expect(page.locator(".facts .cost")).to_contain_text("≈ $")
    expect(page.locator(".image-facts").first).to_contain_text("WEBP")


def test_partial_images_paint_while_the_server_works(page, streaming_app):
    page.goto(streaming_app.url)
    page.fill("#prompt", "a slow sunrise")
    page.fill("#model", "gpt-image-1")
    page.click(".more-options summary")
    page.check("#stream")
    page.fill("#partial_images", "2")
    page.click("#generate-button")
    partial = page.locator(".waiting-card .partial img[data-painted-at]")
    expect(partial).to_be_visible(timeout=10_000)
    expect(page.get_by_role("timer")).to_be_visible()  # still waiting: the partial came before the result
    expect(page.locator(".waiting-card figcaption")).to_contain_text("still being made")
    assert page.evaluate("img => img.naturalWidth", partial.element_handle()) == 1024
    expect(page.locator(".result .image-card img")).to_be_visible(timeout=15_000)
    expect(page.locator(".facts .usage")).to_contain_text("1,056 out")


def test_painting_a_mask_edits_that_area(page, live_app):
    client = live_app.app.test_client()
    source = client.post("/api/generate", json={"prompt": "a plain wall", "model": "gpt-image-1"}).get_json()
    page.goto(f"{live_app.url}/generations/{source['id']}")
    page.locator(".image-card .edit-link").first.click()
    expect(page.locator("#edit-stage")).to_be_visible()
    canvas = page.locator("#mask-canvas")
    box = canvas.bounding_box()
    scale = 1024 / box["width"]
    page.mouse.move(box["x"] + 40, box["y"] + 40)
    page.mouse.down()
    page.mouse.move(box["x"] + 140, box["y"] + 40, steps=8)
    page.mouse.up()
    page.fill("#prompt", "a red door")
    page.click("#edit-button")
    page.wait_for_url("**/generations/*", timeout=15_000)
    expect(page.locator(".lineage")).to_contain_text(f"Edited from #{source['id']}")
    edit = client.get("/api/generations?per_page=1").get_json()["generations"][0]
    mask_src = [item for item in client.get(f"/api/generations/{edit['id']}").get_json()["inputs"]
                if item["role"] == "mask"][0]["src"]
    with Image.open(io.BytesIO(client.get(mask_src).data)) as mask:
        assert mask.size == (1024, 1024)
        alpha = mask.getchannel("A")
        assert alpha.getpixel((int(90 * scale), int(40 * scale))) == 0  # painted: to be edited
        assert alpha.getpixel((int(90 * scale), int(300 * scale))) == 255  # untouched: kept
    expect(page.locator(".inputs img")).to_have_count(2)


def test_invert_and_clear_change_the_mask(page, live_app):
    client = live_app.app.test_client()
    source = client.post("/api/generate", json={"prompt": "a field", "model": "gpt-image-1"}).get_json()
    page.goto(f"{live_app.url}/edit?from={source['id']}&image=0")
    expect(page.locator("#edit-stage")).to_be_visible()
    page.click("#mask-invert")  # nothing painted, inverted: everything is to be edited
    page.fill("#prompt", "all of it")
    page.click("#edit-button")
    page.wait_for_url("**/generations/*", timeout=15_000)
    edit = client.get("/api/generations?per_page=1").get_json()["generations"][0]
    mask_src = [item for item in client.get(f"/api/generations/{edit['id']}").get_json()["inputs"]
                if item["role"] == "mask"][0]["src"]
    with Image.open(io.BytesIO(client.get(mask_src).data)) as mask:
        assert mask.getchannel("A").getextrema() == (0, 0)


def test_a_dropped_image_is_shown_and_sent(page, live_app):
    page.goto(f"{live_app.url}/edit")
    transfer = page.evaluate_handle("""b64 => {
        const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
        const transfer = new DataTransfer();
        transfer.items.add(new File([bytes], "dropped.png", { type: "image/png" }));
        return transfer;
    }""", base64.b64encode(png_bytes(320, 200)).decode())
    page.dispatch_event("#edit-drop", "drop", {"dataTransfer": transfer})
    expect(page.locator("#edit-stage")).to_be_visible()
    assert page.evaluate("document.getElementById('mask-canvas').width") == 320
    page.fill("#prompt", "make it night")
    page.click("#edit-button")
    page.wait_for_url("**/generations/*", timeout=15_000)
    expect(page.locator(".inputs img")).to_have_count(1)  # the dropped image; no mask painted, none sent


def test_picking_a_provider_lists_its_models(page, live_app):
    page.goto(live_app.url)
    page.click(".more-options summary")
    # The providers come with the server's model list, asked for once the page has loaded: slow on a busy machine.
    expect(page.locator("#provider-suggestions option")).to_have_count(2, timeout=15_000)
    page.fill("#provider", "DemoGallery")
    page.press("#provider", "Tab")  # leaving the field, as a person does, commits the change
    expect(page.locator("#model-status")).to_have_text("4 models of DemoGallery.")
    page.click("#model")
    page.fill("#model", "")
    expect(page.locator("#model-options [role=option]")).to_have_count(4)


def test_a_pasted_image_is_taken_too(page, live_app):
    page.goto(f"{live_app.url}/edit")
    page.evaluate("""b64 => {
        const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
        const transfer = new DataTransfer();
        transfer.items.add(new File([bytes], "pasted.png", { type: "image/png" }));
        document.dispatchEvent(new ClipboardEvent("paste", { clipboardData: transfer }));
    }""", base64.b64encode(png_bytes(200, 120)).decode())
    expect(page.locator("#edit-stage")).to_be_visible()
    assert page.evaluate("document.getElementById('image').files[0].name") == "pasted.png"
    assert page.evaluate("document.getElementById('mask-canvas').width") == 200
