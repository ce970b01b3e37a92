"""The pages and the JSON API, through Flask's test client, against the real demo server."""
import json
import re

import pytest

from app import close_app
from tests.support import free_port

IMG_SRC = re.compile(r'<img src="(/images/[0-9a-f]{64}\.png)"')


def generate(client, **fields):
    return client.post("/generate", data={"prompt": "hello world user", "model": "flux", **fields})


def test_form_starts_with_flux_and_no_response_format(client):
    page = client.get("/").get_data(as_text=True)
    assert 'name="model" value="flux"' in page
    assert '<option value="" selected>none (server default)</option>' in page
    for name in ("prompt", "response_format", "n", "size", "seed", "negative_prompt"):
        assert f'name="{name}"' in page


def test_submitting_redirects_to_a_permalink_so_refresh_never_resubmits(client):
    response = generate(client)
    assert response.status_code == 303
    assert re.fullmatch(r"/generations/\d+", response.headers["Location"])


@pytest.mark.parametrize("response_format", ["", "url", "b64_json"])
def test_image_is_shown_beside_the_raw_json(client, response_format):
    page = generate(client, response_format=response_format, n="2").headers["Location"]
    html = client.get(page).get_data(as_text=True)
    assert len(IMG_SRC.findall(html)) == 2
    assert 'id="raw-json"' in html and "&#34;data&#34;" in html
    assert "PNG · 1024×1024" in html
    assert 'id="request-json"' in html and "&#34;prompt&#34;: &#34;hello world user&#34;" in html


def test_long_base64_is_shortened_in_the_view_but_whole_in_the_download(client):
    location = generate(client, response_format="b64_json").headers["Location"]
    html = client.get(location).get_data(as_text=True)
    assert re.search(r"iVBORw0KGgo[A-Za-z0-9+/]+… \[[\d,]+ characters\]", html)
    assert len(html) < 40_000
    raw = client.get(location + "/raw.json")
    assert raw.headers["Content-Disposition"].startswith("attachment")
    body = json.loads(raw.data)
    assert len(body["data"][0]["b64_json"]) > 100_000


def test_images_are_served_with_the_type_pillow_detected(client):
    html = client.get(generate(client, response_format="b64_json").headers["Location"]).get_data(as_text=True)
    image = client.get(IMG_SRC.search(html)[1])
    assert image.status_code == 200
    assert image.mimetype == "image/png" and image.data.startswith(b"\x89PNG")
    assert image.headers["X-Content-Type-Options"] == "nosniff"


def test_unknown_image_hash_is_not_found(client):
    assert client.get("/images/" + "0" * 64 + ".png").status_code == 404
    assert client.get("/images/..%2f..%2fsecret_key").status_code == 404


def test_blank_prompt_is_refused_and_the_form_keeps_what_was_typed(client):
    response = client.post("/generate", data={"prompt": "   ", "model": "dall-e-3", "size": "512x512",
                                              "response_format": "b64_json"})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "Write a prompt: it cannot be blank." in html
    assert 'value="dall-e-3"' in html and 'value="512x512"' in html
    assert '<option value="b64_json" selected>' in html


def test_bad_number_of_images_keeps_the_prompt(client):
    html = client.post("/generate", data={"prompt": "a <b>bold</b> cat", "n": "lots"}).get_data(as_text=True)
    assert "The number of images must be a whole number." in html
    assert "a &lt;b&gt;bold&lt;/b&gt; cat</textarea>" in html


def test_prompt_is_escaped_on_the_result_page(client):
    location = client.post("/generate", data={"prompt": "<script>alert(1)</script>"}).headers["Location"]
    html = client.get(location).get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_api_generate_returns_the_normalized_result(client):
    response = client.post("/api/generate", json={"model": "flux", "prompt": "hello world user",
                                                  "response_format": "b64_json"})
    assert response.status_code == 200
    body = response.get_json()
    assert body["error"] is None and body["upstream_status"] == 200 and body["id"] >= 1
    assert body["request"] == {"model": "flux", "prompt": "hello world user", "response_format": "b64_json"}
    [image] = body["images"]
    assert image["src"].startswith("/images/") and image["source"] == "b64_json"
    assert (image["format"], image["width"], image["height"]) == ("PNG", 1024, 1024)
    assert client.get(image["src"]).status_code == 200
    assert body["raw"]["data"][0]["b64_json"].endswith("characters]")
    assert body["elapsed"] > 0


@pytest.mark.parametrize("data, content_type, status, words", [
    (b"{not json", "application/json", 400, "not valid JSON (line 1, column 2)"),
    (b'["a list"]', "application/json", 400, "must be a JSON object"),
    (b"\xff\xfe\x00", "application/json", 400, "not UTF-8"),
    (b"prompt=cat", "application/x-www-form-urlencoded", 415, "Content-Type: application/json"),
    (b'{"prompt": ""}', "application/json", 400, "cannot be blank"),
    (b'{"prompt": "cat", "n": 99}', "application/json", 400, "between 1 and 10"),
    (b'{"prompt": "cat", "response_format": "png"}', "application/json", 400, "none, \"url\" or \"b64_json\""),
])
def test_api_bad_input_gets_a_clear_4xx(client, data, content_type, status, words):
    response = client.post("/api/generate", data=data, content_type=content_type)
    assert response.status_code == status
    assert words in response.get_json()["error"]["message"]


def test_api_refuses_a_foreign_origin(client):
    response = client.post("/api/generate", json={"prompt": "cat"}, headers={"Origin": "http://evil.example"})
    assert response.status_code == 403
    assert client.post("/api/generate", json={"prompt": "cat"},
                       headers={"Origin": "http://localhost"}).status_code == 200


def test_healthz_says_whether_the_image_server_answers(make_app, client, tmp_path):
    assert client.get("/healthz").get_json()["image_server"]["answers"] is True
    down = make_app(tmp_path / "other", f"http://127.0.0.1:{free_port()}/v1").test_client()
    health = down.get("/healthz").get_json()
    assert health["app"] == "ok" and health["image_server"]["answers"] is False


def test_api_key_never_appears_in_pages_or_api_answers(make_app, tmp_path, demo_server):
    client = make_app(tmp_path, demo_server.api_base, API_KEY="sk-very-secret").test_client()
    location = generate(client).headers["Location"]
    answers = [client.get("/").data, client.get(location).data, client.get("/generations").data,
               client.post("/api/generate", json={"prompt": "x"}).data, client.get("/healthz").data]
    assert not any(b"sk-very-secret" in answer for answer in answers)


def test_unknown_page_is_a_friendly_404(client):
    response = client.get("/generations/999")
    assert response.status_code == 404
    assert "There is nothing at this address" in response.get_data(as_text=True)
    assert client.get("/api/generations/999").get_json()["error"]["kind"] == "not_found"


def test_security_headers_on_every_page(client):
    for path in ("/", "/generations", "/healthz", "/nope"):
        headers = client.get(path).headers
        csp = headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp and "object-src 'none'" in csp and "frame-ancestors 'none'" in csp
        assert "img-src 'self' data: blob:" in csp and "unsafe-inline" not in csp
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "same-origin"


def test_form_without_csrf_token_is_refused_and_keeps_the_prompt(make_app, tmp_path, demo_server):
    client = make_app(tmp_path, demo_server.api_base, WTF_CSRF_ENABLED=True).test_client()
    response = client.post("/generate", data={"prompt": "my careful prompt"})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "The form had expired" in html and "my careful prompt</textarea>" in html
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/").get_data(as_text=True))[1]
    assert client.post("/generate", data={"prompt": "cat", "csrf_token": token}).status_code == 303
    compare = client.post("/compare", data={"prompt": "two models", "target_model": ["flux", "sdxl-turbo"]})
    assert compare.status_code == 400 and 'value="sdxl-turbo"' in compare.get_data(as_text=True)
    assert client.post("/generations/1/delete").status_code == 400
    assert client.get("/generations/1").status_code == 200  # still there


def test_settings_come_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("OPENAI_BASE_URL", "http://example.invalid/v1")
    monkeypatch.setenv("PROOFSHEET_API_BASE", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("OPENAI_API_KEY", "from-openai")
    monkeypatch.setenv("PROOFSHEET_TIMEOUT", "12")
    monkeypatch.setenv("PROOFSHEET_DATA", str(tmp_path / "here"))
    from app import create_app

    app = create_app({"TESTING": True})
    assert app.config["API_BASE"] == "http://127.0.0.1:9/v1"
    assert app.config["TIMEOUT"] == 12.0
    assert (tmp_path / "here" / "proofsheet.sqlite3").exists()
    close_app(app)


@pytest.mark.parametrize("environment, sent", [
    ({"OPENAI_API_KEY": "sk-for-openai"}, None),  # gpt4free, the default: not the server the key is for
    ({"OPENAI_API_KEY": "sk-for-openai", "PROOFSHEET_API_BASE": "http://127.0.0.1:9/v1"}, None),
    ({"OPENAI_API_KEY": "sk-for-openai", "PROOFSHEET_API_BASE": "https://api.openai.com/v1"}, "sk-for-openai"),
    ({"OPENAI_API_KEY": "sk-for-proxy", "OPENAI_BASE_URL": "http://127.0.0.1:9/v1"}, "sk-for-proxy"),
    ({"OPENAI_API_KEY": "sk-for-openai", "PROOFSHEET_API_KEY": "sk-proofsheet"}, "sk-proofsheet"),
])
def test_openai_api_key_goes_only_to_the_server_it_was_set_for(monkeypatch, tmp_path, environment, sent):
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "PROOFSHEET_API_BASE", "PROOFSHEET_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("PROOFSHEET_DATA", str(tmp_path / "here"))
    from app import create_app

    app = create_app({"TESTING": True})
    sent_with_each_call = app.extensions["servers"].default.client.relay_headers(None, None).get("Authorization")
    assert sent_with_each_call == (f"Bearer {sent}" if sent else None)
    close_app(app)


def test_a_long_prompt_is_shown_whole_in_the_request_and_base64_is_shortened(client):
    prompt = "A lighthouse on a cliff at dawn, " * 60  # 1,980 characters of prose
    answer = client.post("/api/generate", json={"prompt": prompt, "model": "gpt-image-1"})
    page = client.get(f"/generations/{answer.get_json()['id']}").get_data(as_text=True)
    request_view = page[page.index('id="request-json"'):page.index("</pre>", page.index('id="request-json"'))]
    assert prompt.strip() in request_view
    raw_view = page[page.index('id="raw-json"'):]
    assert "characters]" in raw_view and "iVBOR" in raw_view  # the image's base64, shortened
    assert 'data-copy-what="curl"' in page  # a request this size is still copied from the page
