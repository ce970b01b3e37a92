"""A run's page in Chromium: a person starts a run from the form, watches the bar move without a reload, opens the
grid, filters it to the failures and opens a cell; the page and the History's run card at a projector's 1366×768
and a phone's 390×844, in the light and the dark theme."""
import io

import pytest
import requests
from PIL import Image
from playwright.sync_api import expect

from tests.support import wait_until

PROMPTS = [f"a lighthouse number {number}" for number in range(1, 7)]


@pytest.fixture
def slow_app(tmp_path, make_app, serve_app, start_demo):
    """Each image takes 0.4 s: a run of a dozen calls, one at a time, lasts long enough to watch."""
    demo = start_demo(delay=0.4)
    return serve_app(make_app(tmp_path, demo.api_base, WTF_CSRF_ENABLED=True))


def finished_run(live, prompts, models, **fields):
    started = requests.post(live.url + "/api/runs", json={"prompts": prompts, "targets": [
        {"model": model} for model in models], **fields}, timeout=10)
    assert started.status_code == 201, started.text
    run_id = started.json()["id"]
    assert wait_until(lambda: requests.get(f"{live.url}/api/runs/{run_id}", timeout=5).json()["status"] == "done",
                      60)
    return run_id


def bar_colours(bar):
    """The colour a person sees at a tenth and at nine tenths of a run's bar."""
    picture = Image.open(io.BytesIO(bar.screenshot())).convert("RGB")
    middle = picture.height // 2
    return picture.getpixel((picture.width // 10, middle)), picture.getpixel((picture.width * 9 // 10, middle))


def count_of(page, name):
    return int(page.locator(f'[data-run-count="{name}"]').inner_text().split()[0])


def test_a_person_starts_a_run_watches_it_move_then_filters_the_failures_and_opens_a_cell(page, slow_app):
    page.goto(slow_app.url + "/runs")
    page.fill("#prompts", "\n".join(PROMPTS))
    page.fill("#target-model-0", "flux")
    page.locator("#add-row").click()
    page.fill("#target-model-1", "no-such-model")
    page.fill("#concurrency", "1")
    page.get_by_role("button", name="Start the run").click()
    expect(page).to_have_url(f"{slow_app.url}/runs/1")
    page.evaluate("window.stillTheSamePage = true")  # gone if the page were reloaded
    expect(page.locator(".run-status")).to_have_text("running")
    start = count_of(page, "done") + count_of(page, "failed")
    shown = page.locator("td.run-cell img").count()
    expect(page.locator('[data-run-count="done"]')).not_to_have_text(f"{count_of(page, 'done')} done", timeout=10_000)
    moved = count_of(page, "done") + count_of(page, "failed")
    assert moved > start and page.evaluate("window.stillTheSamePage === true")
    expect(page.locator("td.run-cell img")).not_to_have_count(shown, timeout=10_000)  # new cells, in place
    assert page.evaluate("window.stillTheSamePage === true")
    expect(page.locator(".run-status")).to_have_text("done", timeout=30_000)
    # The ended run's page comes again whole (its buttons change): its own mark says it was served done.
    expect(page.locator("[data-run-progress]")).to_have_attribute("data-run-status", "done", timeout=10_000)
    expect(page.locator('[data-run-count="done"]')).to_have_text("6 done")
    expect(page.locator('[data-run-count="failed"]')).to_have_text("6 failed")
    expect(page.locator("[data-run-bar-finished]")).to_have_attribute("value", "12")
    expect(page.locator("[data-run-bar-done]")).to_have_attribute("value", "6")  # the bar half green, half red
    expect(page.locator("td.run-cell img")).to_have_count(6)

    page.select_option("#filter-status", "failed")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(f"{slow_app.url}/runs/1?status=failed&target=")
    expect(page.locator("td.run-cell img")).to_have_count(0)
    expect(page.locator(".run-shot-failed")).to_have_count(6)
    expect(page.locator(".run-shot-failed").first).to_contain_text("Model not found: no-such-model")

    page.goto(slow_app.url + "/runs/1")
    cell = page.locator("a.run-shot").first  # the first prompt's first target: whichever call was made first
    opens = cell.get_attribute("href")
    assert opens.startswith("/generations/")
    cell.click()
    expect(page).to_have_url(slow_app.url + opens)
    expect(page.get_by_text("a lighthouse number 1").first).to_be_visible()


@pytest.mark.parametrize("viewport", [{"width": 1366, "height": 768}, {"width": 390, "height": 844}],
                         ids=["projector", "phone"])
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_run_page_and_its_history_card_fit_the_screen(new_context, live_app, viewport, scheme):
    run_id = finished_run(live_app, PROMPTS, ["flux", "sdxl-turbo", "no-such-model", "dall-e-3"])
    phone = viewport["width"] < 600
    page = new_context(viewport=viewport, color_scheme=scheme, is_mobile=phone, has_touch=phone).new_page()
    page.goto(f"{live_app.url}/runs/{run_id}")
    expect(page.locator(".run-status")).to_have_text("done")
    expect(page.locator("td.run-cell img")).to_have_count(18)
    # The page itself never scrolls sideways; the grid does, inside its own box, with the prompts kept in view.
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    first_prompt = page.locator(".run-prompt").first
    expect(first_prompt).to_be_visible()
    page.locator(".run-grid-scroll").evaluate("box => box.scrollLeft = box.scrollWidth")
    box = first_prompt.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= viewport["width"]  # sticky at the left
    # A link's words and its note keep a space between them: "Export .zip (images…", not "Export .zip(images…".
    gaps = page.locator(".run-links a:has(.muted)").evaluate_all("""links => links.map(link => {
        const words = document.createRange();  // the link's own words, without the space after them
        words.setStart(link.firstChild, 0);
        words.setEnd(link.firstChild, link.firstChild.textContent.trimEnd().length);
        return link.querySelector('.muted').getBoundingClientRect().left - words.getBoundingClientRect().right;
    })""")
    assert len(gaps) == 2 and all(gap >= 3 for gap in gaps), gaps
    # On a phone the grid's four targets do not fit: it says they are there, sideways.
    hint = page.locator(".run-scroll-hint")
    if phone:
        expect(hint).to_be_visible()
        expect(hint).to_contain_text("4 targets")
    else:
        expect(hint).to_be_hidden()
    green, red = bar_colours(page.locator(".run-progress .run-bar"))  # 18 done, then 6 failed: 3/4 green, 1/4 red
    assert green[1] > green[0] + 40 and red[0] > red[1] + 40, (green, red)
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    dark = sum(int(part) for part in background[background.index("(") + 1:-1].split(",")[:3]) < 200
    assert dark == (scheme == "dark")
    page.goto(f"{live_app.url}/generations")
    card = page.locator(".run-card")
    expect(card).to_have_count(1)
    expect(card.locator("img")).to_have_count(4)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    card.locator("a.gallery-link").click()
    expect(page).to_have_url(f"{live_app.url}/runs/{run_id}")


def test_a_person_pastes_prompts_picks_two_models_starts_watches_opens_the_grid_and_judges_three_pairs(page, slow_app):
    page.goto(slow_app.url + "/runs")
    page.fill("#prompts", "\n".join(PROMPTS[:4]))
    page.fill("#target-model-0", "flux")
    page.locator("#add-row").click()
    page.fill("#target-model-1", "sdxl-turbo")
    page.get_by_role("button", name="Start the run").click()
    expect(page).to_have_url(f"{slow_app.url}/runs/1")
    bar = page.locator("[data-run-bar-finished]")
    first = bar.get_attribute("value")
    expect(bar).not_to_have_attribute("value", first or "0", timeout=10_000)  # the bar moves without a reload
    expect(page.locator(".run-status")).to_have_text("done", timeout=30_000)
    expect(page.locator("td.run-cell img")).to_have_count(8)
    cell = page.locator("a.run-shot").first  # the first prompt's first target: whichever call was made first
    opens = cell.get_attribute("href")
    assert opens.startswith("/generations/")
    cell.click()
    expect(page).to_have_url(slow_app.url + opens)
    page.go_back()
    page.locator("#judge-it").click()
    page.wait_for_url(f"{slow_app.url}/runs/1/tournament")
    page.wait_for_load_state()  # its keys work once its scripts have run, as a person sees the page whole first
    judged = []
    for key in ("1", "2", "0"):
        pair = page.locator("#arena-round")
        before = pair.get_attribute("data-round-id")
        expect(pair.locator(".arena-name")).to_have_count(0)  # blind until its vote
        page.keyboard.press(key)
        expect(pair).not_to_have_attribute("data-round-id", before, timeout=10_000)
        judged.append(before)
    board = requests.get(f"{slow_app.url}/api/runs/1/leaderboard", timeout=5).json()
    assert board["votes"] == 3 and len(set(judged)) == 3


def test_a_cell_opened_from_the_grid_leads_back_to_its_run_at_the_page_and_row_it_was_on(page, live_app):
    run_id = finished_run(live_app, [f"a lighthouse number {number}" for number in range(1, 28)], ["flux"],
                          name="lighthouses")
    page.goto(f"{live_app.url}/runs/{run_id}?page=2")
    page.locator("tr#prompt-27 a.run-shot").click()
    expect(page.locator("#result-title")).to_have_text("a lighthouse number 27")
    back = page.get_by_role("link", name=f"← Run #{run_id}: lighthouses")
    expect(back).to_be_visible()
    back.click()
    expect(page).to_have_url(f"{live_app.url}/runs/{run_id}?page=2#prompt-27")
    expect(page.locator("tr#prompt-27")).to_be_in_viewport()
    expect(page.locator(".run-prompt-text").first).to_have_text("a lighthouse number 26")
