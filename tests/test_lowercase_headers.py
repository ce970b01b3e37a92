"""Servers built on uvicorn (gpt4free, LiteLLM, vLLM, most FastAPI servers) name every header in lower case: through
/api/generate and /v1, plain and streamed, with ?rewrite_urls on and off, Proofsheet reads them as any other."""
import json

import pytest
import requests

from tests.support import kept, png_base64, png_bytes


PNG = png_bytes(64, 48)
STREAM = "".join(f"event: {event['type']}\ndata: {json.dumps(event)}\n\n" for event in [
    {"type": "image_generation.partial_image", "partial_image_index": 0, "b64_json": png_base64(32, 24)},
    {"type": "image_generation.completed", "b64_json": png_base64(64, 48), "usage": {"output_tokens": 7}},
]).encode()


def lower_case(body, content_type):
    """An answer whose every header name is lower case, written as uvicorn writes it (no capitalised Server/Date)."""
    def respond(handler):
        head = (f"HTTP/1.1 200 OK\r\ndate: Tue, 01 Dec 2026 00:00:00 GMT\r\nserver: uvicorn\r\n"
                f"content-type: {content_type}\r\ncontent-length: {len(body)}\r\n\r\n")
        handler.wfile.write(head.encode() + body)
    return respond


@pytest.fixture
def uvicorn_like(fake_server):
    """A fake image server that answers in lower-case headers: JSON with a url item, the image, or a stream."""
    fake_server.on_call("GET", "/media/a.png", lower_case(PNG, "image/png"))
    fake_server.on_call("GET", "/v1/models", lower_case(b'{"data": [{"id": "flux"}]}', "application/json"))

    def answer(handler):
        asked = json.loads(fake_server.received[-1]["body"] or b"{}")
        if asked.get("stream"):
            lower_case(STREAM, "text/event-stream")(handler)
        else:
            body = {"created": 1, "data": [{"url": fake_server.base_url + "/media/a.png"}]}
            lower_case(json.dumps(body).encode(), "application/json; charset=utf-8")(handler)
    fake_server.on_call("POST", "/v1/images/generations", answer)
    return fake_server


@pytest.fixture
def live(make_app, serve_app, tmp_path, uvicorn_like):
    return serve_app(make_app(tmp_path, uvicorn_like.api_base))


@pytest.mark.parametrize("stream", [False, True])
def test_the_form_api_reads_a_lower_case_answer(live, stream):
    body = {"prompt": "a lighthouse", "model": "gpt-image-1" if stream else "flux"}
    if stream:
        body["stream"] = True
    answer = requests.post(live.url + "/api/generate", json=body, headers={"Accept": "application/json"},
                           timeout=30)
    latest = requests.get(live.url + "/api/generations?per_page=1", timeout=5).json()["generations"][0]
    generation = kept(live, latest["id"])
    assert generation["status"] == "ok", answer.text[-300:]
    assert generation["images"][0]["width"] == 64
    if stream:
        assert generation["usage"] == {"output_tokens": 7}


@pytest.mark.parametrize("rewrite", [False, True])
def test_a_plain_v1_call_is_kept_and_rewritten_only_when_asked(live, uvicorn_like, rewrite):
    query = "?rewrite_urls=1" if rewrite else ""
    answer = requests.post(f"{live.url}/v1/images/generations{query}", json={"model": "flux", "prompt": "x"},
                           timeout=30)
    assert answer.status_code == 200 and answer.headers["Content-Type"].startswith("application/json")
    url = answer.json()["data"][0]["url"]
    if rewrite:
        assert url.startswith(live.url + "/images/")
        assert requests.get(url, timeout=5).content == PNG
    else:
        assert url == uvicorn_like.base_url + "/media/a.png"
    generation = kept(live, answer.headers["X-Proofsheet-Generation"])
    assert generation["status"] == "ok" and generation["via"] == "v1"


@pytest.mark.parametrize("rewrite", [False, True])
def test_a_streamed_v1_call_the_caller_received_whole_is_kept_as_made(live, rewrite):
    query = "?rewrite_urls=1" if rewrite else ""
    answer = requests.post(f"{live.url}/v1/images/generations{query}", timeout=30,
                           json={"model": "gpt-image-1", "prompt": "x", "stream": True, "partial_images": 1})
    assert answer.headers["Content-Type"] == "text/event-stream" and answer.content == STREAM
    generation = kept(live, answer.headers["X-Proofsheet-Generation"])
    assert generation["status"] == "ok", generation["error"]
    assert generation["images"][0]["width"] == 64 and generation["usage"] == {"output_tokens": 7}
