"""Real headless Chromium (Debian's) driven by Playwright, against the app served by waitress on loopback.

Without Playwright installed these tests are skipped (the rest of the suite does not need it).
"""
import os

import pytest

sync_api = pytest.importorskip("playwright.sync_api", reason="the browser tests need Playwright: "
                                                             "pip install -r requirements-dev.txt")

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]


@pytest.fixture(scope="session")
def browser():
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"The browser tests need Debian's Chromium at {CHROMIUM}: apt-get install -y chromium")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def live_app(tmp_path, make_app, serve_app, demo_server):
    return serve_app(make_app(tmp_path, demo_server.api_base, WTF_CSRF_ENABLED=True))


@pytest.fixture
def new_context(browser, serve_app):
    """Opens a browser context (`new_context(viewport=..., is_mobile=...)`); all are closed when the test ends,
    before the apps they show stop (an open page would otherwise see its server vanish, its stream reconnecting)."""
    opened = []

    def open_context(**options):
        opened.append(browser.new_context(**options))
        return opened[-1]

    yield open_context
    for context in opened:
        context.close()


def _is_script_error(message) -> bool:
    """Console errors (script errors, CSP refusals), except Chromium's note that a request answered 4xx or 5xx:
    the tests ask for those on purpose (bad input, a failing image server)."""
    return message.type == "error" and "the server responded with a status of" not in message.text


@pytest.fixture
def page(new_context):
    """A fresh page at 1366×768 that fails the test on any JavaScript error or console error.

    Give page.wait_for_function an arrow function ("() => scrollY > 200"), never a bare expression: Playwright
    polls a bare expression with eval, which the pages' Content-Security-Policy refuses ('unsafe-eval'), so such a
    wait passes only when its condition already holds at the first look."""
    page = new_context(viewport={"width": 1366, "height": 768}).new_page()
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    page.on("console", lambda message: _is_script_error(message) and page.errors.append(message.text))
    yield page
    page.context.close()
    assert page.errors == []

