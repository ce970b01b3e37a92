"""A person adds a second image server on the Servers page and sends one prompt to models on both, in one grid."""
import pytest
from playwright.sync_api import expect

KEY = "sk-browser-second-key-98765"


@pytest.fixture
def keyed_server(start_demo):
    return start_demo(api_key=KEY, model_delays={"dall-e-3": 0.6})


def test_adding_a_server_then_comparing_across_both_servers(page, live_app, keyed_server):
    page.goto(live_app.url + "/servers")
    expect(page.locator(".server-row")).to_have_count(1)
    expect(page.locator(".server-row[data-server=default] .server-words")).to_have_text("answers")
    page.fill("#server-name", "second")
    page.fill("#server-base", keyed_server.api_base)
    page.fill("#server-key", "sk-not-the-right-one")
    page.click("#add-server-button")
    expect(page.locator(".form-error")).to_contain_text("refused the key")
    expect(page.locator("#server-base")).to_have_value(keyed_server.api_base)  # kept; the key is not
    expect(page.locator("#server-key")).to_have_value("")
    page.fill("#server-key", KEY)
    page.click("#add-server-button")
    expect(page.get_by_role("status")).to_have_text("Added second.")
    row = page.locator(".server-row[data-server=second]")
    expect(row.locator(".server-words")).to_have_text("answers")
    expect(row.locator(".server-key")).to_have_text("key set")
    assert int(row.locator(".server-models").inner_text()) > 5
    assert KEY not in page.content()

    page.goto(live_app.url + "/compare")
    page.fill("#prompt", "a lighthouse at dawn")
    page.fill("#target-model-0", "flux")
    page.select_option("#target-server-1", "second")
    page.fill("#target-model-1", "dall-e-3")
    page.click("#compare-button")
    cells = page.locator(".compare-grid > .cell")
    expect(cells).to_have_count(2)
    expect(cells.locator(".cell-model")).to_have_text(["default · flux", "second · dall-e-3"])
    expect(cells.nth(0).locator("img")).to_be_visible(timeout=10_000)
    expect(cells.nth(1).locator("img")).to_be_visible(timeout=10_000)
    expect(cells.nth(1).locator(".elapsed")).to_contain_text(" s")
    assert keyed_server.requests_seen[-1]["prompt"] == "a lighthouse at dawn"
    page.reload()  # the permalink shows the same grid, each cell headed by its server
    expect(page.locator(".compare-grid > .cell .cell-model")).to_have_text(["default · flux", "second · dall-e-3"])


def test_the_form_and_header_follow_the_chosen_server(page, live_app, keyed_server):
    live_app.app.test_client().post("/api/servers", json={"name": "second", "api_base": keyed_server.api_base,
                                                          "api_key": KEY})
    page.goto(live_app.url + "/")
    header = page.locator("#server-status")
    expect(header.locator(".server-name")).to_have_text("default")
    page.select_option("#server", "second")
    expect(header.locator(".server-name")).to_have_text("second")
    expect(header.locator(".server-url")).to_have_text(keyed_server.api_base)
    expect(header.locator(".server-state")).to_have_text("answers")
    page.fill("#prompt", "from the second server")
    page.click("#generate-button")
    expect(page.locator(".result .server-fact")).to_contain_text("second", timeout=10_000)
    expect(page.locator(".result img").first).to_be_visible()
    assert keyed_server.requests_seen[-1]["prompt"] == "from the second server"
