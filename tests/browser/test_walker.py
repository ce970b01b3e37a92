"""The walker: every visible button and link on every page state, clicked as a person clicks (Playwright's real click
on the visible element), at 1366×768 and on a 390×844 phone, in both themes. A control that changes nothing (no
navigation, no new tab, no request, no visible change, no download) fails the test; so does, on the phone, a control
too small to tap (under 44 px either way: page_states.SMALL_CONTROLS), measured on each state as it opens.

Sampling, to keep the run short: each state is walked twice, at 1366×768 and on the phone, in opposite themes
(alternating from state to state, so each theme sees every size); a control is clicked once per size, the first time
it is met: the same link or button on another state (the header's, a card's link with another number) is not clicked
again, and a link to an image (a thumbnail, a Download) is clicked once per state, not once per image. The states of a
size are walked in one tab, as a person goes from page to page (its session storage cleared on the way, its theme
switched), which costs a page load, not a new browser context. Requests that would change the history (any POST) are
recorded and answered 204 without reaching the app, so a Delete or a vote does not spoil the states still to walk, and
a link's page load is recorded and answered 204 the same way (the page stays: no reload of the state before the next
click); the request is what shows the control is alive."""
import json
import re
import time

import pytest

from tests.browser.page_states import LAPTOP, PHONE, SMALL_CONTROLS, made_states, open_state

CONTROLS = "a[href], button, summary, [role=button], input[type=checkbox]"
SECONDS_TO_RESPOND = 3  # only a dead control waits this long; a loaded machine can take over a second to open a tab
QUIET = re.compile(r"/(healthz|api/events)\b")  # the header's health check and the live stream come by themselves

SNAPSHOT = """() => {
  const header = document.getElementById('server-status')?.innerText || '';
  const parts = [location.href, scrollX, scrollY, !!document.fullscreenElement, document.title,
                 document.body.innerText.replace(header, '')];
  for (const canvas of document.querySelectorAll('canvas')) parts.push(canvas.toDataURL());  // a painted mask
  for (const element of document.querySelectorAll('*')) {
    parts.push(element.open ?? '', element.checked ?? '', element.hidden, element.className,
               element.getAttribute('aria-pressed') || '', element.getAttribute('aria-expanded') || '');
  }
  return parts.join('\\u0001');
}"""

VISIBLE_CONTROLS = """(selector) => [...document.querySelectorAll(selector)].map((element, index) => {
  const box = element.getBoundingClientRect();
  const style = getComputedStyle(element);
  const shown = box.width > 0 && box.height > 0 && style.visibility !== 'hidden' && !element.disabled &&
                !element.closest('[hidden], [inert]');
  const text = (element.innerText || element.getAttribute('aria-label') || element.title || element.value || '').trim();
  const href = (element.getAttribute('href') || '').replace(/\\/images\\/[^/?#]+/, '/images/IMAGE')
    .replace(/\\d+/g, 'N');  // an image's address is its hash: every image of a state is the same control
  if (!shown) return null;
  const key = `${element.tagName} ${text.replace(/\\d+/g, 'N').replace(/\\s+/g, ' ').slice(0, 60)} ${href}`;
  element.dataset.walk = key;  // found again by what it is, even when a live list has moved it or put a new one
  return key;
}).filter(Boolean)"""


class Watcher:
    """What a click set off: requests (POSTs answered 204 here), navigations, downloads."""

    def __init__(self, page):
        self.page, self.requests, self.navigations, self.downloads = page, [], 0, 0
        self.holding = False  # once a state is open, a click's page load is recorded and held (cheaper than a reload)
        # this tab's requests only: routing the context's (a new tab's too) made each click wait about 2 s here
        page.route(lambda url: not QUIET.search(url), self._route)
        page.on("framenavigated", lambda frame: frame == page.main_frame and self._navigated())
        page.on("download", lambda download: self._downloaded())
        page.on("popup", self._opened)  # a link to a new tab (a contact sheet): the tab is what a person sees
        # and its first request, seen as it is sent: the popup event waits for the tab's page to arrive, seconds later
        # on a loaded machine when the page is a contact sheet still being drawn
        page.context.on("request", self._asked)

    def _route(self, route):
        request = route.request
        if not QUIET.search(request.url):
            self.requests.append(f"{request.method} {request.url}")
        held = self.holding and request.is_navigation_request()  # the pages have no frames: it is the tab's own
        if request.method == "GET" and not held:
            route.continue_()
        else:
            route.fulfill(status=204)

    def _asked(self, request):
        try:
            elsewhere = request.frame.page != self.page
        except Exception:  # a new tab's first request can come before its frame exists
            elsewhere = True
        if elsewhere:
            self.requests.append(f"new tab: {request.method} {request.url}")

    def _navigated(self):
        self.navigations += 1

    def _opened(self, popup):
        self.navigations += 1
        popup.close()

    def _downloaded(self):
        self.downloads += 1

    def mark(self) -> tuple[int, int, int]:
        return len(self.requests), self.navigations, self.downloads


def click_and_see(page, watcher, key: str) -> bool:
    """True when clicking the control did something a person would notice."""
    control = page.locator(f"[data-walk={json.dumps(key, ensure_ascii=False)}]").first
    if not control.count():
        page.evaluate(VISIBLE_CONTROLS, CONTROLS)  # put back, re-rendered by the page: named again
    if not control.is_visible():  # hidden by what the last click did (a list, a dialog, a page it replaced)
        raise LookupError("not visible now")
    before_page, before_events = page.evaluate(SNAPSHOT), watcher.mark()
    control.click(timeout=1500)
    deadline = time.monotonic() + SECONDS_TO_RESPOND
    while True:  # looked at at once (most controls answer within the click), then every 50 ms
        if watcher.mark() != before_events:
            return True
        try:
            if page.evaluate(SNAPSHOT) != before_page:
                return True
        except Exception:  # the page is navigating away: that is doing something
            return True
        if time.monotonic() > deadline:
            return False
        page.wait_for_timeout(50)


def needs_fresh_page(page, url: str) -> bool:
    return page.url.split("#")[0] != url.split("#")[0] or page.evaluate(
        "!!document.querySelector('dialog[open]') || !!document.fullscreenElement")


def fresh(page, watcher, base_url: str, state) -> None:
    """The state as first met, every <details> open so what it holds is clicked too, each control named."""
    watcher.holding = False
    open_state(page, base_url, state)
    if page.evaluate("sessionStorage.getItem('proofsheet-stage') === '1' && !location.search.includes('stage=1')"):
        # the stage view, left on by a click before: as first met, it is off
        page.evaluate("sessionStorage.clear()")
        open_state(page, base_url, state)
    page.evaluate("document.querySelectorAll('details').forEach((d) => { d.open = true; })")
    page.evaluate(VISIBLE_CONTROLS, CONTROLS)
    watcher.holding = True


def walk(browser, live, states, viewport, theme_of) -> list[str]:
    """Clicks every visible control of every state; what did nothing (and, on a phone, what is too small to tap)."""
    dead, seen = [], set()
    context = browser.new_context(viewport=viewport, has_touch=viewport == PHONE, accept_downloads=True)
    page = context.new_page()
    watcher = Watcher(page)
    try:
        for number, state in enumerate(states):
            if page.url.startswith(live.url):
                page.evaluate("sessionStorage.clear()")  # the next state as first met: no stage view left on
            page.emulate_media(color_scheme=theme_of(number))
            fresh(page, watcher, live.url, state)
            url = page.url
            if viewport == PHONE:
                dead += [f"{state.name} @ phone: too small to tap: {small}" for small in page.evaluate(SMALL_CONTROLS)]
            for key in page.evaluate(VISIBLE_CONTROLS, CONTROLS):
                if key in seen or (state.name, key) in seen:
                    continue
                seen.add((state.name, key) if "/images/IMAGE" in key else key)
                if needs_fresh_page(page, url):
                    fresh(page, watcher, live.url, state)
                try:
                    alive = click_and_see(page, watcher, key)
                except Exception:  # covered by what the last click opened (a list, a dialog), or replaced by it
                    fresh(page, watcher, live.url, state)  # so: as a person finds the page, once more
                    try:
                        alive = click_and_see(page, watcher, key)
                    except Exception as error:  # a person could not click it either
                        alive, key = False, f"{key} ({str(error).splitlines()[0][:80]})"
                if not alive:
                    dead.append(f"{state.name} @ {viewport['width']}: {key}")
    finally:
        context.close()
    return dead


@pytest.mark.parametrize("viewport", [LAPTOP, PHONE], ids=["1366x768", "390x844"])
def test_every_visible_control_does_something(browser, live_app, viewport):
    states = made_states(live_app.app)
    first, second = ("light", "dark") if viewport == LAPTOP else ("dark", "light")
    dead = walk(browser, live_app, states, viewport, lambda number: first if number % 2 == 0 else second)
    assert not dead, "\n".join(dead)
