"""What LiteLLM, gpt4free and FastAPI servers say, read as a person needs it: their error shapes unwrapped to their
words, a rate limit with when to try again, a usage of zeros not shown as tokens, health that quotes the server, and
a url item that came as a data: URI noted."""
import base64
import email.utils
import json
import re
import time

import pytest

from tests.support import png_base64, png_bytes

GEN = "/v1/images/generations"
COOLDOWN = ("No deployments available for selected model, Try again in 5 seconds. Passed model=painter. "
            "pre-call-checks=False, cooldown_list=[('d1', {'exception_received': 'RateLimitError'})]")


def answer(status, json_body, **headers):
    """An answer with headers of its own (Retry-After), on a real socket."""
    body = json.dumps(json_body).encode()

    def respond(handler):
        handler.send_response(status)
        for name, value in {"Content-Type": "application/json", "Content-Length": str(len(body)), **headers}.items():
            handler.send_header(name.replace("_", "-"), value)
        handler.end_headers()
        handler.wfile.write(body)
    return respond


# (name, the server's answer, error kind, the words the person reads)
SERVER_WORDS = [
    ("429 with Retry-After", answer(429, {"error": {"message": "Rate limit reached for images"}}, Retry_After="7"),
     "rate_limited", "Rate limited — try again in 7 s. The image server answered 429 Too Many Requests: "
                     "Rate limit reached for images"),
    ("429 with Retry-After as a date",
     lambda handler: answer(429, {"error": "Too many requests"},  # dated when it answers, not when collected
                            Retry_After=email.utils.formatdate(time.time() + 35, usegmt=True))(handler),
     "rate_limited", "Rate limited — try again in 3"),  # 34 or 35 s, as the clock turns
    ("LiteLLM's cooldown", answer(429, {"error": {"message": COOLDOWN, "type": "None", "param": "None", "code": "429"}}),
     "rate_limited", "Rate limited — try again in 5 s. The image server answered 429 Too Many Requests: No deployments"),
    ("a cooldown that names no time", answer(429, {"detail": "Deployment in cooldown"}),
     "rate_limited", "Rate limited — try again in 5 s. The image server answered 429 Too Many Requests: "
                     "Deployment in cooldown"),
    ("OpenAI's fractional wait", answer(429, {"error": {"message": "Please try again in 1.5s."}}),
     "rate_limited", "Rate limited — try again in 2 s."),
    ("a 429 that is no rate limit", answer(429, {"error": {"message": "You exceeded your current quota"}}),
     "http_error", "The image server answered 429 Too Many Requests: You exceeded your current quota"),
    ("an error string", answer(400, {"error": "Invalid model name passed in model=painter"}),
     "http_error", "The image server answered 400 Bad Request: Invalid model name passed in model=painter"),
    ("a detail string", answer(500, {"detail": "litellm.APIConnectionError: connection refused"}),
     "http_error", "answered 500 Internal Server Error: litellm.APIConnectionError: connection refused"),
    ("an error message object", answer(400, {"error": {"message": "No connected db.", "type": "no_db_connection"}}),
     "http_error", "The image server answered 400 Bad Request: No connected db."),
    ("an error object holding an error string", answer(401, {"error": {"error": "Authentication Error, bad key"}}),
     "http_error", "answered 401 Unauthorized: Authentication Error, bad key"),
]


@pytest.mark.parametrize("name, respond, kind, words", SERVER_WORDS, ids=[row[0] for row in SERVER_WORDS])
def test_the_servers_words_are_what_the_person_reads(fake_client, fake_server, name, respond, kind, words):
    fake_server.on_call("POST", GEN, respond)
    error = fake_client.post("/api/generate", json={"prompt": "a cat"}).get_json()["error"]
    assert error["kind"] == kind and words in error["message"]
    assert "{" not in error["message"].split(":", 1)[1][:3]  # the words, not the JSON around them


def test_a_rate_limited_generation_answers_429_with_the_servers_wait_for_programs(fake_client, fake_server):
    fake_server.on_call("POST", GEN, answer(429, {"error": {"message": COOLDOWN}}))
    answered = fake_client.post("/api/generate", json={"prompt": "a cat"})
    assert answered.status_code == 429 and answered.headers["Retry-After"] == "5"
    assert answered.get_json()["error"]["kind"] == "rate_limited"


def test_a_rate_limited_result_offers_to_try_again_once_the_wait_is_over(fake_client, fake_server):
    fake_server.on_call("POST", GEN, answer(429, {"error": {"message": COOLDOWN}}))
    page = fake_client.post("/generate", data={"prompt": "a cat"}, follow_redirects=True).get_data(as_text=True)
    assert "The image server is rate limited" in page and "try again in 5 s" in page
    retry = re.search(r'<form method="post" action="(/generations/(\d+)/rerun)"[^>]*>\s*<input[^>]*>\s*'
                      r'<button type="submit" data-retry-after="5">Try again</button>', page)
    assert retry, page
    fake_server.on_generate(json_body={"data": [{"b64_json": png_base64()}]})
    again = fake_client.post(retry[1], follow_redirects=True).get_data(as_text=True)
    assert 'class="image-card"' in again and len(fake_server.received) == 2


def test_a_failure_that_is_no_rate_limit_offers_no_timed_retry(fake_client, fake_server):
    fake_server.on_generate(status=400, json_body={"error": "bad prompt"})
    page = fake_client.post("/generate", data={"prompt": "a cat"}, follow_redirects=True).get_data(as_text=True)
    assert "data-retry-after" not in page


@pytest.mark.parametrize("usage, shown", [
    ({"input_tokens": 0, "output_tokens": 0, "total_tokens": 0}, None),  # LiteLLM's, on a DALL·E answer
    ({"input_tokens": 0, "output_tokens": 0, "input_tokens_details": {"text_tokens": 0}}, None),
    ({"input_tokens": 12, "output_tokens": 0}, "12 in · 0 out"),
])
def test_a_usage_of_zeros_is_not_shown_as_tokens(fake_client, fake_server, usage, shown):
    fake_server.on_generate(json_body={"created": 1, "data": [{"b64_json": png_base64()}], "usage": usage})
    page = fake_client.post("/generate", data={"prompt": "a cat", "model": "dall-e-2"},
                            follow_redirects=True).get_data(as_text=True)
    generation = fake_client.get("/api/generations").get_json()["generations"][0]
    kept = fake_client.get(f"/api/generations/{generation['id']}").get_json()
    if shown:
        assert shown in page and kept["usage"] == usage
    else:
        assert 'class="usage"' not in page and kept["usage"] is None
        raw = fake_client.get(f"/generations/{generation['id']}/raw.json").get_json()
        assert raw["usage"] == usage  # the answer itself is kept as it came


@pytest.mark.parametrize("reply, words", [
    (answer(400, {"error": {"message": "No connected db.", "type": "no_db_connection", "code": "400"}}),
     "answers, but not as an OpenAI images API (GET /models gave 400 Bad Request: No connected db.)"),
    (answer(500, {"detail": "Internal error: config not loaded"}),
     "(GET /models gave 500 Internal Server Error: Internal error: config not loaded)"),
    (answer(200, {"object": "list"}), "(GET /models gave JSON without a model list)"),
    (answer(404, {"detail": "Not Found"}), "(GET /models gave 404 Not Found)."),
])
def test_health_and_the_servers_page_quote_the_server_when_models_fail(make_app, tmp_path, fake_server, reply, words):
    fake_server.on_call("GET", "/v1/models", reply)
    client = make_app(tmp_path, fake_server.api_base).test_client()
    assert words in client.get("/healthz").get_json()["image_server"]["error"]
    client.get("/api/servers/default/health")
    assert words.replace('"', "&#34;") in client.get("/servers").get_data(as_text=True)


@pytest.mark.parametrize("key, words", [
    (None, "it refused the API key (PROOFSHEET_API_KEY, which is not set). It said: Authentication Error"),
    ("sk-wrong-0000", "it refused the API key (PROOFSHEET_API_KEY). It said: Authentication Error"),
])
def test_a_refused_key_names_the_variable_the_server_reads(make_app, tmp_path, fake_server, key, words):
    fake_server.on_call("GET", "/v1/models", answer(401, {"error": {"message": "Authentication Error, sk-wrong-0000"}}))
    client = make_app(tmp_path, fake_server.api_base, API_KEY=key).test_client()
    health = client.get("/healthz").get_json()["image_server"]
    assert health["state"] == "key_refused" and words in health["error"]
    assert key is None or key not in health["error"]  # the server echoed it: masked


def test_a_named_server_says_its_own_variable(make_app, tmp_path, demo_server, fake_server, monkeypatch):
    monkeypatch.delenv("PROOFSHEET_API_KEY_LITE", raising=False)
    fake_server.on_call("GET", "/v1/models", answer(401, {"error": {"message": "No api key passed in."}}))
    client = make_app(tmp_path, demo_server.api_base, SERVERS=[("lite", fake_server.api_base)]).test_client()
    health = client.get("/healthz?server=lite").get_json()["image_server"]
    assert "(PROOFSHEET_API_KEY_LITE, which is not set). It said: No api key passed in." in health["error"]


def test_a_server_added_with_a_key_variable_names_it_when_the_key_is_refused(make_app, tmp_path, fake_server, monkeypatch):
    monkeypatch.setenv("LITELLM_TEST_KEY", "sk-test-1111")
    fake_server.on_generate(json_body={"data": [{"b64_json": png_base64()}]})
    fake_server.on_call("GET", "/v1/models", answer(200, {"data": [{"id": "painter"}]}))
    client = make_app(tmp_path, fake_server.api_base).test_client()
    added = client.post("/api/servers", json={"name": "lite", "api_base": fake_server.api_base,
                                              "api_key_env": "LITELLM_TEST_KEY"})
    assert added.status_code < 300, added.get_data(as_text=True)
    fake_server.on_call("GET", "/v1/models", answer(401, {"error": {"message": "key expired"}}))
    health = client.get("/healthz?server=lite").get_json()["image_server"]
    assert "it refused the API key ($LITELLM_TEST_KEY). It said: key expired" in health["error"]


@pytest.mark.parametrize("asked, noted", [
    ("url", ["Asked for a url, came as a data: URI (the image itself, not a link)."]),
    ("b64_json", ["Asked for b64_json, came as a url."]),
    ("", []),  # nothing asked: the server's default, whatever it is
])
def test_a_url_item_that_came_as_a_data_uri_is_noted(fake_client, fake_server, asked, noted):
    data_uri = "data:image/png;base64," + base64.b64encode(png_bytes()).decode()
    fake_server.on_generate(json_body={"data": [{"url": data_uri}]})
    result = fake_client.post("/api/generate", json={"prompt": "a cat", "response_format": asked or None}).get_json()
    assert result["status"] == "ok"
    assert [note["message"] for note in result["notes"]] == noted
    assert result["images"][0]["source"] == "data_uri"
