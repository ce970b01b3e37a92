"""Proofsheet as a recording OpenAI-compatible endpoint, with the real `openai` package (and the seed script) as
clients: answers come back as the image server gave them, and every call is kept in the history."""
import base64
import io
import json
import os
import subprocess
import sys
import threading
import time

import openai
import pytest
import requests
from PIL import Image

from proofsheet.demo.server import DemoImageServer
from proofsheet.upstream import sse
from tests.support import ROOT, LiveApp, kept, png_base64, png_bytes, sdk
from tests.fake_server import close_mid_body


@pytest.fixture
def demo():
    with DemoImageServer(partial_delay=0.5) as server:
        yield server


@pytest.fixture
def proofsheet(make_app, serve_app, tmp_path, demo):
    return serve_app(make_app(tmp_path, demo.api_base))


@pytest.mark.parametrize("response_format", ["url", "b64_json"])
def test_the_sdk_generates_through_proofsheet_and_every_call_is_kept(proofsheet, demo, response_format):
    raw = sdk(proofsheet).images.with_raw_response.generate(model="flux", prompt="hello world user",
                                                            response_format=response_format)
    images = raw.parse()
    generation_id = int(raw.headers["X-Proofsheet-Generation"])
    item = images.data[0]
    assert (item.b64_json if response_format == "b64_json" else item.url.split(",", 1)[1])  # a data: URI
    generation = kept(proofsheet, generation_id)
    assert generation["status"] == "ok" and generation["via"] == "v1"
    assert generation["request"] == {"model": "flux", "prompt": "hello world user", "response_format": response_format}
    with Image.open(io.BytesIO(requests.get(proofsheet.url + generation["images"][0]["src"]).content)) as image:
        assert image.size == (1024, 1024)
    body = requests.get(f"{proofsheet.url}/generations/{generation_id}/raw.json", timeout=5).content
    assert body == raw.http_response.content  # the caller got exactly the bytes the history keeps


def test_a_plain_post_gets_the_servers_bytes_and_status(proofsheet, demo):
    direct = requests.post(demo.api_base + "/images/generations", json={"prompt": "x", "model": "nope"})
    relayed = requests.post(proofsheet.url + "/v1/images/generations", json={"prompt": "x", "model": "nope"})
    assert (relayed.status_code, relayed.content) == (direct.status_code, direct.content)
    assert relayed.headers["Content-Type"] == direct.headers["Content-Type"]
    assert relayed.headers["Content-Length"] == direct.headers["Content-Length"]  # as the server said, not chunked


def test_an_answer_the_server_cuts_short_reaches_the_caller_cut_and_is_kept_as_broken(make_app, tmp_path, fake_server):
    fake_server.on_call("POST", "/v1/images/generations", close_mid_body)
    live = LiveApp(make_app(tmp_path, fake_server.api_base))
    try:
        with requests.post(live.url + "/v1/images/generations", json={"model": "flux", "prompt": "x"},
                           stream=True, timeout=10) as answer:
            assert answer.headers["Content-Length"] == "100000"
            with pytest.raises(requests.exceptions.ChunkedEncodingError):  # as straight from the server: cut
                answer.content
        generation = kept(live, answer.headers["X-Proofsheet-Generation"])
        assert generation["status"] == "failed" and "broke while reading" in generation["error"]["message"]
    finally:
        live.stop()


def test_the_first_partial_reaches_the_sdk_while_the_server_is_still_working(proofsheet, demo):
    stream = sdk(proofsheet).images.generate(model="gpt-image-1", prompt="a slow fox", stream=True, partial_images=2)
    seen = []
    for event in stream:
        sent = [name for name, _ in demo.events_sent]
        seen.append((event.type, "image_generation.completed" in sent))
    assert seen[0] == ("image_generation.partial_image", False)  # the server had not finished yet
    assert [kind for kind, _ in seen] == ["image_generation.partial_image"] * 2 + ["image_generation.completed"]
    latest = requests.get(proofsheet.url + "/api/generations?per_page=1").json()["generations"][0]
    generation = kept(proofsheet, latest["id"])
    assert generation["status"] == "ok" and generation["usage"]["output_tokens"] == 1056


def test_the_sdk_edits_with_a_mask_and_the_inputs_are_kept(proofsheet):
    mask = Image.new("RGBA", (64, 48), (0, 0, 0, 255))
    mask.paste((0, 0, 0, 0), (0, 0, 32, 24))
    out = io.BytesIO()
    mask.save(out, "PNG")
    raw = sdk(proofsheet).images.with_raw_response.edit(
        model="gpt-image-1", prompt="add a hat", image=("photo.png", png_bytes(), "image/png"),
        mask=("mask.png", out.getvalue(), "image/png"))
    assert raw.parse().data[0].b64_json
    generation = kept(proofsheet, int(raw.headers["X-Proofsheet-Generation"]))
    assert generation["kind"] == "edit" and generation["status"] == "ok"
    assert [item["role"] for item in generation["inputs"]] == ["image", "mask"]


def test_the_sdk_lists_the_servers_models(proofsheet):
    ids = [model.id for model in sdk(proofsheet).models.list()]
    assert ids[:3] == ["flux", "flux-dev", "flux-schnell"] and "DemoFlux" in ids


@pytest.mark.parametrize("status, message, error_class", [
    (401, "Incorrect API key provided.", openai.AuthenticationError),
    (404, "Model not found: flxu", openai.NotFoundError),
    (429, "Rate limit reached for images per minute.", openai.RateLimitError),
    (500, "The provider failed.", openai.InternalServerError),
])
def test_server_errors_raise_the_sdks_matching_exception_with_the_servers_words(make_app, tmp_path, fake_server, status,
                                                                                message, error_class):
    fake_server.on_generate(status=status, json_body={"error": {"message": message, "type": "x"}})
    live = LiveApp(make_app(tmp_path, fake_server.api_base))
    try:
        with pytest.raises(error_class) as raised:
            sdk(live).images.generate(model="flxu", prompt="x")
        assert raised.value.message == f"Error code: {status} - {message}" or message in str(raised.value)
        listed = requests.get(live.url + "/api/generations").json()["generations"]
        assert listed and message in (kept(live, listed[0]["id"])["error"]["message"])
    finally:
        live.stop()


def echo_authorization(handler):
    body = json.dumps({"data": [{"b64_json": png_base64()}],
                       "seen": handler.headers.get("Authorization", "")}).encode()
    handler.send_response(200)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


@pytest.mark.parametrize("own_key, forwarded", [(None, "Bearer sk-caller-key-0123456789"),
                                                ("sk-proofsheet-own-key-42", "Bearer sk-proofsheet-own-key-42")])
def test_keys_the_callers_or_proofsheets_are_sent_and_never_kept(make_app, tmp_path, fake_server, own_key, forwarded):
    fake_server.on_call("POST", "/v1/images/generations", echo_authorization)
    live = LiveApp(make_app(tmp_path, fake_server.api_base, API_KEY=own_key))
    try:
        raw = sdk(live).images.with_raw_response.generate(model="flux", prompt="x")
        assert fake_server.received[-1]["headers"]["Authorization"] == forwarded
        generation_id = raw.headers["X-Proofsheet-Generation"]
        kept(live, generation_id)
        shown = b"".join(requests.get(live.url + path).content for path in (
            f"/generations/{generation_id}", f"/generations/{generation_id}/raw.json",
            f"/api/generations/{generation_id}", "/generations", f"/generations/export?id={generation_id}"))
        assert b"sk-caller-key-0123456789" not in shown and b"sk-proofsheet-own-key-42" not in shown
    finally:
        live.stop()


def test_a_proxy_token_is_required_when_set_and_never_sent_on(make_app, tmp_path, fake_server):
    fake_server.on_call("POST", "/v1/images/generations", echo_authorization)
    live = LiveApp(make_app(tmp_path, fake_server.api_base, PROXY_TOKEN="room-42"))
    try:
        with pytest.raises(openai.AuthenticationError) as refused:
            sdk(live, api_key="wrong").images.generate(model="flux", prompt="x")
        assert "proxy token" in str(refused.value)
        assert fake_server.received == []
        sdk(live, api_key="room-42").images.generate(model="flux", prompt="x")
        assert "Authorization" not in fake_server.received[-1]["headers"]
    finally:
        live.stop()


def test_requests_from_another_sites_page_are_refused(proofsheet, demo):
    answer = requests.post(proofsheet.url + "/v1/images/generations", json={"prompt": "x"},
                           headers={"Origin": "http://evil.example"})
    assert answer.status_code == 403 and answer.json()["error"]["code"] == "forbidden_origin"
    assert demo.requests_seen == []


def test_the_seed_script_works_unchanged_but_for_the_port(proofsheet):
    script = f'''
import requests
url = "{proofsheet.url}/v1/images/generations"
body = {{"model": "flux", "prompt": "hello world user", "response_format": None}}  # or "url", "b64_json"
data = requests.post(url, json=body, stream=True).json()
print(data["data"][0]["url"])
'''
    printed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert printed.returncode == 0, printed.stderr
    assert "/media/" in printed.stdout  # gpt4free's own URL, built from the Host it received: unchanged by default
    latest = requests.get(proofsheet.url + "/api/generations?per_page=1").json()["generations"][0]
    assert kept(proofsheet, latest["id"])["images"][0]["format"] == "PNG"  # yet kept, fetched from the server


def test_rewrite_urls_points_url_items_at_proofsheets_copy(proofsheet):
    answer = requests.post(proofsheet.url + "/v1/images/generations?rewrite_urls=1",
                           json={"model": "flux", "prompt": "x", "response_format": None}).json()
    url = answer["data"][0]["url"]
    assert url.startswith(proofsheet.url + "/images/")
    assert requests.get(url).headers["Content-Type"] == "image/png"


def test_a_failure_to_keep_never_breaks_the_callers_answer(proofsheet, monkeypatch):
    store = proofsheet.app.extensions["store"]

    def broken_finish(*args, **kwargs):
        raise RuntimeError("the history broke")

    monkeypatch.setattr(store, "finish", broken_finish)
    images = sdk(proofsheet).images.generate(model="flux", prompt="x", response_format="b64_json")
    assert images.data[0].b64_json


def test_the_live_history_hears_of_a_v1_call_running_then_done(proofsheet):
    statuses = []

    def listen():
        with requests.get(proofsheet.url + "/api/events", stream=True, timeout=10) as response:
            reader = sse.EventReader()
            for chunk in response.iter_content(chunk_size=None):
                for event in reader.feed(chunk):
                    if event.name == "generation":
                        statuses.append(event.json()["status"])
                        if event.json()["status"] != "running":
                            return

    listener = threading.Thread(target=listen)
    listener.start()
    time.sleep(0.3)
    sdk(proofsheet).images.generate(model="gpt-image-1", prompt="heard live")
    listener.join(timeout=10)
    assert statuses == ["running", "ok"]


def test_too_many_live_listeners_get_a_clear_503(make_app, tmp_path, demo):
    client = make_app(tmp_path, demo.api_base, LIVE_PAGES=0).test_client()
    answer = client.get("/api/events")
    assert answer.status_code == 503 and "following the history live" in answer.get_json()["error"]["message"]


def test_the_sdk_retrieves_one_model_and_hears_of_a_missing_one(proofsheet):
    assert sdk(proofsheet).models.retrieve("gpt-image-1").id == "gpt-image-1"
    with pytest.raises(openai.NotFoundError) as missing:
        sdk(proofsheet).models.retrieve("flxu")
    assert "Model not found: flxu" in str(missing.value)


OWN_KEY = "sk-proofsheet-own-key-42"


def echo_the_key_in_pieces(handler):
    """Echoes the Authorization it received in a header and in the body, the body sent in writes that cut the key
    in two, with a pause between them (as a slow proxy would)."""
    seen = handler.headers.get("Authorization", "")
    body = json.dumps({"data": [{"b64_json": png_base64()}], "seen": seen}).encode()
    cut = body.index(seen.encode()) + len(seen) // 2
    handler.send_response(200)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(body)))
    handler.send_header("X-Debug-Authorization", seen)
    handler.end_headers()
    for piece in (body[:cut], body[cut:]):
        handler.wfile.write(piece)
        handler.wfile.flush()
        time.sleep(0.2)


def test_proofsheets_own_key_echoed_by_the_server_never_reaches_the_caller(make_app, tmp_path, fake_server):
    fake_server.on_call("POST", "/v1/images/generations", echo_the_key_in_pieces)
    live = LiveApp(make_app(tmp_path, fake_server.api_base, API_KEY=OWN_KEY, PROXY_TOKEN="room-42"))
    try:
        answer = requests.post(live.url + "/v1/images/generations", json={"model": "flux", "prompt": "x"},
                               headers={"Authorization": "Bearer room-42"}, timeout=10)
        assert fake_server.received[-1]["headers"]["Authorization"] == f"Bearer {OWN_KEY}"  # it was sent on
        assert answer.status_code == 200 and OWN_KEY.encode() not in answer.content
        assert OWN_KEY not in str(answer.headers)
        assert answer.json()["seen"] == "Bearer " + "*" * len(OWN_KEY)  # masked in place: the JSON still parses
        assert int(answer.headers["Content-Length"]) == len(answer.content)  # and its length still holds
        assert answer.headers["X-Debug-Authorization"] == "Bearer " + "*" * len(OWN_KEY)
        images = sdk(live, api_key="room-42").images.generate(model="flux", prompt="x")
        assert images.data[0].b64_json == png_base64()
    finally:
        live.stop()


def test_a_callers_own_key_comes_back_to_them_as_the_server_sent_it(make_app, tmp_path, fake_server):
    fake_server.on_call("POST", "/v1/images/generations", echo_the_key_in_pieces)
    live = LiveApp(make_app(tmp_path, fake_server.api_base))
    try:
        answer = requests.post(live.url + "/v1/images/generations", json={"model": "flux", "prompt": "x"},
                               headers={"Authorization": "Bearer sk-caller-key-0123456789"}, timeout=10)
        assert answer.json()["seen"] == "Bearer sk-caller-key-0123456789"  # theirs: the relay leaves it be
    finally:
        live.stop()


def chat_answer(handler):
    """A chat completion streamed as the OpenAI API streams one: a first chunk, a pause, the rest."""
    handler.send_response(200)
    handler.send_header("Content-Type", "text/event-stream")
    handler.end_headers()
    chunk = {"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o-mini",
             "choices": [{"index": 0, "delta": {"content": "A lighthouse"}, "finish_reason": None}]}
    handler.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
    handler.wfile.flush()
    time.sleep(1.0)
    chunk["choices"][0] = {"index": 0, "delta": {"content": " at dawn"}, "finish_reason": "stop"}
    handler.wfile.write(f"data: {json.dumps(chunk)}\n\ndata: [DONE]\n\n".encode())
    handler.close_connection = True


def test_a_whole_program_can_point_here_its_chat_calls_pass_through_as_they_stream_and_are_not_kept(make_app, tmp_path,
                                                                                                    fake_server):
    fake_server.on_call("POST", "/v1/chat/completions", chat_answer)
    fake_server.on("GET", "/v1/files", json_body={"object": "list", "data": []})
    live = LiveApp(make_app(tmp_path, fake_server.api_base))
    try:
        client = sdk(live)
        started = time.monotonic()
        stream = client.chat.completions.create(model="gpt-4o-mini", stream=True,
                                                messages=[{"role": "user", "content": "Describe a picture"}])
        first = next(iter(stream))
        assert first.choices[0].delta.content == "A lighthouse"
        assert time.monotonic() - started < 0.8  # as it came, while the server was still writing
        assert "".join(chunk.choices[0].delta.content or "" for chunk in stream) == " at dawn"
        assert client.files.list().data == []  # any other path too
        sent = fake_server.received[0]
        assert sent["path"] == "/v1/chat/completions" and sent["headers"]["Authorization"] == \
            "Bearer sk-caller-key-0123456789"
        assert json.loads(sent["body"])["messages"][0]["content"] == "Describe a picture"
        assert requests.get(live.url + "/api/generations", timeout=5).json()["total"] == 0  # images only are kept
    finally:
        live.stop()


def test_a_path_that_climbs_out_of_v1_is_refused_and_errors_at_v1_are_json(proofsheet, demo):
    climbing = requests.get(proofsheet.url + "/v1/%2e%2e/secret", timeout=5)
    assert climbing.status_code == 400 and climbing.json()["error"]["code"] == "invalid_path"
    foreign = requests.get(proofsheet.url + "/v1/models", headers={"Host": "evil.example"}, timeout=5)
    assert foreign.status_code == 400 and "does not answer to the name" in foreign.json()["error"]["message"]
    assert demo.requests_seen == []


def test_a_generation_carrying_reference_images_beyond_a_megabyte_goes_through_whole(make_app, tmp_path, fake_server):
    fake_server.on_generate(json_body={"data": [{"b64_json": png_base64()}]})
    live = LiveApp(make_app(tmp_path, fake_server.api_base))
    try:
        reference = base64.b64encode(os.urandom(2_000_000)).decode()  # LocalAI's ref_images: MBs of base64
        body = {"model": "flux", "prompt": "in this style", "ref_images": [reference]}
        assert len(json.dumps(body)) > 2_500_000
        answer = requests.post(live.url + "/v1/images/generations", json=body, timeout=30)
        assert answer.status_code == 200 and answer.json()["data"][0]["b64_json"] == png_base64()
        assert json.loads(fake_server.received[-1]["body"]) == body
        generation_id = answer.headers["X-Proofsheet-Generation"]
        assert kept(live, generation_id)["status"] == "ok"
        # Its page stays light: the base64 is shortened, the whole request is a download away.
        page = requests.get(f"{live.url}/generations/{generation_id}", timeout=5)
        assert len(page.content) < 100_000
        assert f"[{len(reference):,} characters]" in page.text and "in this style" in page.text
        assert "Download the whole request" in page.text and 'data-copy-what="curl"' not in page.text
        assert "Left out, too large to send from this form: ref_images (2.5 MB)" in page.text
        whole = requests.get(f"{live.url}/generations/{generation_id}/request.json", timeout=5)
        assert whole.json() == body and "attachment" in whole.headers["Content-Disposition"]
    finally:
        live.stop()
