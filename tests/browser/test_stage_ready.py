"""A presenter's walk through the app at 1366×768 and on a 390×844 phone: what they click is there, and what the room
looks at fits the screen whole."""
import io

import pytest
from playwright.sync_api import expect

from tests.browser.page_states import LAPTOP, PHONE
from PIL import Image


def fits_the_screen(page, selector: str) -> bool:
    """Every such element wholly inside the viewport, above the stage bar when there is one."""
    return page.evaluate("""(selector) => {
        const bar = document.querySelector('.stage-bar');
        const floor = bar && getComputedStyle(bar).display !== 'none' ? bar.getBoundingClientRect().top : innerHeight;
        return [...document.querySelectorAll(selector)].every((element) => {
            const box = element.getBoundingClientRect();
            return box.height > 0 && box.top >= 0 && box.bottom <= floor + 0.5 && box.left >= 0 && box.right <= innerWidth;
        });
    }""", selector)


def compare_in_the_form(page, url: str, rows: str = "") -> None:
    page.goto(url + "/compare")
    page.fill("#prompt", "a lighthouse at dawn")
    models = page.locator('input[name="target_model"]')
    models.nth(0).fill("flux")
    models.nth(1).fill("sdxl-turbo")
    if rows:
        page.select_option("#y_axis", "seed")
        page.fill("#y_values", rows)
    page.click("#compare-button")


@pytest.mark.parametrize("rows", ["", "1, 2"], ids=["comparison", "xy grid"])
def test_present_and_the_contact_sheets_are_there_as_soon_as_the_run_has_answered(page, live_app, rows):
    compare_in_the_form(page, live_app.url, rows)
    expect(page.locator(".cell img")).to_have_count(4 if rows else 2, timeout=15_000)
    actions = page.locator("#compare-grid .group-actions")
    expect(actions.get_by_role("link", name="Present")).to_be_visible()  # no reload
    expect(actions.get_by_role("link", name="Contact sheet (PNG)")).to_be_visible()
    expect(page.locator("#compare-grid .when")).to_be_visible()
    with page.expect_popup() as opened:
        actions.get_by_role("link", name="Contact sheet (HTML)").click()
    sheet = opened.value
    expect(sheet.get_by_text("a lighthouse at dawn").first).to_be_visible()  # shown in its tab, not only saved
    sheet.close()
    with page.expect_download() as download:
        page.locator(".downloads").get_by_role("link", name="PNG").click()
    assert download.value.suggested_filename.endswith(".png")


@pytest.fixture
def comparison(live_app):
    return live_app.app.test_client().post("/api/compare", json={"prompt": "a whale", "models": ["flux", "sdxl-turbo"]}
                                           ).get_json()


def test_two_contenders_share_the_width_and_their_images_fit_the_screen(page, live_app, comparison):
    page.goto(f"{live_app.url}/compare/{comparison['id']}")
    grid = page.locator(".compare-grid").bounding_box()
    cells = [cell.bounding_box() for cell in page.locator(".cell").all()]
    assert sum(cell["width"] for cell in cells) > 0.9 * grid["width"]  # no empty tracks beside them
    images = page.locator(".cell img")
    for image in images.all():
        assert image.bounding_box()["height"] <= 768 - 12 * 16 + 1


def test_the_png_contact_sheet_opens_in_a_tab(page, live_app, comparison):
    page.goto(f"{live_app.url}/compare/{comparison['id']}")
    with page.expect_popup() as opened:
        page.get_by_role("link", name="Contact sheet (PNG)").click()
    expect(opened.value.locator("img")).to_be_visible()  # Chromium shows a PNG it is not told to save


def test_an_xy_grid_fits_a_phone_with_its_row_labels_above_and_its_notes_whole(new_context, live_app):
    grid = live_app.app.test_client().post("/api/compare", json={
        "prompt": "a fox in a forest", "models": ["flux", "dall-e-3"], "size": "256x256",
        "prompt_sr": "fox, whale"}).get_json()
    page = new_context(viewport=PHONE, is_mobile=True, has_touch=True).new_page()
    page.goto(f"{live_app.url}/compare/{grid['id']}")
    expect(page.locator(".cell img")).to_have_count(4)
    assert page.evaluate("(() => { const g = document.querySelector('.xy-grid'); return g.scrollWidth <= g.clientWidth; })()")
    for cell in page.locator(".xy-grid .cell").all():
        box = cell.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"] and box["width"] > 150
    row, first_cell = page.locator(".xy-row").first.bounding_box(), page.locator(".xy-grid .cell").first.bounding_box()
    assert row["y"] + row["height"] <= first_cell["y"] + 1  # the row's label above its cells, not beside them
    notes = page.locator(".cell .note")
    expect(notes.first).to_be_visible()
    for note in notes.all():
        box, cell = note.bounding_box(), note.locator("xpath=ancestor::article").bounding_box()
        assert box["x"] + box["width"] <= cell["x"] + cell["width"] + 0.5  # inside its card, not clipped


@pytest.fixture
def streaming_stage(tmp_path, make_app, serve_app, start_demo):
    server = start_demo(partial_delay=1.5)
    live = serve_app(make_app(tmp_path, server.api_base, WTF_CSRF_ENABLED=True))
    live.app.test_client().post("/api/prompts", json={"name": "1 lighthouse", "prompt": "A lighthouse at dawn"})
    return live


def test_on_stage_a_partial_image_shows_whole_with_the_timer_and_cancel_in_view(page, streaming_stage):
    page.goto(streaming_stage.url)
    page.fill("#model", "gpt-image-1")
    page.click(".more-options summary")
    page.check("#stream")
    page.fill("#partial_images", "2")
    page.get_by_role("button", name="Stage view").click()
    page.keyboard.press("n")  # the deck's next prompt, as a presenter runs it
    partial = page.locator(".waiting-card .partial img")
    expect(partial).to_be_visible(timeout=15_000)
    page.wait_for_function("() => document.querySelector('.waiting-card .partial img').complete")
    assert partial.bounding_box()["height"] > 0.6 * 768  # large for the room
    assert fits_the_screen(page, ".waiting-card .partial img")
    assert fits_the_screen(page, ".waiting-card [role=timer]")
    assert fits_the_screen(page, ".waiting-card .cancel-button")
    page.get_by_role("button", name="Cancel").click()
    expect(page.locator(".waiting-card")).to_have_class("waiting-card cancelled")


def test_the_whole_vote_bar_is_on_screen_with_the_images(page, live_app):
    blind = live_app.app.test_client().post("/api/arena", json={
        "prompt": "a cat astronaut, studio portrait", "category": "portraits",
        "contenders": [{"model": "flux"}, {"model": "sdxl-turbo"}]}).get_json()
    page.goto(f"{live_app.url}/arena/{blind['id']}")
    assert fits_the_screen(page, ".arena-image img")
    assert fits_the_screen(page, ".vote-bar button")
    page.get_by_role("button", name="A is better").click()
    expect(page.locator(".vote-result")).to_contain_text("A won")


def a_mask() -> bytes:
    out = io.BytesIO()
    mask = Image.new("RGBA", (1024, 1024), (0, 0, 0, 255))
    mask.paste((0, 0, 0, 0), (300, 300, 600, 500))  # transparent: to be edited
    mask.save(out, "PNG")
    return out.getvalue()


def test_an_edits_result_fits_the_screen_under_where_it_came_from(page, live_app):
    client = live_app.app.test_client()
    source = client.post("/api/generate", json={"prompt": "an owl", "model": "gpt-image-1"}).get_json()
    edit = client.post("/api/edit", data={
        "prompt": "give the owl a red hat", "model": "gpt-image-1", "source_generation": str(source["id"]),
        "source_image": "0", "mask": (io.BytesIO(a_mask()), "mask.png")},
        content_type="multipart/form-data").get_json()
    page.goto(f"{live_app.url}/generations/{edit['id']}")
    expect(page.locator(".inputs img")).to_have_count(2)  # the image and the mask, shown above the result
    assert fits_the_screen(page, ".result .image-card img")


def paint_a_mask(page, edit_url: str) -> None:
    page.goto(edit_url)
    box = page.locator("#mask-canvas").bounding_box()
    page.mouse.move(box["x"] + 40, box["y"] + 40)
    page.mouse.down()
    page.mouse.move(box["x"] + 200, box["y"] + 120, steps=8)
    page.mouse.up()


def test_an_edit_with_a_painted_mask_shows_its_waiting_at_once_and_a_double_click_sends_it_once(page, live_app):
    client = live_app.app.test_client()
    source = client.post("/api/generate", json={"prompt": "a plain wall", "model": "gpt-image-1"}).get_json()
    paint_a_mask(page, f"{live_app.url}/edit?from={source['id']}")
    page.fill("#prompt", "a red door")
    page.click("#edit-button")
    # read in the same turn as the click: the waiting shows before the mask has been encoded
    assert page.evaluate("document.getElementById('edit-button').disabled && "
                         "!!document.querySelector('#edit-status [role=timer]')")
    page.wait_for_url("**/generations/*", timeout=15_000)
    before = client.get("/api/generations?per_page=1").get_json()["total"]

    paint_a_mask(page, f"{live_app.url}/edit?from={source['id']}")
    page.fill("#prompt", "a blue door")
    page.dblclick("#edit-button")
    page.wait_for_url("**/generations/*", timeout=15_000)
    page.wait_for_timeout(500)  # a second request, were one sent, lands meanwhile
    assert client.get("/api/generations?per_page=1").get_json()["total"] == before + 1


@pytest.fixture
def full_history(live_app):
    client = live_app.app.test_client()
    return [client.post("/api/generate", json={"prompt": f"card {n}", "size": "64x64"}).get_json()["id"]
            for n in range(26)]


def test_chosen_cards_get_their_actions_where_the_person_is_with_a_count(page, live_app, full_history):
    page.goto(live_app.url + "/generations")
    bar = page.locator("#export-bar")
    for card in page.locator(".gallery-card .pick").all()[:3]:
        card.click()
    expect(bar).to_contain_text("3 chosen")
    assert fits_the_screen(page, "#export-bar")  # at the foot of the screen, not under 24 cards
    bar.get_by_role("button", name="Present chosen").click()
    page.wait_for_url("**/present?**")
    expect(page.locator(".slide img")).to_have_count(3)


def test_without_javascript_the_chosen_cards_are_presented_all_the_same(new_context, live_app, full_history):
    page = new_context(viewport=LAPTOP, java_script_enabled=False).new_page()
    page.goto(live_app.url + "/generations")
    for card in page.locator(".gallery-card .pick input").all()[:2]:
        card.check()
    page.get_by_role("button", name="Present chosen").click()
    page.wait_for_url("**/present?**")
    expect(page.locator(".slide img")).to_have_count(2)


def test_on_a_phone_the_lightbox_caption_reads_whole(new_context, live_app):
    made = live_app.app.test_client().post("/api/generate", json={"prompt": "a lighthouse",
                                                                  "model": "gpt-image-1"}).get_json()
    page = new_context(viewport=PHONE, is_mobile=True, has_touch=True).new_page()
    page.goto(f"{live_app.url}/generations/{made['id']}")
    page.locator(".image-card .image-link").first.click()
    caption = page.locator(".lightbox-caption")
    expect(caption).to_contain_text("gpt-image-1")
    assert caption.evaluate("(el) => el.scrollWidth <= el.clientWidth && el.scrollHeight <= el.clientHeight")
    assert fits_the_screen(page, ".lightbox-bar button")


def test_size_and_seed_show_their_whole_placeholders(page, live_app):
    page.goto(live_app.url)
    page.click(".more-options summary")
    for field in ["#size", "#seed"]:
        room, needed = page.locator(field).evaluate("""(input) => {
            const style = getComputedStyle(input), shown = getComputedStyle(input, '::placeholder');
            const pen = document.createElement('canvas').getContext('2d');
            pen.font = shown.font || style.font;
            const room = input.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
            return [room, pen.measureText(input.placeholder).width];
        }""")
        assert needed <= room, (field, needed, room)


def test_the_favicon_is_served_where_a_browser_asks_for_it(page, live_app):
    answer = page.request.get(live_app.url + "/favicon.ico")
    assert answer.status == 200 and answer.headers["content-type"] == "image/png"
