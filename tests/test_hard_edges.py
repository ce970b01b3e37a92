"""Whatever a caller sends — any /v1 body, any header, any id in a field that names a row — is answered with a 4xx
and a message in the route's own shape (OpenAI's at /v1, Proofsheet's at /api, the form on pages), never a 5xx of
Proofsheet's own; and a streamed generation or edit always ends, with `done` or with an `error` event saying why."""
import io
import json
import os
import subprocess
import sys
import time
import urllib.parse

import pytest
import requests
from hypothesis import HealthCheck, given, settings, strategies as st

from proofsheet.upstream import sse
from tests.support import ROOT, free_port, png_base64, png_bytes, start_app_process, stop_process
from tests.fake_server import FakeImageServer

ANSWER = {"created": 1, "data": [{"b64_json": png_base64()}]}
J = {"Content-Type": "application/json"}
fuzzing = settings(max_examples=100, deadline=None,
                   suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@pytest.fixture(scope="module")
def upstream():
    """An image server that answers every generation and edit with one image: any 5xx below is Proofsheet's own."""
    server = FakeImageServer()
    server.on_generate(json_body=ANSWER)
    server.on("POST", "/v1/images/edits", json_body=ANSWER)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def live(upstream, tmp_path_factory):
    process, url = start_app_process(tmp_path_factory.mktemp("hard-edges") / "data", upstream.api_base)
    yield url
    stop_process(process)


def openai_error(response):
    """The error as OpenAI's SDKs read it: {"error": {"message", "type", ...}}."""
    error = response.json()["error"]
    assert isinstance(error["message"], str) and error["message"].strip() and isinstance(error["type"], str)
    return error


def api_error(response):
    error = response.json()["error"]
    assert isinstance(error["kind"], str) and isinstance(error["message"], str) and error["message"].strip()
    return error


# -- what used to be a 500 -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("raw, words", [
    (b'{"prompt": "\\ud800 a cat"}', "lone UTF-16 surrogate"),
    (b'{"prompt": "a", "x": ' + b"[" * 5000 + b"]" * 5000 + b"}", "nested more than 100 levels deep"),
    (b"[" * 5000 + b"]" * 5000, "nested more than 100 levels deep"),
    (b'{"prompt": "a", "guidance_scale": 1e400}', "a number JSON cannot carry"),
    (b'{"prompt": "a", "seed": NaN}', "a number JSON cannot carry"),
], ids=["lone surrogate", "5,000 deep inside", "5,000 deep", "1e400", "NaN"])
def test_a_v1_body_proofsheet_cannot_keep_is_refused_in_openais_shape(live, upstream, raw, words):
    seen = len(upstream.received)
    answer = requests.post(live + "/v1/images/generations", data=raw, headers=J, timeout=10)
    assert answer.status_code == 400
    error = openai_error(answer)
    assert words in error["message"] and error["type"] == "proofsheet_error"
    assert len(upstream.received) == seen  # refused before anything was sent on


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "streamed"])
@pytest.mark.parametrize("position", [2**70, -1, 2, True, "0"])
def test_a_cell_position_outside_its_comparison_is_refused_at_once(live, stream, position):
    group = requests.post(live + "/api/groups", json={"prompt": "a", "models": ["flux", "sdxl"]}, timeout=10).json()
    started = time.monotonic()
    answer = requests.post(live + "/api/generate", timeout=10, json={
        "prompt": "a", "group_id": group["id"], "group_position": position, "stream": stream})
    assert answer.status_code == 400 and time.monotonic() - started < 5
    assert "\"group_position\" must be a cell of comparison" in api_error(answer)["message"]


@pytest.mark.parametrize("raw", [b'{"prompt": "a", "steps": 1e400}', b'{"prompt": "a", "steps": Infinity}'])
def test_a_number_json_cannot_carry_is_refused_at_the_api_not_blamed_on_the_server(live, raw):
    answer = requests.post(live + "/api/generate", data=raw, headers=J, timeout=10)
    assert answer.status_code == 400 and "\"steps\" holds a number JSON cannot carry" in api_error(answer)["message"]


# -- /v1 bodies and headers, fuzzed ----------------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.sampled_from([2**63, 2**70, -2**64, 10**40])
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=8)
V1_FIELDS = ["prompt", "model", "n", "size", "response_format", "seed", "quality", "user", "provider", "stream",
             "partial_images", "background", "negative_prompt", "group_id", "server"]
v1_bodies = st.one_of(
    # ASCII escapes carry any code point, lone surrogates included
    st.dictionaries(st.sampled_from(V1_FIELDS) | st.text(max_size=8), json_values, max_size=6).map(
        lambda body: json.dumps(body).encode()),
    st.integers(1, 6000).map(lambda depth: b'{"prompt": "a", "x": ' + b"[" * depth + b"]" * depth + b"}"),
    st.sampled_from([b"NaN", b"1e400", b'{"prompt": -Infinity}', b'{"n": 1' + b"0" * 5000 + b"}", b"", b"null"]),
    st.binary(max_size=200))


@fuzzing
@given(raw=v1_bodies)
def test_fuzzed_v1_bodies_are_passed_on_or_refused_in_openais_shape(live, raw):
    answer = requests.post(live + "/v1/images/generations", data=raw, headers=J, timeout=30)
    assert answer.status_code < 500, answer.text
    if answer.status_code >= 400:
        openai_error(answer)


form_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=30)


@fuzzing
@given(fields=st.dictionaries(st.sampled_from(V1_FIELDS) | form_text, form_text, max_size=6))
def test_fuzzed_v1_edit_forms_are_passed_on_or_refused_in_openais_shape(live, fields):
    answer = requests.post(live + "/v1/images/edits", data=fields, files={"image": ("a.png", png_bytes())},
                           timeout=30)
    assert answer.status_code < 500, answer.text
    if answer.status_code >= 400:
        openai_error(answer)


# What HTTP lets a header value be once a server has read it: no line breaks, no space at either end.
header_values = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xFF, blacklist_characters="\x7f"),
                        max_size=40).map(str.strip)
HEADERS = ["Authorization", "Via", "Content-Type", "Accept", "Accept-Encoding", "User-Agent", "Sec-Fetch-Site",
           "OpenAI-Organization", "X-Stainless-Lang", "Idempotency-Key", "Cookie", "Forwarded", "X-Forwarded-For"]


@fuzzing
@given(headers=st.dictionaries(st.sampled_from(HEADERS), header_values, max_size=5),
       path=st.sampled_from(["/v1/images/generations", "/v1/models", "/v1/chat/completions"]))
def test_fuzzed_v1_headers_are_passed_on_or_refused_in_openais_shape(live, headers, path):
    answer = requests.post(live + path, data=b'{"prompt": "a cat"}', headers={**J, **headers}, timeout=30) \
        if path != "/v1/models" else requests.get(live + path, headers=headers, timeout=30)
    assert answer.status_code < 500 or answer.status_code == 502 and path != "/v1/images/generations", answer.text
    if answer.status_code >= 400 and path == "/v1/images/generations":
        openai_error(answer)


# -- ids in every field that names a row, fuzzed ---------------------------------------------------------------------

ids = st.one_of(
    st.integers(), st.sampled_from([0, 1, 2, 3, -1, 2**63 - 1, 2**63, 2**64, 2**70, -2**63 - 1, 10**18, 10**19]),
    st.booleans(), st.none(), st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=12),
    st.sampled_from(["1", "01", "1.0", "1e3", "١", "²", " 1", "1\n", "0x1", "-0", "9" * 19, "9" * 40]))


@pytest.fixture
def rows(make_app, tmp_path, upstream):
    """An app with a generation, a comparison and a blind vote in its history, for ids to name (or miss)."""
    client = make_app(tmp_path, upstream.api_base).test_client()
    client.post("/api/generate", json={"prompt": "one"})
    client.post("/api/groups", json={"prompt": "two", "models": ["flux", "sdxl"]})
    client.post("/api/arena", json={"prompt": "three", "contenders": [{"model": "flux"}, {"model": "sdxl"}]})
    return client


def said(response):
    """The message the answer carries: the API's error, or the page (or the file asked for)."""
    if response.is_json:
        return response.get_json()["error"]["message"] if response.status_code >= 400 else "ok"
    return response.get_data()


def segment(value):
    return urllib.parse.quote(str(value), safe="") or "0"


@fuzzing
@given(first=ids, second=ids)
def test_fuzzed_ids_in_json_fields_never_get_a_5xx(rows, first, second):
    for path, body in [("/api/generate", {"prompt": "a", "group_id": first, "group_position": second}),
                       ("/api/generate", {"prompt": "a", "group_id": 1, "group_position": first}),
                       (f"/api/arena/{segment(first)}/vote", {"winner": second}),
                       ("/api/arena/1/vote", {"winner": first}),
                       (f"/api/generations/{segment(first)}/star", {"starred": second}),
                       ("/api/cancel", {"client_ref": first}),
                       ("/api/compare", {"prompt": "a", "models": ["flux", "sdxl"], "group_id": first})]:
        response = rows.post(path, json=body)
        assert response.status_code < 500 and said(response).strip(), (path, body)


@fuzzing
@given(first=ids, second=ids)
def test_fuzzed_ids_in_forms_and_addresses_never_get_a_5xx(rows, first, second):
    one, two = segment(first), segment(second)
    form = {"prompt": "a", "source_generation": str(first), "source_image": str(second)}
    for method, path, data in [
            ("POST", "/api/edit", {**form, "image": (io.BytesIO(png_bytes()), "a.png")}), ("POST", "/edit", form),
            ("GET", f"/edit?from={one}&image={two}", None), ("GET", f"/api/generations/{one}", None),
            ("DELETE", f"/api/generations/{one}", None), ("DELETE", f"/api/prompts/{one}", None),
            ("GET", f"/generations/{one}", None), ("GET", f"/compare/{one}", None), ("GET", f"/arena/{one}", None),
            ("GET", f"/api/arena/{one}", None), ("POST", f"/arena/{one}/vote", {"winner": str(second)}),
            ("POST", f"/generations/{one}/rerun", None), ("GET", f"/?from={one}", None),
            ("GET", f"/compare?from={one}", None), ("GET", f"/arena?from={one}", None),
            ("GET", f"/present?ids={one},{two}&group={one}&round={two}", None),
            ("GET", f"/generations/export?id={one}&id={two}", None),
            ("GET", f"/generations/{one}/partials/{two}", None)]:
        response = rows.open(path, method=method, data=data)
        assert response.status_code < 500 and said(response).strip(), (method, path)


# -- streams that always end -----------------------------------------------------------------------------------------

# A real app process with a fault of Proofsheet's own put in: the image-server client raises whatever it is asked,
# or a kept generation cannot be written out as JSON.
FAULTY_APP = """
import sys
from proofsheet.history.records import StoredGeneration
from proofsheet.upstream.client import ImageServerClient

def broken(*args, **kwargs):
    raise RuntimeError("a fault the test put in")

if sys.argv[1] == "client":
    ImageServerClient.generate = ImageServerClient.edit = broken
else:
    StoredGeneration.to_dict = broken
import app
sys.exit(app.main(sys.argv[2:]))
"""


@pytest.fixture
def faulty(upstream, tmp_path):
    processes = []

    def start(fault):
        port = free_port()
        environment = {**os.environ, "PROOFSHEET_DATA": str(tmp_path / fault)}
        processes.append(subprocess.Popen(
            [sys.executable, "-c", FAULTY_APP, fault, "--port", str(port), "--api-base", upstream.api_base],
            cwd=ROOT, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        url = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                requests.get(url + "/healthz", timeout=1)
                return url
            except requests.ConnectionError:
                time.sleep(0.1)
        raise AssertionError("the app did not start within 10 seconds")

    yield start
    for process in processes:
        stop_process(process)


def events_of(response, within):
    """Every event of a stream, which must end within `within` seconds."""
    assert response.headers["Content-Type"].startswith("text/event-stream")
    deadline = time.monotonic() + within
    reader, events = sse.EventReader(), []
    for chunk in response.iter_content(chunk_size=None):
        events += [(event.name, event.json()) for event in reader.feed(chunk)]
        assert time.monotonic() < deadline, f"the stream had not ended after {within} s: {events}"
    return events


def streamed(url, kind):
    body = {"prompt": "a fox", "model": "gpt-image-1", "stream": True}
    if kind == "generation":
        return requests.post(url + "/api/generate", json=body, stream=True, timeout=20)
    return requests.post(url + "/api/edit", data={**body, "stream": "true"}, files={"image": ("a.png", png_bytes())},
                         stream=True, timeout=20)


@pytest.mark.parametrize("kind", ["generation", "edit"])
def test_a_stream_whose_work_raises_ends_with_an_error_event_and_the_row_failed(faulty, kind):
    url = faulty("client")
    with streamed(url, kind) as response:
        assert response.status_code == 200
        events = events_of(response, within=15)
    names = [name for name, _ in events]
    assert names[0] == "started" and names[-1] == "error"
    assert "inside Proofsheet" in events[-1][1]["error"]["message"]
    kept = requests.get(f"{url}/api/generations/{events[0][1]['id']}", timeout=5).json()
    assert kept["status"] == "failed" and kept["error"]["kind"] == "internal_error"


def test_a_stream_whose_result_cannot_be_sent_ends_with_an_error_event(faulty):
    with streamed(faulty("answer"), "generation") as response:
        events = events_of(response, within=15)
    assert [name for name, _ in events][-1] == "error"
    assert "inside Proofsheet" in events[-1][1]["error"]["message"]


def test_a_stream_that_works_ends_with_done(live):
    with requests.post(live + "/api/generate", json={"prompt": "a fox", "model": "gpt-image-1", "stream": True},
                       stream=True, timeout=20) as response:
        events = events_of(response, within=15)
    assert [name for name, _ in events][-1] == "done" and events[-1][1]["status"] == "ok"
