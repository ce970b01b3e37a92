"""The client against the real demo server: the body it sends and what it makes of the answer."""
import json

import pytest

from proofsheet.asking.asked_vs_got import asked_vs_got
from proofsheet.asking.generation import GenerationRequest, parse_request
from proofsheet.upstream.client import ImageServerClient
from tests.support import png_base64, png_bytes
from tests.fake_server import FakeImageServer


def generate(server, **fields):
    return ask(ImageServerClient(server.api_base, timeout=10), parse_request({"prompt": "hello world user", **fields}))


def ask(client, request):
    """As the runner asks: the request's body posted, then what came back read against what was asked."""
    result = client.generate(request.to_body(), request.streams)
    result.notes += asked_vs_got(request, result)
    return result


@pytest.mark.parametrize("response_format, source", [(None, "url"), ("url", "data_uri"), ("b64_json", "b64_json")])
def test_each_response_format_gives_a_verified_image(demo_server, response_format, source):
    result = generate(demo_server, response_format=response_format)
    assert result.error is None and result.status == 200
    [item] = result.items
    assert item.source == source
    assert (item.image.format, item.image.width, item.image.height) == ("PNG", 1024, 1024)
    assert item.image.data.startswith(b"\x89PNG")


def test_body_is_exactly_the_original_request_when_nothing_optional_is_set(demo_server):
    generate(demo_server)
    assert demo_server.requests_seen == [{"model": "flux", "prompt": "hello world user", "response_format": None}]


def test_optional_fields_are_sent_only_when_set(demo_server):
    generate(demo_server, response_format="b64_json", n="2", size="256x128", seed="7", negative_prompt="blur")
    assert demo_server.requests_seen[-1] == {"model": "flux", "prompt": "hello world user", "response_format": "b64_json",
                                             "n": 2, "size": "256x128", "seed": 7, "negative_prompt": "blur"}


def test_n_and_size_are_honoured_by_the_demo_server(demo_server):
    result = generate(demo_server, n=3, size="320x200", response_format="b64_json")
    assert [(i.image.width, i.image.height) for i in result.images] == [(320, 200)] * 3
    assert result.notes == []


def test_null_format_url_is_absolute_on_the_server_and_fetched_by_the_app(demo_server):
    result = generate(demo_server)
    assert result.items[0].original_url.startswith(demo_server.base_url + "/media/")


def test_relative_media_url_is_resolved_against_the_server(fake_server):
    fake_server.on("GET", "/media/a.png", body=__import__("base64").b64decode(png_base64()), content_type="image/png")
    fake_server.on_generate(json_body={"data": [{"url": "/media/a.png"}]})
    result = ask(ImageServerClient(fake_server.api_base), GenerationRequest("x"))
    assert result.error is None
    assert result.items[0].original_url == "/media/a.png"
    assert result.images[0].image.width == 64


def test_the_key_and_proofsheets_via_go_to_the_server_but_never_to_other_hosts(fake_server):
    image_host = FakeImageServer()  # where the server's answer points for the image: another origin
    try:
        image_host.on("GET", "/a.png", body=png_bytes(), content_type="image/png")
        fake_server.on_generate(json_body={"data": [{"url": image_host.base_url + "/a.png"}]})
        result = ask(ImageServerClient(fake_server.api_base, api_key="sk-secret", via="proofsheet-test"),
                     GenerationRequest("x"))
        assert result.error is None and result.images[0].image.width == 64
        asked = fake_server.received[0]["headers"]
        assert asked["Authorization"] == "Bearer sk-secret" and asked["Via"] == "1.1 proofsheet-test"
        fetched = image_host.received[0]["headers"]
        assert "Authorization" not in fetched and "Via" not in fetched
    finally:
        image_host.stop()


def test_raw_body_is_kept_exactly_as_received(fake_server):
    body = {"created": 1, "data": [{"b64_json": png_base64()}], "provider": "Fake"}
    fake_server.on_generate(json_body=body)
    result = ask(ImageServerClient(fake_server.api_base), GenerationRequest("x"))
    assert json.loads(result.raw_body) == body and result.raw == body and result.provider == "Fake"


def test_asked_vs_got_notes(fake_server):
    fake_server.on("GET", "/media/a.png", body=__import__("base64").b64decode(png_base64(64, 48)),
                   content_type="image/png")
    fake_server.on_generate(json_body={"data": [
        {"b64_json": png_base64(64, 48), "revised_prompt": "a cat, photorealistic"},
        {"url": "/media/a.png"},
    ]})
    request = GenerationRequest("a cat", response_format="b64_json", n=3, size="1024x1024")
    notes = [note.to_dict() for note in ask(ImageServerClient(fake_server.api_base), request).notes]
    assert notes == [
        {"image": None, "message": "Asked for 3 images, got 2."},
        {"image": 0, "message": "Asked 1024×1024, got 64×48."},
        {"image": 0, "message": "The server rewrote the prompt."},
        {"image": 1, "message": "Asked for b64_json, came as a url."},
        {"image": 1, "message": "Asked 1024×1024, got 64×48."},
    ]


def test_a_different_model_in_the_answer_is_noted(fake_server):
    fake_server.on_generate(json_body={"data": [{"b64_json": png_base64()}], "model": "flux-schnell"})
    notes = ask(ImageServerClient(fake_server.api_base), GenerationRequest("a cat", model="flux")).notes
    assert [note.message for note in notes] == ["Asked for model flux, the server answered as flux-schnell."]


def test_models_are_listed(demo_server):
    models = ImageServerClient(demo_server.api_base).list_models()
    assert "flux" in [row["id"] for row in models]


def test_demo_server_answers_bad_requests_like_fastapi(demo_server):
    import requests

    url = demo_server.api_base + "/images/generations"
    missing = requests.post(url, json={"model": "flux"}, timeout=5)
    assert missing.status_code == 422 and missing.json()["detail"][0]["loc"] == ["body", "prompt"]
    wrong = requests.post(url, json={"prompt": "x", "n": "two"}, timeout=5)
    assert wrong.status_code == 422 and wrong.json()["detail"][0]["loc"] == ["body", "n"]
    unknown = requests.post(url, json={"prompt": "x", "model": "nope"}, timeout=5)
    assert unknown.status_code == 404 and unknown.json()["error"]["message"] == "Model not found: nope"
