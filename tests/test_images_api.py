"""The whole Images API: every field forwarded, the gpt-image dialect, usage and cost, asked vs got for the new
fields, provider rows, streamed partial images and edits with a mask — against the demo server and fakes."""
import base64
import io
import json
import re
import time

import pytest
import requests
from hypothesis import given, settings, strategies as st
from PIL import Image

from proofsheet.demo.server import DemoImageServer
from proofsheet.history.prices import PriceTable
from proofsheet.upstream import sse
from tests.support import LiveApp, png_base64, png_bytes


def generate(client, **body):
    return client.post("/api/generate", json={"prompt": "a fox", **body})


def last_sent(demo_server):
    return demo_server.requests_seen[-1]


# -- every field forwarded ----------------------------------------------------------------------------------------

def test_fields_proofsheet_does_not_know_are_forwarded_untouched_and_shown_as_sent(client, demo_server):
    extra = {"step": 30, "ref_images": ["a.png", "b.png"], "file": None, "options": {"seamless": True}}
    answer = generate(client, model="flux", **extra).get_json()
    sent = last_sent(demo_server)
    assert {name: sent[name] for name in extra} == extra
    assert answer["request"] == sent  # the request shown is exactly what was sent
    page = client.get(f"/generations/{answer['id']}").get_data(as_text=True)
    assert "ref_images" in page and "seamless" in page


def test_gpt_image_models_are_sent_no_response_format_unless_one_is_picked(client, demo_server):
    answer = generate(client, model="gpt-image-1", quality="high", background="transparent", output_format="webp",
                      response_format=None)
    assert answer.status_code == 200
    assert "response_format" not in last_sent(demo_server)
    assert last_sent(demo_server)["quality"] == "high" and last_sent(demo_server)["output_format"] == "webp"
    picked = generate(client, model="gpt-image-1", response_format="b64_json")
    assert picked.status_code == 502  # sent because it was picked, and the server says what it thinks of it
    assert "Unknown parameter: 'response_format'" in picked.get_json()["error"]["message"]


def test_other_models_still_get_response_format_null_as_the_seed_script_sends_it(client, demo_server):
    generate(client, model="flux")
    assert last_sent(demo_server) == {"model": "flux", "prompt": "a fox", "response_format": None}


def test_size_auto_is_accepted_and_sent(client, demo_server):
    assert generate(client, model="gpt-image-1", size="auto").status_code == 200
    assert last_sent(demo_server)["size"] == "auto"


def test_gpt4free_fields_from_the_form_are_sent_with_their_types(client, demo_server):
    """The provider goes in the path of gpt4free's per-provider route: gpt4free 8.8 answers 500 to it in the body."""
    made = client.post("/generate", data={"prompt": "a fox", "model": "flux", "provider": "DemoFlux",
                                          "aspect_ratio": "16:9", "num_inference_steps": "30", "guidance_scale": "7.5"})
    sent = last_sent(demo_server)
    assert "provider" not in sent
    assert (sent["aspect_ratio"], sent["num_inference_steps"], sent["guidance_scale"]) == ("16:9", 30, 7.5)
    generation = client.get("/api" + made.headers["Location"]).get_json()
    assert generation["endpoint"] == demo_server.base_url + "/api/DemoFlux/images/generations"


def test_extra_fields_from_the_form_are_merged_into_the_body(client, demo_server):
    response = client.post("/generate", data={"prompt": "a fox", "model": "flux",
                                              "extra_fields": '{"step": 12, "ref_images": ["x.png"]}'})
    assert response.status_code == 303
    assert last_sent(demo_server)["step"] == 12 and last_sent(demo_server)["ref_images"] == ["x.png"]
    kept = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "&#34;step&#34;: 12" in kept  # "Use these settings" puts them back in the box


@pytest.mark.parametrize("extra, message", [
    ("{step: 12}", "Extra fields are not valid JSON: Expecting property name enclosed in double quotes (line 1, "
                   "column 2)."),
    ("[1, 2]", "Extra fields must be a JSON object"),
    ('{"prompt": "other"}', "\"prompt\" has its own field in the form; remove it from Extra fields."),
])
def test_bad_extra_fields_are_explained_and_the_form_keeps_what_was_typed(client, demo_server, extra, message):
    response = client.post("/generate", data={"prompt": "kept prompt", "extra_fields": extra})
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert message.replace('"', "&#34;") in page
    assert "kept prompt" in page
    assert demo_server.requests_seen == []


@pytest.mark.parametrize("body, field, message", [
    ({"model": "gpt-image-1", "quality": "hd"}, "quality",
     "GPT image models take quality low, medium, high or auto, not 'hd'."),
    ({"model": "dall-e-3", "n": 2}, "n", "DALL·E 3 makes at most 1 image per request (n=1)."),
    ({"model": "gpt-image-1", "background": "transparent", "output_format": "jpeg"}, "background",
     "A transparent background needs the png or webp output format, not jpeg."),
    ({"model": "gpt-image-1", "output_compression": 101}, "output_compression",
     "Output compression must be between 0 and 100."),
    ({"model": "gpt-image-1", "stream": "yes"}, "stream", "Stream must be true or false."),
    ({"model": "gpt-image-1", "partial_images": 4}, "partial_images", "Partial images must be between 0 and 3."),
])
def test_the_dialect_table_checks_what_each_model_family_takes(client, demo_server, body, field, message):
    answer = generate(client, **body)
    assert answer.status_code == 400
    assert answer.get_json()["error"]["fields"][field] == message
    assert demo_server.requests_seen == []


def test_dall_e_3_takes_style_and_hd(client, demo_server):
    answer = generate(client, model="dall-e-3", quality="hd", style="natural").get_json()
    assert last_sent(demo_server)["quality"] == "hd" and last_sent(demo_server)["style"] == "natural"
    assert answer["cost"]["usd"] == pytest.approx(0.08)


# -- usage and cost -----------------------------------------------------------------------------------------------

def test_usage_is_kept_and_the_cost_estimated_from_the_price_table(client, demo_server, app):
    answer = generate(client, model="gpt-image-1", quality="high").get_json()
    usage = answer["usage"]
    assert usage["output_tokens"] == 4160 and usage["input_tokens_details"]["text_tokens"] == usage["input_tokens"]
    expected = (usage["input_tokens"] * 5.00 + 4160 * 40.00) / 1_000_000
    assert answer["cost"]["usd"] == pytest.approx(expected)
    page = client.get(f"/generations/{answer['id']}").get_data(as_text=True)
    assert f"≈ ${expected:.4f}" in page and "4,160 out" in page
    assert f"${expected:.2f}" in client.get("/generations").get_data(as_text=True)  # the running total

    prices_file = app.extensions["store"].prices.path
    table = json.loads(prices_file.read_text())
    table["models"]["gpt-image-1"]["per_million_tokens"]["image_output"] = 80.0
    time.sleep(0.01)
    prices_file.write_text(json.dumps(table))
    again = client.get(f"/api/generations/{answer['id']}").get_json()
    doubled = (usage["input_tokens"] * 5.00 + 4160 * 80.00) / 1_000_000
    assert again["cost"]["usd"] == pytest.approx(doubled)
    assert f"${doubled:.2f}" in client.get("/generations").get_data(as_text=True)  # the total follows the table


def test_the_running_total_follows_new_and_deleted_generations(client):
    first = generate(client, model="dall-e-3", quality="hd", size="1792x1024").get_json()
    assert "$0.12</strong> over 1 priced generation" in client.get("/generations").get_data(as_text=True)
    second = generate(client, model="dall-e-3", quality="hd", size="1792x1024").get_json()
    assert "$0.24</strong> over 2 priced generations" in client.get("/generations").get_data(as_text=True)
    client.delete(f"/api/generations/{first['id']}")
    assert "$0.12</strong> over 1 priced generation" in client.get("/generations").get_data(as_text=True)
    assert second["cost"]["usd"] == pytest.approx(0.12)


def test_a_model_without_a_price_gets_no_estimate(client):
    assert generate(client, model="flux").get_json()["cost"] is None


def test_a_comparison_adds_up_its_cells(client):
    answer = client.post("/api/compare", json={"prompt": "a fox", "models": ["gpt-image-1", "dall-e-3"]}).get_json()
    cells = [cell["cost"]["usd"] for cell in answer["results"]]
    assert answer["cost"]["usd"] == pytest.approx(sum(cells))


@pytest.mark.parametrize("model, request_body, usage, images, usd", [
    ("gpt-image-1", {}, {"input_tokens": 50, "input_tokens_details": {"text_tokens": 40, "image_tokens": 10},
                         "output_tokens": 1056, "total_tokens": 1106}, 1, (40 * 5 + 10 * 10 + 1056 * 40) / 1e6),
    ("gpt-image-1-mini", {}, {"input_tokens": 20, "output_tokens": 272}, 1, (20 * 2 + 272 * 8) / 1e6),
    ("gpt-image-1-2025-04-15", {}, {"input_tokens": 10, "output_tokens": 100}, 1, (10 * 5 + 100 * 40) / 1e6),
    ("dall-e-3", {"quality": "hd", "size": "1792x1024"}, None, 1, 0.12),
    ("dall-e-2", {"size": "512x512"}, None, 3, 3 * 0.018),
    ("gpt-image-2", {}, {"input_tokens": 10, "output_tokens": 100}, 1, None),  # no verified price: no estimate
])
def test_price_estimates_against_known_values(tmp_path, model, request_body, usage, images, usd):
    cost = PriceTable(tmp_path).estimate(model, request_body, usage, images)
    assert (cost.usd if cost else None) == (pytest.approx(usd) if usd is not None else None)


# -- asked vs got, provider rows ----------------------------------------------------------------------------------

def test_asked_vs_got_for_format_transparency_and_quality(fake_client, fake_server):
    fake_server.on_generate(json_body={"data": [{"b64_json": png_base64()}], "background": "opaque",
                                       "output_format": "png", "quality": "medium", "size": "1024x1024"})
    answer = fake_client.post("/api/generate", json={"prompt": "x", "model": "gpt-image-1", "quality": "high",
                                                     "background": "transparent", "output_format": "webp"}).get_json()
    notes = [note["message"] for note in answer["notes"]]
    assert "Asked quality high, the server answered medium." in notes
    assert "Asked background transparent, the server answered opaque." in notes
    assert "Asked format webp, the server answered png." in notes
    assert "Asked WEBP, got PNG." in notes
    assert "Asked a transparent background, got an opaque image (no alpha channel)." in notes


def test_a_transparent_image_that_came_back_transparent_gets_no_note(client):
    answer = generate(client, model="gpt-image-1", background="transparent", output_format="png").get_json()
    assert answer["notes"] == []


def test_provider_rows_are_not_offered_as_models(client):
    answer = client.get("/api/models").get_json()
    assert answer["server_kind"] == "gpt4free"
    assert answer["providers"] == ["DemoFlux", "DemoGallery"]
    assert not {"DemoFlux", "DemoGallery"} & {model["id"] for model in answer["models"]}


# -- streaming ----------------------------------------------------------------------------------------------------

@pytest.fixture
def streaming_app(make_app, tmp_path):
    with DemoImageServer(partial_delay=0.3) as server:
        live = LiveApp(make_app(tmp_path, server.api_base))
        live.demo = server
        yield live
        live.stop()


def read_stream(url, body):
    """Each event with the time it arrived."""
    started = time.monotonic()
    arrived = []
    with requests.post(url + "/api/generate", json=body, stream=True, timeout=30) as response:
        assert response.headers["Content-Type"].startswith("text/event-stream")
        reader = sse.EventReader()
        for chunk in response.iter_content(chunk_size=None):
            for event in reader.feed(chunk):
                arrived.append((time.monotonic() - started, event.name, event.json()))
    return arrived


def test_streamed_partials_are_relayed_as_they_arrive_and_then_the_result(streaming_app):
    events = read_stream(streaming_app.url, {"prompt": "a fox", "model": "gpt-image-1", "stream": True,
                                             "partial_images": 2})
    names = [name for _, name, _ in events]
    assert names == ["started", "partial", "partial", "done"]
    first_partial, done = events[1][0], events[-1][0]
    assert done - first_partial > 0.45  # the first partial came while the server was still working
    partial = events[1][2]
    image = requests.get(streaming_app.url + partial["src"], timeout=5)
    assert image.headers["Content-Type"] == "image/png"
    assert Image.open(io.BytesIO(image.content)).size == (1024, 1024)
    result = events[-1][2]
    assert result["status"] == "ok" and result["usage"]["output_tokens"] == 1056
    kept = requests.get(streaming_app.url + f"/api/generations/{result['id']}", timeout=5).json()
    assert kept["raw"][0]["type"] == "image_generation.partial_image"  # the raw view lists the events
    raw = requests.get(streaming_app.url + f"/generations/{result['id']}/raw.json", timeout=5)
    assert raw.content.startswith(b"event: image_generation.partial_image")


def test_a_server_that_refuses_to_stream_is_said_plainly_and_a_retry_without_is_offered(fake_app, fake_server):
    fake_server.on_generate(status=400, json_body={"error": {"message": "Streaming is not supported here."}})
    client = fake_app.test_client()
    events = client.post("/api/generate", json={"prompt": "x", "model": "gpt-image-1", "stream": True}).get_data()
    done = [event for event in sse.read_all(events) if event.name == "done"][0].json()
    assert "Streaming is not supported here." in done["error"]["message"]
    page = client.get(f"/generations/{done['id']}").get_data(as_text=True)
    assert "Try again without streaming" in page
    fake_server.on_generate(json_body={"data": [{"b64_json": png_base64()}]})
    again = client.post(f"/generations/{done['id']}/rerun?without=stream")
    assert "stream" not in json.loads(fake_server.received[-1]["body"])
    assert client.get(again.headers["Location"]).status_code == 200


def test_a_server_that_ignores_stream_gets_a_note(fake_client, fake_server):
    fake_server.on_generate(json_body={"data": [{"b64_json": png_base64()}]})
    events = fake_client.post("/api/generate", json={"prompt": "x", "model": "gpt-image-1", "stream": True}).data
    done = [event for event in sse.read_all(events) if event.name == "done"][0].json()
    assert "Asked for a stream of partial images; the server answered all at once." in \
        [note["message"] for note in done["notes"]]


EVENTS = (b"event: image_generation.partial_image\ndata: {\"type\": \"image_generation.partial_image\", "
          b"\"partial_image_index\": 0}\n\n: a comment\n\nevent: image_generation.completed\r\ndata: {\"a\":\r\n"
          b"data: 1}\r\n\r\ndata: [DONE]\n\n")


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=len(EVENTS) - 1), max_size=12))
def test_events_are_read_whole_wherever_the_bytes_are_split(cuts):
    reader = sse.EventReader()
    events = []
    edges = [0, *sorted(set(cuts)), len(EVENTS)]
    for start, end in zip(edges, edges[1:]):
        events += reader.feed(EVENTS[start:end])
    events += reader.close()
    assert [event.name for event in events] == ["image_generation.partial_image", "image_generation.completed",
                                                "message"]
    assert events[1].json() == {"a": 1} and events[2].data == sse.DONE and events[2].json() is None


# -- edits --------------------------------------------------------------------------------------------------------

def mask_png(size=(64, 48), hole=(8, 8, 40, 30)):
    mask = Image.new("RGBA", size, (0, 0, 0, 255))
    mask.paste((0, 0, 0, 0), hole)
    out = io.BytesIO()
    mask.save(out, "PNG")
    return out.getvalue()


def post_edit(client, **fields):
    files = fields.pop("files", {})
    data = {"prompt": "add a hat", **fields}
    for name, items in files.items():
        data[name] = [(io.BytesIO(content), filename) for filename, content in items]
    return client.post("/api/edit", data=data, content_type="multipart/form-data")


def test_an_edit_with_a_mask_is_sent_as_multipart_and_kept_with_its_inputs(client, demo_server):
    answer = post_edit(client, quality="low", files={"image": [("photo.png", png_bytes())],
                                                     "mask": [("mask.png", mask_png())]})
    result = answer.get_json()
    assert answer.status_code == 200, result["error"]
    assert last_sent(demo_server) == {"model": "gpt-image-1", "prompt": "add a hat", "quality": "low"}
    assert result["kind"] == "edit" and result["endpoint"].endswith("/v1/images/edits")
    assert [(item["role"], item["width"]) for item in result["inputs"]] == [("image", 64), ("mask", 64)]
    assert result["usage"]["input_tokens_details"]["image_tokens"] == 323
    mask_back = client.get(result["inputs"][1]["src"]).data
    assert mask_back == mask_png()
    with Image.open(io.BytesIO(client.get(result["images"][0]["src"]).data)) as edited:
        assert edited.size == (1024, 1024)  # the demo draws the edit at the size asked (auto: 1024)


def test_several_images_go_as_image_brackets(fake_app, fake_server):
    fake_server.on("POST", "/v1/images/edits", json_body={"data": [{"b64_json": png_base64()}]})
    answer = post_edit(fake_app.test_client(), files={"image": [("a.png", png_bytes()), ("b.png", png_bytes(32, 32))]})
    assert answer.status_code == 200
    body = fake_server.received[-1]["body"]
    assert body.count(b'name="image[]"') == 2 and b'name="prompt"' in body


def test_an_edit_can_start_from_a_kept_image_and_both_pages_link_each_other(client, demo_server):
    source = generate(client, model="gpt-image-1", size="1024x1024").get_json()
    edit = post_edit(client, source_generation=str(source["id"]), source_image="0").get_json()
    assert edit["source"] == {"generation": source["id"], "image": 0, "permalink": f"/generations/{source['id']}"}
    assert client.get(f"/api/generations/{source['id']}").get_json()["edits"] == [edit["id"]]
    assert re.search(rf'Edited from</span> <a [^>]*href="/generations/{source["id"]}">#{source["id"]}</a>',
                     client.get(f"/generations/{edit['id']}").get_data(as_text=True))
    assert f"/generations/{edit['id']}\">#{edit['id']}</a>" in \
        client.get(f"/generations/{source['id']}").get_data(as_text=True)
    again = client.post(f"/generations/{edit['id']}/rerun")
    rerun = client.get("/api/generations?per_page=1").get_json()["generations"][0]
    assert again.status_code == 303 and rerun["id"] == edit["id"] + 1
    assert client.get(f"/api/generations/{rerun['id']}").get_json()["kind"] == "edit"


@pytest.mark.parametrize("files, fields, message", [
    ({"image": [("notes.txt", b"just text")]}, {}, "Image 1 (notes.txt) is not an image that can be sent"),
    ({"image": [("anim.gif", base64.b64decode("R0lGODlhAQABAIAAAP///wAAACwAAAAAAQABAAACAkQBADs="))]}, {},
     "is GIF; edits take PNG, WebP or JPEG."),
    ({"image": [("a.png", png_bytes())], "mask": [("m.png", mask_png((32, 32), (0, 0, 8, 8)))]}, {},
     "The mask is 32×32 but the image is 64×48; they must be the same size."),
    ({"image": [("a.png", png_bytes())], "mask": [("m.png", png_bytes())]}, {},
     "The mask has no transparency: its fully transparent pixels mark where to edit."),
    ({}, {}, "Choose an image to edit"),
    ({}, {"source_generation": "999"}, "Generation #999 has no kept image 1 to start from."),
])
def test_bad_edits_are_refused_by_proofsheet_before_anything_is_sent(client, demo_server, files, fields, message):
    answer = post_edit(client, files=files, **fields)
    assert answer.status_code == 400
    assert message in answer.get_json()["error"]["message"]
    assert demo_server.requests_seen == []


def test_the_edit_page_works_without_javascript(client, demo_server):
    page = client.get("/edit")
    assert page.status_code == 200 and b'enctype="multipart/form-data"' in page.data
    response = client.post("/edit", data={"prompt": "plain form", "model": "gpt-image-1",
                                          "image": (io.BytesIO(png_bytes()), "a.png"),
                                          "mask": (io.BytesIO(mask_png()), "m.png")},
                           content_type="multipart/form-data")
    assert response.status_code == 303
    assert "Edited" not in client.get(response.headers["Location"]).get_data(as_text=True)
    refused = client.post("/edit", data={"prompt": "kept words", "image": (io.BytesIO(b"nope"), "x.png")},
                          content_type="multipart/form-data")
    assert refused.status_code == 400 and "kept words" in refused.get_data(as_text=True)


def test_streamed_edits_relay_partials(streaming_app):
    with requests.post(streaming_app.url + "/api/edit", stream=True, timeout=30,
                       data={"prompt": "a hat", "stream": "true", "partial_images": "1"},
                       files={"image": ("a.png", png_bytes(), "image/png")}) as response:
        names = [event.name for event in sse.read_all(response.content)]
    assert names == ["started", "partial", "done"]


def test_a_gpt4free_providers_own_models_can_be_listed(client):
    answer = client.get("/api/models?provider=DemoFlux").get_json()
    assert [model["id"] for model in answer["models"]] == ["flux", "flux-dev", "flux-schnell"]
    unknown = client.get("/api/models?provider=Nope").get_json()
    assert unknown["models"] == [] and "Provider not found: Nope" in unknown["error"]
