"""What Proofsheet does differently once it knows the kind of server: gpt4free's per-provider route, LiteLLM's own
word on which of its models make images. (The real servers themselves are in tests/real.)"""
import pytest

from proofsheet.upstream.dialects import asked_body, provider_route
from tests.support import png_base64

GPT4FREE = "http://127.0.0.1:1337/v1/images/generations"


@pytest.mark.parametrize("url, body, kind, expected_url, expected_body", [
    (GPT4FREE, {"prompt": "a", "provider": "Flux"}, "gpt4free",
     "http://127.0.0.1:1337/api/Flux/images/generations", {"prompt": "a"}),
    (GPT4FREE, {"prompt": "a", "provider": "A b/c"}, "gpt4free",
     "http://127.0.0.1:1337/api/A%20b%2Fc/images/generations", {"prompt": "a"}),
    ("http://host:1337/images/generations", {"prompt": "a", "provider": "Flux"}, "gpt4free",
     "http://host:1337/api/Flux/images/generations", {"prompt": "a"}),
    (GPT4FREE, {"prompt": "a", "provider": "Flux"}, None, GPT4FREE, {"prompt": "a", "provider": "Flux"}),
    (GPT4FREE, {"prompt": "a"}, "gpt4free", GPT4FREE, {"prompt": "a"}),
])
def test_a_gpt4free_provider_moves_from_the_body_into_the_path(url, body, kind, expected_url, expected_body):
    assert provider_route(url, body, kind) == (expected_url, expected_body)


def test_the_provider_comes_back_from_the_path_for_the_form_and_run_again():
    url, body = provider_route(GPT4FREE, {"prompt": "a", "provider": "A b/c"}, "gpt4free")
    assert asked_body(body, url) == {"prompt": "a", "provider": "A b/c"}
    assert asked_body({"prompt": "a"}, GPT4FREE) == {"prompt": "a"}


def test_a_provider_asked_through_the_json_api_finds_the_server_kind_itself(client, demo_server):
    """No model list was fetched yet (no page opened): the route still depends on what the server is."""
    asked = {"prompt": "a fox", "model": "flux", "provider": "DemoFlux"}
    generation = client.post("/api/generate", json=asked).get_json()
    assert generation["status"] == "ok"
    assert generation["endpoint"] == demo_server.base_url + "/api/DemoFlux/images/generations"
    assert "provider" not in demo_server.requests_seen[-1]


def test_a_server_that_is_not_gpt4free_gets_the_provider_in_the_body(fake_client, fake_server):
    fake_server.on("GET", "/v1/models", json_body={"data": [{"id": "flux"}]})
    fake_server.on_generate(json_body={"data": [{"b64_json": png_base64()}]})
    generation = fake_client.post("/api/generate", json={"prompt": "a", "model": "flux", "provider": "X"}).get_json()
    assert generation["endpoint"] == fake_server.api_base + "/images/generations"
    assert generation["request"]["provider"] == "X"


LITELLM_MODELS = {"data": [{"id": "painter", "object": "model"}, {"id": "image-describer", "object": "model"},
                           {"id": "gpt-4o", "object": "model"}]}
LITELLM_INFO = {"data": [
    {"model_name": "painter", "model_info": {"mode": "image_generation"}},
    {"model_name": "image-describer", "model_info": {"mode": "chat"}},
    {"model_name": "gpt-4o", "model_info": {"mode": "chat"}},
]}


def test_litellm_s_image_models_come_from_model_info_and_come_first(fake_client, fake_server):
    fake_server.on("GET", "/v1/models", json_body=LITELLM_MODELS)
    fake_server.on("GET", "/v1/model/info", json_body=LITELLM_INFO)
    listed = fake_client.get("/api/models").get_json()
    assert listed["server_kind"] == "litellm"
    assert [(model["id"], model["image"]) for model in listed["models"]] == \
        [("painter", True), ("gpt-4o", False), ("image-describer", False)]


@pytest.mark.parametrize("status, info", [(404, {"detail": "Not Found"}), (200, {"data": "not a list"}),
                                          (200, {"data": [{"model_name": "painter"}]})])
def test_without_litellm_s_model_info_models_are_guessed_from_their_names(fake_client, fake_server, status, info):
    fake_server.on("GET", "/v1/models", json_body=LITELLM_MODELS)
    fake_server.on("GET", "/v1/model/info", status=status, json_body=info)
    listed = fake_client.get("/api/models").get_json()
    assert listed["server_kind"] is None
    assert [(model["id"], model["image"]) for model in listed["models"]][0] == ("image-describer", True)
