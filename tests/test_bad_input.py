"""Whatever a person or a program sends, the answer is a clear 4xx message and the app stays healthy."""
import json

import pytest

LONG = "x" * 4001
J = "application/json"

# (what is wrong, path, body, content type, status, words in the message)
BAD_INPUTS = [
    ("not JSON", "/api/generate", b"{", J, 400, "not valid JSON"),
    ("truncated JSON", "/api/generate", b'{"prompt": "a', J, 400, "not valid JSON"),
    ("JSON list", "/api/generate", b'["a cat"]', J, 400, "must be a JSON object"),
    ("JSON string", "/api/generate", b'"a cat"', J, 400, "must be a JSON object"),
    ("JSON number", "/api/generate", b"42", J, 400, "must be a JSON object"),
    ("JSON null", "/api/generate", b"null", J, 400, "must be a JSON object"),
    ("not UTF-8", "/api/generate", b'{"prompt": "\xff\xfe"}', J, 400, "not UTF-8"),
    ("UTF-16", "/api/generate", '{"prompt": "a"}'.encode("utf-16"), J, 400, "not UTF-8"),
    ("empty body", "/api/generate", b"", J, 400, "not valid JSON"),
    ("deeply nested", "/api/generate", b"[" * 100_000 + b"]" * 100_000, J, 400, "not valid JSON"),
    ("nested past the parser", "/api/generate", b'{"a":' * 50_000 + b"1" + b"}" * 50_000, J, 400, "not valid JSON"),
    ("over 1 MB", "/api/generate", json.dumps({"prompt": "x" * 1_100_000}).encode(), J, 413, "too large"),
    ("form body", "/api/generate", b"prompt=cat", "application/x-www-form-urlencoded", 415, "application/json"),
    ("text body", "/api/generate", b'{"prompt": "cat"}', "text/plain", 415, "application/json"),
    ("no content type", "/api/generate", b'{"prompt": "cat"}', None, 415, "application/json"),
    ("prompt missing", "/api/generate", {"model": "flux"}, J, 400, "cannot be blank"),
    ("prompt empty", "/api/generate", {"prompt": ""}, J, 400, "cannot be blank"),
    ("prompt blank", "/api/generate", {"prompt": " \n\t "}, J, 400, "cannot be blank"),
    ("prompt null", "/api/generate", {"prompt": None}, J, 400, "cannot be blank"),
    ("prompt a number", "/api/generate", {"prompt": 42}, J, 400, "The prompt must be text."),
    ("prompt a list", "/api/generate", {"prompt": ["a", "b"]}, J, 400, "The prompt must be text."),
    ("prompt an object", "/api/generate", {"prompt": {"text": "a"}}, J, 400, "The prompt must be text."),
    ("prompt too long", "/api/generate", {"prompt": LONG}, J, 400, "at most 4,000 are allowed"),
    ("prompt with NUL", "/api/generate", {"prompt": "a\x00cat"}, J, 400, "control characters"),
    ("model too long", "/api/generate", {"prompt": "a", "model": "m" * 201}, J, 400, "one line of at most 200"),
    ("model with a new line", "/api/generate", {"prompt": "a", "model": "flux\nx"}, J, 400, "one line"),
    ("model a number", "/api/generate", {"prompt": "a", "model": 3}, J, 400, "The model must be text."),
    ("format unknown", "/api/generate", {"prompt": "a", "response_format": "png"}, J, 400, 'none, "url" or "b64_json"'),
    ("format a number", "/api/generate", {"prompt": "a", "response_format": 1}, J, 400, 'none, "url" or "b64_json"'),
    ("n zero", "/api/generate", {"prompt": "a", "n": 0}, J, 400, "between 1 and 10"),
    ("n eleven", "/api/generate", {"prompt": "a", "n": 11}, J, 400, "between 1 and 10"),
    ("n negative", "/api/generate", {"prompt": "a", "n": -1}, J, 400, "between 1 and 10"),
    ("n words", "/api/generate", {"prompt": "a", "n": "two"}, J, 400, "must be a whole number"),
    ("n a fraction", "/api/generate", {"prompt": "a", "n": 1.5}, J, 400, "must be a whole number"),
    ("n a boolean", "/api/generate", {"prompt": "a", "n": True}, J, 400, "must be a whole number"),
    ("n infinite", "/api/generate", b'{"prompt": "a", "n": 1e999}', J, 400, "must be a whole number"),
    ("n a list", "/api/generate", {"prompt": "a", "n": [1]}, J, 400, "must be a whole number"),
    ("size words", "/api/generate", {"prompt": "a", "size": "big"}, J, 400, 'look like "1024x1024"'),
    ("size too small", "/api/generate", {"prompt": "a", "size": "10x10"}, J, 400, "between 64 and 4096"),
    ("size too large", "/api/generate", {"prompt": "a", "size": "5000x5000"}, J, 400, "between 64 and 4096"),
    ("size with a star", "/api/generate", {"prompt": "a", "size": "1024*1024"}, J, 400, 'look like "1024x1024"'),
    ("size a number", "/api/generate", {"prompt": "a", "size": 1024}, J, 400, "The size must be text."),
    ("seed negative", "/api/generate", {"prompt": "a", "seed": -1}, J, 400, "The seed must be between 0"),
    ("seed words", "/api/generate", {"prompt": "a", "seed": "lucky"}, J, 400, "The seed must be a whole number"),
    ("seed too big", "/api/generate", {"prompt": "a", "seed": 2**64}, J, 400, "The seed must be between 0"),
    ("seed a fraction", "/api/generate", {"prompt": "a", "seed": 0.5}, J, 400, "The seed must be a whole number"),
    ("negative prompt too long", "/api/generate", {"prompt": "a", "negative_prompt": LONG}, J, 400, "at most 4,000"),
    ("negative prompt a number", "/api/generate", {"prompt": "a", "negative_prompt": 1}, J, 400, "must be text"),
    ("several fields at once", "/api/generate", {"prompt": "", "n": 0, "size": "x"}, J, 400, "cannot be blank"),
    ("compare without models", "/api/compare", {"prompt": "a", "models": []}, J, 400, "Name at least one model."),
    ("compare with one cell", "/api/compare", {"prompt": "a", "models": ["flux"]}, J, 400, "at least two models"),
    ("compare too wide", "/api/compare", {"prompt": "a", "models": list("abcdefghijklmnopq")}, J, 400, "At most 16"),
    ("grid too big", "/api/compare", {"prompt": "a", "models": list("abcd"), "seeds": list(range(5))}, J, 400,
     "At most 16 images in one grid: 4 models × 5 seeds is 20."),
    ("two row axes", "/api/compare", {"prompt": "a", "models": ["a"], "seeds": [1, 2], "prompts": ["b", "c"]}, J,
     400, "Choose one axis for the rows"),
    ("search/replace word missing", "/api/compare", {"prompt": "a cat", "models": ["a"], "prompt_sr": ["dog", "owl"]},
     J, 400, "looks for 'dog' in the prompt, and it is not there"),
    ("a row axis of its own field", "/api/compare", {"prompt": "a", "models": ["a"], "y_axis": "model",
                                                     "y_values": ["b", "c"]}, J, 400, "cannot be a row axis"),
    ("compare bad seeds", "/api/compare", {"prompt": "a", "models": ["flux"], "seeds": "1, two"}, J, 400,
     "The seed must be a whole number"),
    ("compare models a number", "/api/groups", {"prompt": "a", "models": 5}, J, 400, "The model must be text."),
    ("cell of no comparison", "/api/generate", {"prompt": "a", "group_id": 12345}, J, 400, "must name a comparison"),
    ("cell with a text group", "/api/generate", {"prompt": "a", "group_id": "1"}, J, 400, "must name a comparison"),
    ("cancel without a ref", "/api/cancel", {}, J, 400, "client_ref"),
    ("cancel of nothing", "/api/cancel", {"client_ref": "nope"}, J, 404, "No generation"),
    ("unknown API path", "/api/nothing", {}, J, 404, "nothing at this address"),
    ("wrong method", "/api/generations/1", {}, J, 405, "does not take this kind of request"),
]


@pytest.mark.parametrize("what, path, body, content_type, status, words", BAD_INPUTS,
                         ids=[row[0] for row in BAD_INPUTS])
def test_bad_input_gets_a_clear_message_and_the_app_stays_healthy(client, what, path, body, content_type, status,
                                                                  words):
    data = json.dumps(body).encode() if isinstance(body, dict) else body
    headers = {"Content-Type": content_type} if content_type else {}
    response = client.post(path, data=data, headers=headers)
    assert response.status_code == status
    answer = response.get_json()
    assert words in answer["error"]["message"]
    assert "Traceback" not in response.get_data(as_text=True)
    assert client.get("/healthz").get_json()["app"] == "ok"
    assert client.get("/").status_code == 200


FORM_INPUTS = [
    ({"prompt": "", "model": "dall-e-3", "size": "512x512"}, "Write a prompt", ['value="dall-e-3"', 'value="512x512"']),
    ({"prompt": "keep me", "n": "many"}, "whole number", ["keep me</textarea>", 'value="many"']),
    ({"prompt": "keep me", "size": "huge"}, 'look like &#34;1024x1024&#34;', ["keep me</textarea>", 'value="huge"']),
    ({"prompt": "keep me", "seed": "-5"}, "The seed must be between", ['value="-5"']),
    ({"prompt": "keep me", "response_format": "gif"}, "The response format must be", ["keep me</textarea>"]),
    ({"prompt": "<b>bold</b>" * 500}, "at most 4,000", ["&lt;b&gt;bold&lt;/b&gt;"]),
]


@pytest.mark.parametrize("form, message, kept", FORM_INPUTS)
def test_bad_form_input_keeps_what_was_typed(client, form, message, kept):
    response = client.post("/generate", data=form)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert message in page
    for fragment in kept:
        assert fragment in page


def test_bad_compare_form_keeps_what_was_typed(client):
    response = client.post("/compare", data={"prompt": "", "target_model": ["flux", "nope"], "y_axis": "seed",
                                             "y_values": "x"})
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Write a prompt" in page and "The seed must be a whole number." in page
    assert 'value="flux"' in page and 'value="nope"' in page and ">x</textarea>" in page
    assert '<option value="seed" selected>' in page
