"""Real headless Chromium (Debian's) driven by Playwright, against the app served by waitress on loopback."""
import os
import threading

import pytest
from playwright.sync_api import sync_playwright
from waitress.server import create_server

from app import WAITRESS_LOOKAHEAD, WAITRESS_OUTBUF
from tests.conftest import make_app

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]


_open_contexts = []  # browser contexts of the current test, closed before its app stops


class LiveApp:
    """The app on a real socket, as a person's browser reaches it."""

    def __init__(self, app, port=0):
        self.app = app
        self.server = create_server(app, host="127.0.0.1", port=port, threads=8, asyncore_use_poll=True,
                                    channel_request_lookahead=WAITRESS_LOOKAHEAD, **WAITRESS_OUTBUF)
        self.url = f"http://127.0.0.1:{self.server.effective_port}"
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()

    def stop(self):
        # Pages first: an open page would otherwise see the server vanish (its live stream reconnecting).
        while _open_contexts:
            _open_contexts.pop().close()
        self.server.close()
        # Its threads end (a page still open ends its live stream within a second), and their database handles too.
        self.server.task_dispatcher.shutdown(timeout=0.5)


@pytest.fixture(scope="session")
def browser():
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"The browser tests need Debian's Chromium at {CHROMIUM}: apt-get install -y chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def live_app(tmp_path, demo_server):
    live = LiveApp(make_app(tmp_path, demo_server.api_base, WTF_CSRF_ENABLED=True))
    yield live
    live.stop()


def _is_script_error(message) -> bool:
    """Console errors (script errors, CSP refusals), except Chromium's note that a request answered 4xx or 5xx:
    the tests ask for those on purpose (bad input, a failing image server)."""
    return message.type == "error" and "the server responded with a status of" not in message.text


@pytest.fixture
def page(browser):
    """A fresh page at 1366×768 that fails the test on any JavaScript error or console error."""
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    _open_contexts.append(context)
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    page.on("console", lambda message: _is_script_error(message) and page.errors.append(message.text))
    yield page
    if context in _open_contexts:
        _open_contexts.remove(context)
        context.close()
    assert page.errors == []
