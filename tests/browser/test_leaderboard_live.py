"""The leaderboard right after a vote: the ratings at once, the intervals marked updating, then put in place by
themselves when the background has worked them out — without reloading the page."""
from playwright.sync_api import expect


def test_the_intervals_arrive_in_place_after_a_vote_without_a_reload(page, live_app):
    client = live_app.app.test_client()
    for winner in ("A", "B", "A"):
        started = client.post("/api/arena", json={"prompt": "a red fox", "size": "256x256",
                                                  "contenders": [{"model": "flux"}, {"model": "sdxl-turbo"}]})
        assert client.post(f"/api/arena/{started.get_json()['id']}/vote", json={"winner": winner}).status_code == 200
    page.goto(live_app.url + "/arena/leaderboard")
    page.evaluate("window.sameDocument = true")
    expect(page.locator(".leaderboard-table tbody tr")).to_have_count(2)
    expect(page.locator("#standings")).to_have_attribute("data-updating", "false", timeout=30_000)
    expect(page.locator(".standing-interval").first).to_contain_text("±")
    expect(page.locator("#standings")).not_to_contain_text("updating")
    assert page.evaluate("window.sameDocument") is True
