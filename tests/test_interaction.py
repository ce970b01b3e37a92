"""Model listing, comparisons, result fragments and copyable snippets, through the web layer."""
import json
import re
import shlex

from proofsheet.upstream.models import ModelCatalog, ordered_models
from proofsheet.upstream.client import ImageServerClient
from proofsheet.web.snippets import curl_command, python_snippet
from tests.support import free_port


def test_models_lists_image_models_first_and_recent_ones_on_top(client):
    client.post("/api/generate", json={"prompt": "x", "model": "sdxl-turbo", "size": "64x64"})
    models = client.get("/api/models").get_json()["models"]
    ids = [model["id"] for model in models]
    assert ids[0] == "sdxl-turbo" and models[0]["recent"] is True
    assert ids.index("flux") < ids.index("gpt-4o-mini")
    assert "gpt-4o-mini" in ids  # never hidden for lacking an image flag


def test_gpt4free_rows_without_image_flag_are_kept_and_known_names_count_as_image():
    rows = [{"id": "gpt-4o", "image": False}, {"id": "flux-dev", "image": False}, {"id": "PollinationsAI", "image": True},
            {"id": "my-model", "type": "image"}, {"id": "dall-e-3"}]
    ordered = ordered_models(rows, recent=["custom-one"])
    assert [m["id"] for m in ordered] == ["custom-one", "dall-e-3", "flux-dev", "my-model", "PollinationsAI", "gpt-4o"]


def test_model_list_is_cached_and_refreshed_on_request(fake_server):
    fake_server.on("GET", "/v1/models", json_body={"data": [{"id": "flux"}]})
    now = [0.0]
    catalog = ModelCatalog(ImageServerClient(fake_server.api_base), clock=lambda: now[0])
    catalog.models([])
    catalog.models([])

    def listings():  # the model list only (a server that is not gpt4free is also asked for LiteLLM's /model/info)
        return sum(asked["path"] == "/v1/models" for asked in fake_server.received)
    assert listings() == 1
    catalog.models([], refresh=True)
    now[0] = 10_000
    catalog.models([])
    assert listings() == 3


def test_models_when_the_server_is_down_say_so_and_offer_no_model_that_failed(make_app, tmp_path):
    client = make_app(tmp_path, f"http://127.0.0.1:{free_port()}/v1").test_client()
    client.post("/api/generate", json={"prompt": "x", "model": "flxu"})
    answer = client.get("/api/models").get_json()
    assert "Could not reach the image server" in answer["error"]
    assert answer["models"] == []  # the typo produced no image, so it is not offered as recent


def test_api_compare_runs_every_model_in_parallel(make_app, tmp_path):
    from proofsheet.demo.server import DemoImageServer

    with DemoImageServer(delay=1.0) as slow:
        client = make_app(tmp_path, slow.api_base).test_client()
        answer = client.post("/api/compare", json={"prompt": "a cat", "models": ["flux", "sdxl-turbo", "dall-e-3"],
                                                   "size": "64x64"})
    body = answer.get_json()
    assert answer.status_code == 200
    assert [result["request"]["model"] for result in body["results"]] == ["flux", "sdxl-turbo", "dall-e-3"]
    assert all(result["status"] == "ok" for result in body["results"])
    assert body["permalink"] == f"/compare/{body['id']}"


def test_compare_with_seeds_and_an_error_in_one_cell(client, demo_server):
    body = client.post("/api/compare", json={"prompt": "a cat", "models": "flux, nope", "seeds": "1, 2",
                                             "size": "64x64"}).get_json()
    cells = [(r["request"]["model"], r["request"]["seed"], r["status"]) for r in body["results"]]
    assert cells == [("flux", 1, "ok"), ("nope", 1, "failed"), ("flux", 2, "ok"), ("nope", 2, "failed")]
    assert (body["columns"], body["rows"]) == (["flux", "nope"], ["seed 1", "seed 2"])  # an X/Y grid, along rows
    page = client.get(body["permalink"]).get_data(as_text=True)
    assert page.count('class="cell"') == 4 and "Model not found: nope" in page
    gallery = client.get("/generations").get_data(as_text=True)
    assert gallery.count(f'<a href="/compare/{body["id"]}">comparison #{body["id"]}</a>') == 4


def test_compare_form_without_javascript_redirects_to_the_grid(client):
    response = client.post("/compare", data={"prompt": "a dog", "models": "flux, sdxl-turbo", "size": "64x64"})
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert page.count('class="cell"') == 2 and "a dog" in page


def test_compare_refuses_too_many_or_too_few_cells_and_keeps_the_form(client):
    page = client.post("/compare", data={"prompt": "a dog", "target_model": ["flux", ""]}).get_data(as_text=True)
    assert "Name at least two models, or one model and two seeds" in page
    page = client.post("/compare", data={"prompt": "a dog", "target_model": ["a", "b", "c"], "y_axis": "seed",
                                         "y_values": "1, 2, 3, 4, 5, 6"})
    assert page.status_code == 400
    assert "At most 16 images in one grid: 3 models × 6 seeds is 18." in page.get_data(as_text=True)
    assert all(f'value="{model}"' in page.get_data(as_text=True) for model in "abc")


def test_a_started_group_takes_its_cells_one_by_one(client):
    group = client.post("/api/groups", json={"prompt": "a cat", "models": ["flux", "dall-e-3"]}).get_json()
    assert [cell["model"] for cell in group["cells"]] == ["flux", "dall-e-3"]
    second = client.post("/api/generate", json={**group["cells"][1], "group_id": group["id"], "group_position": 1})
    page = client.get(group["permalink"]).get_data(as_text=True)
    assert "Not run." in page and f'data-generation-id="{second.get_json()["id"]}"' in page
    refused = client.post("/api/generate", json={"prompt": "x", "group_id": 999})
    assert refused.status_code == 400


def test_result_fragment_is_the_result_alone(client):
    generation = client.post("/api/generate", json={"prompt": "fragment"}).get_json()
    fragment = client.get(f"/generations/{generation['id']}/fragment").get_data(as_text=True)
    assert fragment.lstrip().startswith('<section class="result"') and "<html" not in fragment
    cell = client.get(f"/generations/{generation['id']}/cell").get_data(as_text=True)
    assert cell.lstrip().startswith('<article class="cell"')


def test_notes_appear_as_badges_next_to_the_image(client):
    generation = client.post("/generate", data={"prompt": "a cat", "model": "flux", "n": "1", "size": "8192x64"})
    assert generation.status_code == 400  # bigger than allowed: refused before sending
    location = client.post("/generate", data={"prompt": "a cat", "model": "flux", "size": "4096x64"}).headers["Location"]
    page = client.get(location).get_data(as_text=True)
    figure = page[page.index('<figure class="image-card">'):page.index("</figure>")]
    assert '<li class="note">Asked 4096×64, got 2048×64.</li>' in figure


def test_curl_command_and_python_snippet_carry_the_request_exactly(demo_server):
    body = {"model": "flux", "prompt": "it's \"quoted\" $HOME `x`", "response_format": None, "n": 2}
    endpoint = demo_server.api_base + "/images/generations"
    words = shlex.split(curl_command(endpoint, body, with_key=True))
    assert words[:2] == ["curl", endpoint]
    assert json.loads(words[words.index("-d") + 1]) == body
    assert "Authorization: Bearer $PROOFSHEET_API_KEY" in words
    exec(python_snippet(endpoint, body, with_key=False), {})  # really posts to the demo server
    assert demo_server.requests_seen[-1] == body


def test_api_key_is_a_placeholder_in_the_snippets(make_app, tmp_path, demo_server):
    client = make_app(tmp_path, demo_server.api_base, API_KEY="sk-live-123").test_client()
    location = client.post("/generate", data={"prompt": "x"}).headers["Location"]
    page = client.get(location).get_data(as_text=True)
    assert "sk-live-123" not in page
    assert "Bearer $PROOFSHEET_API_KEY" in page and "os.environ[&#34;PROOFSHEET_API_KEY&#34;]" in page
    assert re.search(r'data-copy-what="curl"', page)
