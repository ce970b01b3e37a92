"""A rate-limited result, in real Chromium: Try again waits out the server's Retry-After, then asks again."""
import json

import pytest
from playwright.sync_api import expect

from tests.support import png_base64

GEN = "/v1/images/generations"


def rate_limited(handler):
    body = json.dumps({"error": {"message": "No deployments available for selected model"}}).encode()
    handler.send_response(429)
    for name, value in (("Content-Type", "application/json"), ("Retry-After", "2"), ("Content-Length", str(len(body)))):
        handler.send_header(name, value)
    handler.end_headers()
    handler.wfile.write(body)


@pytest.fixture
def limited(make_app, serve_app, tmp_path, fake_server):
    fake_server.on_call("POST", GEN, rate_limited)
    return serve_app(make_app(tmp_path, fake_server.api_base, TIMEOUT=5, WTF_CSRF_ENABLED=True))


def test_try_again_waits_out_the_rate_limit_then_generates(page, limited, fake_server):
    page.goto(limited.url)
    page.fill("#prompt", "a lighthouse")
    page.click("#generate-button")
    expect(page.locator(".error-card")).to_contain_text("Rate limited — try again in 2 s")
    retry = page.locator("button[data-retry-after]")
    expect(retry).to_be_disabled()
    expect(retry).to_contain_text("Try again in")
    fake_server.on_generate(json_body={"data": [{"b64_json": png_base64()}]})
    expect(retry).to_be_enabled(timeout=5_000)
    expect(retry).to_have_text("Try again")
    retry.click()
    expect(page.locator(".image-card")).to_have_count(1, timeout=15_000)
