"""The History's choice of cards, chosen with real clicks: each button under the grid does what it says."""
import pytest
from playwright.sync_api import expect


@pytest.fixture
def three_made(live_app):
    client = live_app.app.test_client()
    return [client.post("/api/generate", json={"prompt": f"card {n}", "size": "64x64"}).get_json()["id"]
            for n in range(3)]


def choose(page, ids):
    for generation_id in ids:
        page.locator(f'[data-generation-id="{generation_id}"] .pick').click()


def test_present_chosen_opens_the_slideshow_of_the_chosen_cards(page, live_app, three_made):
    page.goto(live_app.url + "/generations")
    choose(page, three_made[:2])
    page.get_by_role("button", name="Present chosen").click()
    page.wait_for_url("**/present?**")
    query = page.url.split("?", 1)[1].split("#")[0]  # the slideshow names its slide after the #
    assert sorted(query.split("&")) == sorted(f"id={n}" for n in three_made[:2])
    expect(page.locator(".slide img")).to_have_count(2)


@pytest.mark.parametrize(("button", "suffix"), [("Export chosen as .zip", ".zip"), ("Download sheet (PNG)", ".png")])
def test_each_download_button_downloads_the_chosen_cards(page, live_app, three_made, button, suffix):
    page.goto(live_app.url + "/generations")
    choose(page, three_made)
    with page.expect_download() as download:
        page.get_by_role("button", name=button).click()
    assert download.value.suggested_filename.endswith(suffix)
    assert download.value.failure() is None


@pytest.mark.parametrize(("button", "shown"), [("Contact sheet (PNG)", "img"), ("Contact sheet (HTML)", "h1")])
def test_each_contact_sheet_button_opens_the_sheet_of_the_chosen_cards_in_a_tab(page, live_app, three_made, button, shown):
    page.goto(live_app.url + "/generations")
    choose(page, three_made)
    with page.expect_popup() as opened:
        page.get_by_role("button", name=button).click()
    expect(opened.value.locator(shown).first).to_be_visible()
    assert sorted(opened.value.url.split("?", 1)[1].split("&")) == sorted(f"id={n}" for n in three_made)


def test_a_star_in_the_grid_stars_its_card_and_exports_nothing(page, live_app, three_made):
    page.goto(live_app.url + "/generations")
    first = page.locator(".gallery-card").first  # the star that used to submit the export form
    star = first.locator(".star-button")
    star.click()
    expect(star).to_have_attribute("aria-pressed", "true")
    assert page.url == live_app.url + "/generations"
    newest = max(three_made)
    assert live_app.app.test_client().get(f"/api/generations/{newest}").get_json()["starred"] is True
