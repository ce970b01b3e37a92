"""Faults inside one process: echoed secrets, foreign host names, ids and text no database can hold, a server that
is not an images API, a model list that failed, descriptors, and a folder that stops taking writes."""
import base64
import errno
import io
import json
import logging
import os
import urllib.parse
import zipfile

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from proofsheet.history import files as files_module
from tests.support import free_port, png_base64

KEY = "sk-proj-Secret0123456789abcdef"


def echo_headers(handler):
    """A debug-minded server that echoes the request headers back, Authorization included."""
    headers = dict(handler.headers)
    body = json.dumps({"data": [{"b64_json": png_base64(), "revised_prompt": "seen: " + headers.get("Authorization", "")}],
                       "debug": {"headers": headers}}).encode()
    handler.send_response(200)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


def everything_a_person_can_see(client, generation_id):
    export = client.get(f"/generations/export?id={generation_id}").data
    with zipfile.ZipFile(io.BytesIO(export)) as archive:
        exported = b"".join(archive.read(name) for name in archive.namelist())
    return b"".join([
        client.get(f"/generations/{generation_id}").data, client.get(f"/generations/{generation_id}/raw.json").data,
        client.get("/generations").data, client.get("/").data, client.get("/api/generations").data,
        client.get(f"/api/generations/{generation_id}").data, client.get("/healthz").data, exported,
    ])


def test_a_key_the_server_echoes_back_is_hidden_everywhere(make_app, tmp_path, fake_server, caplog):
    fake_server.on_call("POST", "/v1/images/generations", echo_headers)
    client = make_app(tmp_path, fake_server.api_base, API_KEY=KEY).test_client()
    with caplog.at_level(logging.DEBUG):
        answer = client.post("/api/generate", json={"prompt": "echo"})
    assert answer.status_code == 200
    assert fake_server.received[0]["headers"]["Authorization"] == f"Bearer {KEY}"  # it was sent...
    seen = answer.data + everything_a_person_can_see(client, answer.get_json()["id"])
    assert KEY.encode() not in seen  # ...and is shown nowhere
    assert "Bearer sk-…(hidden)".encode() in seen
    assert KEY not in caplog.text


def test_a_key_echoed_in_an_error_is_hidden(make_app, tmp_path, fake_server):
    fake_server.on_generate(status=401, json_body={"error": {"message": f"Incorrect API key provided: {KEY}"}})
    client = make_app(tmp_path, fake_server.api_base, API_KEY=KEY).test_client()
    answer = client.post("/api/generate", json={"prompt": "echo"})
    assert answer.status_code == 502
    assert "Incorrect API key provided: sk-…(hidden)" in answer.get_json()["error"]["message"]
    assert KEY.encode() not in everything_a_person_can_see(client, answer.get_json()["id"])


def test_credentials_in_the_base_url_are_sent_but_never_shown(make_app, tmp_path, fake_server):
    fake_server.on_call("POST", "/v1/images/generations", echo_headers)
    base = fake_server.api_base.replace("http://", "http://alice:hunter22@")
    client = make_app(tmp_path, base).test_client()
    answer = client.post("/api/generate", json={"prompt": "basic"})
    sent = fake_server.received[0]["headers"]["Authorization"]
    assert sent == "Basic " + base64.b64encode(b"alice:hunter22").decode()
    seen = answer.data + everything_a_person_can_see(client, answer.get_json()["id"])
    assert b"hunter22" not in seen and sent.split()[1].encode() not in seen
    assert fake_server.api_base.encode() in client.get("/").data  # the header shows the URL without them
    assert client.get("/healthz").get_json()["image_server"]["url"] == fake_server.api_base


@pytest.mark.parametrize("host, served", [
    ("localhost:5000", True), ("127.0.0.1:5000", True), ("[::1]:5000", True), ("app.localhost", True),
    ("192.168.1.20:5000", True), ("evil.example", False), ("evil.example:5000", False),
    ("localhost.evil.example", False), ("demo.lan", False),
])
def test_only_loopback_names_and_addresses_are_served(client, host, served):
    for path in ("/", "/api/generations", "/healthz"):
        response = client.get(path, headers={"Host": host})
        assert (response.status_code != 400) is served, path
        if not served:
            assert "does not answer to the name" in response.get_data(as_text=True)
            assert "--allow-host" in response.get_data(as_text=True)


def test_a_name_the_person_allowed_is_served(make_app, tmp_path, demo_server):
    client = make_app(tmp_path, demo_server.api_base, ALLOWED_HOSTS=["demo.lan"]).test_client()
    assert client.get("/", headers={"Host": "demo.lan:5000"}).status_code == 200


@pytest.mark.parametrize("origin, allowed", [
    ("http://localhost:5000", True), ("http://127.0.0.1:5000", True),
    ("http://evil.example:5000", False), ("http://localhost:6000", False), ("null", False),
])
def test_the_api_takes_requests_only_from_pages_of_this_app(client, origin, allowed):
    response = client.get("/api/generations", headers={"Origin": origin}, environ_overrides={"SERVER_PORT": "5000"})
    assert (response.status_code == 200) is allowed
    if not allowed:
        assert response.get_json()["error"]["kind"] == "forbidden_origin"


HUGE = "99999999999999999999"


@pytest.mark.parametrize("method, path", [
    ("GET", f"/generations/{HUGE}"), ("GET", f"/generations/{HUGE}/raw.json"),
    ("GET", f"/generations/{HUGE}/fragment"), ("GET", f"/generations/{HUGE}/cell"),
    ("POST", f"/generations/{HUGE}/rerun"), ("POST", f"/generations/{HUGE}/delete"),
    ("GET", f"/compare/{HUGE}"), ("GET", f"/api/generations/{HUGE}"), ("DELETE", f"/api/generations/{HUGE}"),
    ("GET", "/generations/²"), ("GET", "/generations/%D9%A3"),
])
def test_ids_no_database_can_hold_are_simply_not_found(client, method, path):
    response = client.open(path, method=method)
    assert response.status_code == 404
    assert "nothing at this address" in response.get_data(as_text=True) or "no generation" in \
        response.get_data(as_text=True).lower()


@pytest.mark.parametrize("query", ["id=²", f"id={HUGE}", "id=-1", "id=%D9%A3"])
def test_export_of_ids_that_are_not_ids_says_choose_one(client, query):
    response = client.get(f"/generations/export?{query}")
    assert response.status_code == 400
    assert "Choose at least one generation" in response.get_data(as_text=True)


@pytest.mark.parametrize("path", [f"/?from={HUGE}", "/?from=²", f"/compare?from={HUGE}"])
def test_odd_from_values_show_the_plain_form(client, path):
    assert client.get(path).status_code == 200


SURROGATE = "\ud800"


@pytest.mark.parametrize("path, body", [
    ("/api/generate", {"prompt": "a " + SURROGATE}),
    ("/api/generate", {"prompt": "cat", "model": SURROGATE}),
    ("/api/generate", {"prompt": "cat", "negative_prompt": SURROGATE}),
    ("/api/generate", {"prompt": "cat", "client_ref": SURROGATE}),
    ("/api/compare", {"prompt": "cat", "models": ["flux", SURROGATE]}),
    ("/api/groups", {"prompt": SURROGATE, "models": ["flux", "sdxl"]}),
    ("/api/cancel", {"client_ref": SURROGATE}),
    ("/api/generate", {"prompt": "cat", SURROGATE: 1}),
])
def test_a_lone_surrogate_anywhere_is_refused_with_a_message(client, path, body):
    response = client.post(path, data=json.dumps(body), content_type="application/json")
    assert response.status_code == 400
    assert "lone UTF-16 surrogate" in response.get_json()["error"]["message"]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=8)
FIELDS = ["prompt", "model", "response_format", "n", "size", "seed", "negative_prompt", "client_ref", "models",
          "seeds", "group_id", "group_position", "server", "targets", "contenders", "category", "prompts", "prompt_sr",
          "y_axis", "y_values", "winner", "starred", "name", "target_model", "target_server"]
bodies = st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=10), json_values, max_size=6)
hypothesis_settings = settings(max_examples=150, deadline=None,
                               suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def message_of(response):
    if response.is_json:
        return response.get_json()["error"]["message"] if response.status_code >= 400 else "ok"
    return response.get_data(as_text=True)


@pytest.fixture
def unreachable_client(make_app, tmp_path):
    """Every valid request reaches for a server that refuses at once, so the fuzzing is fast."""
    return make_app(tmp_path, f"http://127.0.0.1:{free_port()}/v1").test_client()


@hypothesis_settings
@given(path=st.sampled_from(["/api/generate", "/api/compare", "/api/groups", "/api/cancel", "/api/arena",
                              "/api/prompts", "/api/generations/1/star", "/api/arena/1/vote"]), body=bodies)
def test_fuzzed_json_never_gets_a_5xx_and_always_a_message(unreachable_client, path, body):
    raw = json.dumps(body, ensure_ascii=True).encode()  # ASCII escapes carry any code point, surrogates included
    response = unreachable_client.post(path, data=raw, content_type="application/json")
    assert response.status_code < 500 or response.status_code in (502, 504)  # 502/504: the server's fault, said
    assert message_of(response).strip()


@hypothesis_settings
@given(path=st.sampled_from(["/generate", "/compare", "/arena"]),
       form=st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=10), st.text(max_size=50), max_size=6))
def test_fuzzed_forms_never_get_a_5xx_and_always_a_message(unreachable_client, path, form):
    response = unreachable_client.post(path, data=form)
    assert response.status_code < 500
    assert response.get_data(as_text=True).strip()


@hypothesis_settings
@given(segment=st.text(min_size=1, max_size=30).filter(lambda text: "/" not in text),
       query=st.text(max_size=30))
def test_fuzzed_addresses_never_get_a_5xx(unreachable_client, segment, query):
    for path in (f"/generations/{segment}", f"/compare/{segment}", f"/api/generations/{segment}",
                 f"/images/{segment}", f"/generations/export?id={query}", f"/?from={query}",
                 f"/generations?page={query}&q={query}", f"/api/generations?per_page={query}",
                 f"/arena/{segment}", f"/present?ids={query}", f"/present?group={query}&round={query}",
                 f"/compare/{segment}/contact-sheet.png", f"/generations/contact-sheet.html?id={query}",
                 f"/arena/leaderboard?category={query}", f"/generations?starred={query}&server={query}",
                 f"/api/models?server={query}", f"/healthz?server={query}", f"/api/servers/{segment}/health"):
        assert unreachable_client.get(path).status_code < 500, path


@hypothesis_settings
@given(path=st.text(min_size=1, max_size=40), method=st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE"]),
       body=st.binary(max_size=200), query=st.text(max_size=20))
def test_fuzzed_calls_to_v1_are_passed_on_or_refused_in_openais_shape_never_a_5xx_of_proofsheets(
        unreachable_client, path, method, body, query):
    """Any path below /v1 goes to the image server (here one that refuses at once: a 502 that says so) or is refused
    by Proofsheet with a message; never a crash, and always JSON a program can read."""
    response = unreachable_client.open("/v1/" + urllib.parse.quote(path.lstrip("/"), safe="/"), method=method,
                                       data=body, query_string={"q": query}, content_type="application/json")
    assert response.status_code < 500 or response.status_code == 502
    assert response.status_code >= 400 and response.get_json()["error"]["message"].strip()


# A server entry never reaches past loopback: its URL is a closed loopback port, or something that is not a URL.
server_urls = st.sampled_from(["http://127.0.0.1:9/v1", "ftp://127.0.0.1/v1", "", "localhost:8080"]) | \
    st.text(max_size=30).filter(lambda text: not text.lower().lstrip().startswith(("http:", "https:")))


@hypothesis_settings
@given(entry=st.fixed_dictionaries({"name": json_values, "api_base": server_urls}, optional={
    "api_key": json_values, "api_key_env": json_values}))
def test_fuzzed_server_entries_are_refused_with_a_message_and_add_nothing(unreachable_client, entry):
    response = unreachable_client.post("/api/servers", json=entry)
    assert 400 <= response.status_code < 500 and message_of(response).strip()
    assert len(unreachable_client.get("/api/servers").get_json()["servers"]) == 1


@pytest.mark.parametrize("reply, state, words", [
    ({"status": 200, "json_body": {"data": [{"id": "flux"}]}}, "up", None),
    ({"status": 404, "json_body": {"detail": "Not Found"}}, "not_images_api", "Did you mean "),
    ({"status": 200, "body": b"<!doctype html><title>Welcome</title>", "content_type": "text/html"},
     "not_images_api", "an HTML page"),
    ({"status": 401, "json_body": {"error": {"message": "bad key"}}}, "key_refused", "refused the API key"),
])
def test_health_is_green_only_for_an_images_api(make_app, tmp_path, fake_server, reply, state, words):
    fake_server.on("GET", "/v1/models", **reply)
    fake_server.on("GET", "/models", **reply)
    base = fake_server.base_url if state == "not_images_api" else fake_server.api_base
    health = make_app(tmp_path, base).test_client().get("/healthz").get_json()["image_server"]
    assert health["state"] == state
    assert health["answers"] is (state == "up")
    if words:
        assert words in health["error"]
    if state == "not_images_api" and reply["status"] == 404:
        assert f"Did you mean {fake_server.base_url}/v1?" in health["error"]


def test_a_failed_model_list_is_asked_again_as_soon_as_the_server_is_back(fake_app, fake_server):
    client = fake_app.test_client()
    fake_server.on("GET", "/v1/models", status=500, json_body={"error": {"message": "warming up"}})
    assert "warming up" in client.get("/api/models").get_json()["error"]
    fake_server.on("GET", "/v1/models", json_body={"data": [{"id": "flux"}, {"id": "sdxl"}]})
    answer = client.get("/api/models").get_json()
    assert answer["error"] is None
    assert [model["id"] for model in answer["models"]] == ["flux", "sdxl"]


def test_a_model_is_recent_only_once_it_gave_an_image(client):
    client.post("/api/generate", json={"prompt": "typo", "model": "flxu"})
    client.post("/api/generate", json={"prompt": "works", "model": "sdxl-turbo"})
    recent = [model["id"] for model in client.get("/api/models").get_json()["models"] if model["recent"]]
    assert recent == ["sdxl-turbo"]


def open_descriptors():
    return len(os.listdir("/proc/self/fd"))


def test_descriptors_stay_flat_over_many_comparisons(fake_app, fake_server):
    fake_server.on_generate(json_body={"data": [{"b64_json": png_base64()}]})
    client = fake_app.test_client()
    body = {"prompt": "cat", "models": ["flux", "sdxl"], "response_format": "b64_json"}
    for _ in range(20):
        client.post("/api/compare", json=body)
    before = open_descriptors()
    for _ in range(300):
        assert client.post("/api/compare", json=body).status_code == 200
    assert open_descriptors() - before < 10


def test_a_folder_that_stops_taking_writes_fails_the_generation_plainly(client, monkeypatch, app):
    def read_only(path, data):
        raise OSError(errno.EROFS, "Read-only file system", str(path))

    monkeypatch.setattr(files_module, "write_file", read_only)
    answer = client.post("/api/generate", json={"prompt": "nowhere", "response_format": "b64_json"})
    assert answer.status_code == 507
    assert answer.get_json()["status"] == "failed"
    assert answer.get_json()["error"]["kind"] == "not_writable"
    assert "cannot be written to" in client.get(f"/generations/{answer.get_json()['id']}").get_data(as_text=True)


def test_a_generation_whose_asker_has_gone_is_never_started(app, demo_server):
    from proofsheet.asking.generation import parse_request

    with app.app_context():
        runner = app.extensions["runner"]
        result = runner.generate(parse_request({"prompt": "nobody waits"}), gone=lambda: True)
    assert result.kind == "gone"
    assert demo_server.requests_seen == []
    assert app.test_client().get("/api/generations").get_json()["total"] == 0
