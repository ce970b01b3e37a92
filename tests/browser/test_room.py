"""The room votes, in Chromium: a phone (390×844) taps a choice while the projector's page (1366×768) shows the bar
move; the presenter closes the vote and both pages show the reveal."""
import os

import pytest
import requests
from playwright.sync_api import expect

SHOTS = os.environ.get("PROOFSHEET_SHOTS")  # a folder to keep screenshots in, for a person to look at


@pytest.fixture
def room_app(live_app, serve_room):
    serve_room(live_app.app)
    answer = requests.post(live_app.url + "/api/arena", timeout=30, json={
        "prompt": "a lighthouse at dusk", "contenders": [{"model": "flux"}, {"model": "sdxl-turbo"}]})
    return live_app, answer.json()["id"]


def _phone(new_context, scheme: str = "light"):
    phone = new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True,
                        color_scheme=scheme).new_page()
    phone.errors = []
    phone.on("pageerror", lambda error: phone.errors.append(str(error)))
    return phone


def _shot(page, name: str) -> None:
    if SHOTS:
        page.screenshot(path=os.path.join(SHOTS, name), full_page=True)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_a_phone_taps_a_choice_the_projector_moves_then_both_show_the_reveal(page, new_context, room_app, scheme):
    live, round_id = room_app
    page.emulate_media(color_scheme=scheme)
    page.goto(f"{live.url}/arena/{round_id}")
    page.get_by_role("button", name="Open to the room").click()
    expect(page.locator(".room-qr")).to_be_visible()
    qr = page.locator(".room-qr").bounding_box()
    assert qr["width"] >= 300 and qr["height"] >= 300  # readable from the back of a room
    for shown in ("#arena-round .arena-image >> nth=1", ".room-qr", ".room-url", "#room-close"):  # one screen, no scroll
        box = page.locator(shown).bounding_box()
        assert box["y"] >= 0 and box["y"] + box["height"] <= 768 and box["x"] + box["width"] <= 1366, shown
    url = page.locator(".room-url a").inner_text()
    assert url.startswith("http://127.0.0.2:")
    bar_a = page.locator('.room-bar[data-choice="A"] [data-count]')
    expect(bar_a).to_have_text("0")

    phone = _phone(new_context, scheme)
    phone.goto(url)
    expect(phone.get_by_role("img", name="Image A")).to_be_visible()
    choice = phone.get_by_role("button", name="A is better")
    box = choice.bounding_box()
    assert box["height"] >= 44 and box["width"] >= 44
    _shot(phone, f"room-phone-{scheme}.png")
    choice.tap()
    expect(phone.locator("#room-status")).to_have_text("Your vote: A. Tap another to change it.")
    expect(choice).to_have_attribute("aria-pressed", "true")
    expect(bar_a).to_have_text("1")  # live, without a reload
    expect(page.locator(".room-voters")).to_have_text("1 voter")
    _shot(page, f"room-projector-{scheme}.png")

    page.get_by_role("button", name="Close the vote and reveal").click()
    expect(page.locator(".vote-result")).to_contain_text("A won")
    expect(page.locator(".room-reveal")).to_contain_text("100")
    expect(phone.locator(".room-closed")).to_contain_text("The vote is closed", timeout=10_000)  # it asks by itself
    expect(phone.locator(".room-closed .vote-result")).to_contain_text("A won")
    expect(phone.locator(".room-name").first).to_be_visible()
    _shot(page, f"room-reveal-projector-{scheme}.png")
    _shot(phone, f"room-reveal-phone-{scheme}.png")
    assert phone.errors == []


def test_the_phone_votes_without_javascript(new_context, room_app):
    live, round_id = room_app
    url = live.app.test_client().post(f"/api/arena/{round_id}/room").get_json()["url"]
    phone = new_context(viewport={"width": 390, "height": 844}, java_script_enabled=False).new_page()
    phone.goto(url)
    phone.get_by_role("button", name="Both bad").click()
    expect(phone.locator("#room-status")).to_have_text("Your vote: both bad. Tap another to change it.")
    expect(phone.get_by_role("button", name="Both bad")).to_have_attribute("aria-pressed", "true")
