"""What a presenter does in front of a room, in real Chromium: a blind vote, a slideshow, an X/Y grid, a contact sheet
handed out, stars and saved prompts."""
import re

from playwright.sync_api import expect

NAMES = ("flux", "sdxl-turbo")


def test_the_arena_hides_the_names_until_the_vote_then_reveals_them_and_moves_the_leaderboard(page, live_app):
    page.goto(live_app.url + "/arena")
    page.fill("#prompt", "a red fox in the snow")
    page.fill("#target-model-0", "flux")
    page.fill("#target-model-1", "sdxl-turbo")
    fetched = []

    def keep_answer(route):  # the page's own request, answered by Proofsheet; its body kept to read
        answer = route.fetch()
        fetched.append(answer.text())
        route.fulfill(response=answer)

    page.route("**/api/arena", keep_answer)
    page.click("#arena-button")
    page.wait_for_url(re.compile(r"/arena/\d+$"))
    assert len(fetched) == 1 and '"label":"A"' in fetched[0].replace(" ", "")
    assert not [name for name in NAMES if name in fetched[0]]  # the JSON the page fetched names no one
    main = page.locator("main")
    expect(main.locator(".arena-letter")).to_have_text(["A", "B"])
    expect(main.locator(".arena-image img")).to_have_count(2)
    text = main.inner_text() + main.inner_html()
    assert not [name for name in NAMES if name in text]  # nor the page, text or markup
    page.keyboard.press("2")  # B is better
    expect(page.locator(".vote-result")).to_contain_text("B won:")
    expect(page.locator(".arena-name")).to_have_count(2)
    names = page.locator(".arena-name").all_inner_texts()
    assert sorted(name.split(" ·")[0].strip() for name in names) == sorted(NAMES)
    winner = page.locator(".arena-image.is-winner .arena-name").inner_text().split(" ·")[0].strip()
    page.click("text=Leaderboard")
    first = page.locator(".standing").first
    expect(first.locator(".standing-model")).to_have_text(winner)
    expect(first.locator(".standing-votes")).to_have_text("1")
    assert float(first.locator(".standing-rating").inner_text()) > 1000


def test_the_history_open_beside_a_blind_vote_names_no_one_until_it_is_judged(page, live_app):
    page.goto(live_app.url + "/generations")
    page.wait_for_timeout(300)  # its live stream is open
    started = page.request.post(live_app.url + "/api/arena", data={
        "prompt": "a red fox in the snow", "contenders": [{"model": name} for name in NAMES]}).json()
    cards = page.locator(".gallery-card", has_text="a red fox in the snow")
    expect(cards).to_have_count(2, timeout=5_000)  # arrived live
    expect(cards.locator(".blind-round")).to_have_text([f"blind vote #{started['id']}: names after the vote"] * 2)
    text = page.locator(".gallery-grid").inner_text() + page.locator(".gallery-grid").inner_html()
    assert not [name for name in NAMES if name in text]
    cards.first.locator("img").click()  # the picture leads to the round, where the room votes
    page.wait_for_url(re.compile(rf"/arena/{started['id']}$"))
    page.keyboard.press("1")
    expect(page.locator(".vote-result")).to_contain_text("A won:")
    page.goto(live_app.url + "/generations")
    expect(cards.locator(".blind-round")).to_have_count(0)
    assert all(name in page.locator(".gallery-grid").inner_text() for name in NAMES)  # named, now it is judged


def test_the_slideshow_fills_the_screen_and_advances_with_the_arrow_key(page, live_app):
    group = live_app.app.test_client().post("/api/compare", json={
        "prompt": "slides for the room", "models": ["flux", "sdxl-turbo", "dall-e-3"], "size": "512x512"}).get_json()
    page.goto(live_app.url + f"/present?group={group['id']}")
    visible = page.locator(".slide:visible")
    expect(visible).to_have_count(1)
    expect(page.locator(".slide-count")).to_have_text("1 / 3")
    expect(visible.locator(".slide-who")).to_have_text("flux · default")
    box = visible.locator("img").bounding_box()
    shown = page.evaluate("() => { const i = document.querySelector('.slide:not([hidden]) img');"
                          " const s = Math.min(i.clientWidth / i.naturalWidth, i.clientHeight / i.naturalHeight);"
                          " return [i.naturalWidth * s, i.naturalHeight * s]; }")
    assert box["width"] == 1366 and box["height"] > 0.9 * 768 - 60  # the whole screen but the caption
    assert shown[1] > 700  # the square picture, contained, is as tall as the screen allows
    page.keyboard.press("ArrowRight")
    expect(page.locator(".slide-count")).to_have_text("2 / 3")
    expect(page.locator(".slide:visible .slide-who")).to_have_text("sdxl-turbo · default")
    page.keyboard.press("Space")
    expect(page.locator(".slide-count")).to_have_text("3 / 3")
    page.keyboard.press("ArrowLeft")
    expect(page.locator(".slide-count")).to_have_text("2 / 3")
    page.keyboard.press("Escape")
    page.wait_for_url(re.compile(rf"/compare/{group['id']}$"))


def test_an_xy_grid_of_models_by_prompts_renders_labelled(page, live_app):
    page.goto(live_app.url + "/compare")
    page.fill("#target-model-0", "flux")
    page.fill("#target-model-1", "sdxl-turbo")
    page.select_option("#y_axis", "prompt")
    page.fill("#y_values", "a fox in the snow\na whale at sea")
    page.fill("#size", "256x256")
    page.click("#compare-button")
    grid = page.locator(".xy-grid")
    expect(grid.locator(".xy-column")).to_have_text(["flux", "sdxl-turbo"])
    expect(grid.locator(".xy-row")).to_have_text(["a fox in the snow", "a whale at sea"])
    expect(grid.locator(".cell img")).to_have_count(4, timeout=15_000)
    row_label = grid.locator(".xy-row").nth(1).bounding_box()
    last_cell = grid.locator(".cell").nth(3).bounding_box()
    assert abs(row_label["y"] - last_cell["y"]) < 40 and row_label["x"] < last_cell["x"]  # the label heads its row
    page.reload()  # the permalink draws the same grid
    expect(page.locator(".xy-grid .xy-row")).to_have_text(["a fox in the snow", "a whale at sea"])


def test_the_contact_sheet_html_shows_every_image_with_the_network_cut(new_context, live_app, tmp_path):
    client = live_app.app.test_client()
    group = client.post("/api/compare", json={"prompt": "handed out", "models": ["flux", "sdxl-turbo", "dall-e-3"],
                                              "size": "256x256"}).get_json()
    sheet = tmp_path / "sheet.html"
    sheet.write_bytes(client.get(f"/compare/{group['id']}/contact-sheet.html").get_data())
    context = new_context(viewport={"width": 1366, "height": 768}, offline=True)
    asked = []
    context.route("**/*", lambda route: (asked.append(route.request.url), route.abort()
                                         if not route.request.url.startswith(("file:", "data:")) else route.continue_()))
    offline = context.new_page()
    offline.goto(sheet.as_uri())
    images = offline.locator("img")
    expect(images).to_have_count(3)
    assert offline.evaluate("() => [...document.images].every(i => i.complete && i.naturalWidth > 0)")
    expect(offline.locator("h1")).to_have_text("handed out")
    assert [url for url in asked if not url.startswith(("file:", "data:"))] == []


def test_stars_mark_a_generation_and_filter_the_history(page, live_app):
    client = live_app.app.test_client()
    for prompt in ("the one to keep", "another one"):
        client.post("/api/generate", json={"prompt": prompt, "size": "64x64"})
    page.goto(live_app.url + "/generations")
    card = page.locator(".gallery-card", has_text="the one to keep")
    card.locator(".star-button").click()
    expect(card.locator(".star-button")).to_have_attribute("aria-pressed", "true")
    page.check("#filter-starred")
    page.click("text=Filter")
    expect(page.locator(".gallery-card")).to_have_count(1)
    expect(page.locator(".gallery-card .gallery-prompt")).to_have_text("the one to keep")


def test_a_saved_prompt_is_picked_back_into_the_prompt_box(page, live_app):
    page.goto(live_app.url + "/")
    page.fill("#prompt", "A lighthouse on a cliff at dawn, oil painting")
    page.click("text=Save…")
    page.fill("#saved-prompt-name", "lighthouse")
    page.keyboard.press("Enter")
    expect(page.locator(".saved-prompt-status")).to_have_text("Saved as “lighthouse”.")
    page.goto(live_app.url + "/compare")  # the same picker on every form
    page.select_option("#saved-prompt", label="lighthouse")
    expect(page.locator("#prompt")).to_have_value("A lighthouse on a cliff at dawn, oil painting")


def test_polish_for_the_room_whole_errors_full_width_messages_and_an_empty_compare_form(page, live_app):
    client = live_app.app.test_client()
    client.post("/api/generate", json={"prompt": "a long failure", "model": "no-such-model-" + "x" * 150})
    page.goto(live_app.url + "/generations")
    error = page.locator(".gallery-error").first
    expect(error).to_contain_text("Model not found")
    assert error.evaluate("e => e.scrollHeight <= e.clientHeight + 1 && e.scrollWidth <= e.clientWidth + 1")
    assert error.inner_text().rstrip().endswith("x")  # the whole message, to its last character

    page.goto(live_app.url + "/")
    page.fill("#prompt", "a cat")
    page.click("text=More options")
    page.fill("#n", "99")
    page.click("#generate-button")
    message = page.locator("#n-error")
    expect(message).to_contain_text("between 1 and 10")
    grid = page.locator(".more-options .form-grid").first.bounding_box()
    assert message.bounding_box()["width"] > 0.9 * grid["width"]  # under its field, at the form's full width
    assert message.bounding_box()["y"] > page.locator("#n").bounding_box()["y"]

    page.goto(live_app.url + "/compare")
    first = page.locator("#target-model-0")
    expect(first).to_have_value("")
    expect(first).to_have_attribute("placeholder", "e.g. flux")  # an example, not a value


def test_the_lightbox_keeps_the_image_centred_at_every_zoom(page, live_app):
    made = live_app.app.test_client().post("/api/generate", json={"prompt": "zoom me", "size": "1024x1024"}).get_json()
    page.goto(live_app.url + made["permalink"])
    page.locator(".image-card img").first.click()
    stage = page.locator(".lightbox-stage")
    image = page.locator(".lightbox-image")
    for key in ("", "+", "+", "-", "0"):
        if key:
            page.keyboard.press(key)
        page.wait_for_timeout(100)
        centre = page.evaluate("""() => {
            const stage = document.querySelector('.lightbox-stage').getBoundingClientRect();
            const image = document.querySelector('.lightbox-image').getBoundingClientRect();
            return [image.left + image.width / 2 - (stage.left + stage.width / 2),
                    image.top + image.height / 2 - (stage.top + stage.height / 2)];
        }""")
        assert abs(centre[0]) < 3 and abs(centre[1]) < 3, (key, centre)
    assert stage.is_visible() and image.is_visible()


def test_keys_in_the_lightbox_never_cast_a_vote(page, live_app):
    body = live_app.app.test_client().post("/api/arena", json={
        "prompt": "look closely first", "size": "256x256", "contenders": [{"model": "flux"}, {"model": "dall-e-3"}]})
    page.goto(live_app.url + body.get_json()["permalink"])
    page.locator(".arena-image img").first.click()
    expect(page.locator("dialog.lightbox")).to_be_visible()
    page.keyboard.press("+")
    page.keyboard.press("0")  # the lightbox's "fit", not a tie
    page.keyboard.press("1")
    expect(page.locator("dialog.lightbox")).to_have_attribute("data-zoom", "0")
    page.keyboard.press("Escape")
    expect(page.locator("#vote-form")).to_be_visible()
    page.keyboard.press("0")
    expect(page.locator(".vote-result")).to_have_text("Voted a tie.")


def test_on_a_phone_a_round_is_voted_with_a_tap_and_the_pages_fit_the_screen(new_context, live_app):
    client = live_app.app.test_client()
    started = client.post("/api/arena", json={"prompt": "a fox on a phone", "size": "256x256",
                                              "contenders": [{"model": "flux"}, {"model": "dall-e-3"}]}).get_json()
    grid = client.post("/api/compare", json={"prompt": "narrow", "models": ["flux", "sdxl-turbo", "dall-e-3"],
                                             "seeds": [1, 2], "size": "64x64"}).get_json()
    context = new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    phone = context.new_page()
    for path in ("/servers", "/arena", "/arena/leaderboard", grid["permalink"], started["permalink"]):
        phone.goto(live_app.url + path)
        assert phone.evaluate("document.documentElement.scrollWidth") <= 390, path  # a wide grid scrolls inside
    phone.get_by_role("button", name="B is better").tap()
    expect(phone.locator(".vote-result")).to_contain_text("B won:")
    expect(phone.locator(".arena-name")).to_have_count(2)
