"""Proofsheet against the real gpt4free API server (g4f 8.8, offline, with its own ProofsheetPainter provider)."""
import html

import openai
import pytest
import requests

from proofsheet.web.snippets import curl_command, python_snippet
from tests.support import kept, sdk


PAINTER = "ProofsheetPainter"


def generate(live, **fields):
    answer = requests.post(f"{live.url}/api/generate", json={"prompt": "a red kite", "model": "painter-1", **fields},
                           timeout=60)
    return answer.status_code, answer.json()


def root(api_base):
    return api_base.removesuffix("/v1")


def test_the_model_list_names_gpt4free_and_its_providers_apart_from_its_models(proofsheet_on_gpt4free):
    listed = requests.get(f"{proofsheet_on_gpt4free.url}/api/models", timeout=30).json()
    assert listed["server_kind"] == "gpt4free"
    assert PAINTER in listed["providers"]
    assert PAINTER not in [model["id"] for model in listed["models"]]


def test_a_picked_provider_goes_to_its_own_route_without_the_field_and_the_image_is_shown(proofsheet_on_gpt4free,
                                                                                          gpt4free):
    status, generation = generate(proofsheet_on_gpt4free, provider=PAINTER, response_format="url")
    assert status == 200 and generation["status"] == "ok", generation["error"]
    assert generation["endpoint"] == f"{root(gpt4free)}/api/{PAINTER}/images/generations"
    assert "provider" not in generation["request"]
    image = generation["images"][0]
    assert image["source"] == "data_uri" and (image["width"], image["height"]) == (64, 48)
    assert requests.get(proofsheet_on_gpt4free.url + image["src"], timeout=10).content[:4] == b"\x89PNG"


def test_the_request_view_and_the_copied_snippets_show_exactly_what_was_sent(proofsheet_on_gpt4free):
    _, generation = generate(proofsheet_on_gpt4free, provider=PAINTER, response_format="url")
    page = html.unescape(requests.get(proofsheet_on_gpt4free.url + generation["permalink"], timeout=10).text)
    assert f"POST {generation['endpoint']}" in page and generation["images"][0]["src"] in page
    assert curl_command(generation["endpoint"], generation["request"], False) in page
    assert python_snippet(generation["endpoint"], generation["request"], False) in page
    assert 'id="provider" name="provider" value="ProofsheetPainter"' in page  # the form asks for it again


def test_run_again_asks_the_same_provider_by_the_same_route(proofsheet_on_gpt4free):
    _, first = generate(proofsheet_on_gpt4free, provider=PAINTER, response_format="url")
    again = requests.post(f"{proofsheet_on_gpt4free.url}/generations/{first['id']}/rerun", timeout=60)
    assert again.status_code == 200 and again.url != proofsheet_on_gpt4free.url + first["permalink"]
    second = requests.get(again.url.replace("/generations/", "/api/generations/"), timeout=10).json()
    assert (second["endpoint"], second["request"], second["status"]) == \
        (first["endpoint"], first["request"], "ok")


def test_response_format_null_is_fetched_from_the_media_address_gpt4free_answers(proofsheet_on_gpt4free, gpt4free):
    status, generation = generate(proofsheet_on_gpt4free, provider=PAINTER)
    assert status == 200 and generation["status"] == "ok", generation["error"]
    assert generation["request"]["response_format"] is None
    image = generation["images"][0]
    assert image["source"] == "url" and image["original_url"].startswith(f"{root(gpt4free)}/media/")
    assert image["format"] == "PNG"


def test_a_provider_failure_shows_gpt4free_s_own_words(proofsheet_on_gpt4free):
    status, generation = generate(proofsheet_on_gpt4free, provider=PAINTER, prompt="please fail")
    assert generation["status"] == "failed" and generation["upstream_status"] == 500
    assert "Request execution failed" in generation["error"]["message"]


def test_the_sdk_through_v1_lists_models_and_provider_rows_as_gpt4free_sends_them(proofsheet_on_gpt4free):
    rows = {row.id: row for row in sdk(proofsheet_on_gpt4free).models.list()}
    assert rows[PAINTER].model_extra["provider"] is True
    assert rows["default"].model_extra["provider"] is False


def test_the_sdk_through_v1_gets_the_image_and_the_call_is_kept(proofsheet_on_gpt4free):
    raw = sdk(proofsheet_on_gpt4free).images.with_raw_response.generate(model="painter-1", prompt="a blue kite",
                                                                        response_format="url")
    assert raw.parse().data[0].url.startswith("data:image/png;base64,")
    generation = kept(proofsheet_on_gpt4free, int(raw.headers["X-Proofsheet-Generation"]))
    assert generation["status"] == "ok" and generation["via"] == "v1" and generation["images"][0]["format"] == "PNG"


def test_v1_passes_a_provider_in_the_body_on_as_sent_and_gpt4free_s_500_back(proofsheet_on_gpt4free):
    """/v1 relays what a program sent, byte for byte: gpt4free 8.8 refuses a body that names a provider."""
    with pytest.raises(openai.InternalServerError) as refused:
        sdk(proofsheet_on_gpt4free).images.generate(model="painter-1", prompt="a kite",
                                                    extra_body={"provider": PAINTER})
    assert "Request execution failed" in str(refused.value)


def test_v1_with_rewrite_urls_points_gpt4free_s_media_url_at_proofsheet_s_copy(proofsheet_on_gpt4free):
    """gpt4free (uvicorn) names its headers in lower case; the rewrite must still happen."""
    answer = requests.post(f"{proofsheet_on_gpt4free.url}/v1/images/generations?rewrite_urls=1", timeout=60,
                           json={"model": "painter-1", "prompt": "a green kite", "response_format": None})
    assert answer.status_code == 200
    url = answer.json()["data"][0]["url"]
    assert url.startswith(f"{proofsheet_on_gpt4free.url}/images/")
    assert requests.get(url, timeout=10).content[:4] == b"\x89PNG"
