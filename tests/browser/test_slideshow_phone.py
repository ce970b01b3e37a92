"""The slideshow on a phone: a swipe moves it, the count stays on one line, the caption and the controls are off the
image."""
from playwright.sync_api import expect


def swipe(page, from_x: int, to_x: int, y: int = 400) -> None:
    """A finger across the screen, as the phone's touch screen reports it."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": from_x, "y": y}]})
    for step in range(1, 6):
        x = from_x + (to_x - from_x) * step // 5
        cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [{"x": x, "y": y}]})
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})


def test_a_swipe_moves_the_slideshow_and_nothing_covers_the_image(new_context, live_app):
    group = live_app.app.test_client().post("/api/compare", json={
        "prompt": "a long caption for a phone, long enough to need two lines of its own on a narrow screen",
        "models": ["flux", "sdxl-turbo", "dall-e-3"], "size": "256x256"}).get_json()
    context = new_context(viewport={"width": 390, "height": 844}, has_touch=True, is_mobile=True)
    page = context.new_page()
    page.goto(live_app.url + f"/present?group={group['id']}")
    count = page.locator(".slide-count")
    expect(count).to_have_text("1 / 3")
    assert count.bounding_box()["height"] < 40  # one line
    image = page.locator(".slide:visible img").bounding_box()
    for covering in [".present-controls", ".slide:visible .slide-caption"]:
        assert page.locator(covering).bounding_box()["y"] >= image["y"] + image["height"] - 1, covering
    swipe(page, 320, 60)
    expect(count).to_have_text("2 / 3")
    swipe(page, 60, 320)
    expect(count).to_have_text("1 / 3")
