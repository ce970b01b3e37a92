"""Proofsheet against a real LiteLLM proxy (1.108, no database) routing to Proofsheet's demo server."""
import re

import openai
import pytest
import requests

from tests.support import kept, LiveApp, sdk
from tests.real.support import LITELLM_KEY



def generate(live, model="painter", **fields):
    answer = requests.post(f"{live.url}/api/generate", json={"prompt": "a lighthouse", "model": model, **fields},
                           timeout=60)
    return answer.json()


def test_litellm_s_image_models_come_from_model_info_and_are_listed_first(proofsheet_on_litellm):
    listed = requests.get(f"{proofsheet_on_litellm.url}/api/models", timeout=30).json()
    assert listed["server_kind"] == "litellm"
    images = {model["id"]: model["image"] for model in listed["models"]}
    assert images == {"painter": True, "unknown-painter": True, "image-describer": False}  # its word, not the name's
    assert [model["id"] for model in listed["models"]][-1] == "image-describer"


def test_an_image_through_litellm_is_shown(proofsheet_on_litellm, litellm_demo):
    generation = generate(proofsheet_on_litellm, response_format="b64_json", size="1024x1024")
    assert generation["status"] == "ok", generation["error"]
    assert generation["images"][0]["format"] == "PNG"
    assert litellm_demo.requests_seen[-1]["model"] == "dall-e-3"


def test_litellm_s_all_zero_usage_is_not_shown_as_tokens(proofsheet_on_litellm):
    generation = generate(proofsheet_on_litellm, response_format="b64_json")
    page = requests.get(proofsheet_on_litellm.url + generation["permalink"], timeout=10).text
    assert "0 in · 0 out" not in page


def test_litellm_s_cooldown_says_when_to_try_again(proofsheet_on_litellm):
    first = generate(proofsheet_on_litellm, model="unknown-painter")  # the demo server knows no dall-e-2
    assert first["status"] == "failed" and "Model not found: dall-e-2" in first["error"]["message"]
    cooled = generate(proofsheet_on_litellm, model="unknown-painter")
    assert cooled["upstream_status"] == 429
    assert "rate limited" in cooled["error"]["message"].lower()
    assert re.search(r"try again in \d+ s", cooled["error"]["message"])


def test_the_sdk_through_v1_lists_litellm_s_models(proofsheet_on_litellm):
    assert {row.id for row in sdk(proofsheet_on_litellm, LITELLM_KEY).models.list()} == \
        {"painter", "unknown-painter", "image-describer"}


def test_the_sdk_through_v1_gets_litellm_s_image_and_the_call_is_kept(proofsheet_on_litellm):
    raw = sdk(proofsheet_on_litellm, LITELLM_KEY).images.with_raw_response.generate(model="painter", prompt="a harbour",
                                                                       response_format="b64_json")
    assert raw.parse().data[0].b64_json
    generation = kept(proofsheet_on_litellm, int(raw.headers["X-Proofsheet-Generation"]))
    assert generation["status"] == "ok" and generation["via"] == "v1"


def test_the_sdk_through_v1_hears_litellm_s_refusal_in_its_words(proofsheet_on_litellm):
    with pytest.raises(openai.BadRequestError) as refused:
        sdk(proofsheet_on_litellm, LITELLM_KEY).images.generate(model="no-such-model", prompt="a harbour")
    assert "Invalid model name passed in model=no-such-model" in str(refused.value)


def test_a_wrong_key_is_told_in_litellm_s_own_words(make_app, tmp_path, litellm):
    """LiteLLM without a database answers a key it does not know with 400 "No connected db." on /models."""
    live = LiveApp(make_app(tmp_path, litellm, API_KEY="sk-not-the-master-key"))
    try:
        health = requests.get(f"{live.url}/healthz", timeout=30).json()["image_server"]
    finally:
        live.stop()
    assert not health["answers"] and "No connected db." in health["error"]
