"""Made for an audience: blind votes and their leaderboard, the slideshow, X/Y grids, contact sheets, stars and saved
prompts — through Flask's test client against the demo server."""
import html
import io
import json
import re
import threading
import time

import pytest
from PIL import Image

from proofsheet.demo.server import DemoImageServer

NAMES = ("flux", "sdxl-turbo", "dall-e-3", "default")


def start_round(client, models=("flux", "sdxl-turbo"), **extra):
    answer = client.post("/api/arena", json={"prompt": "a red fox in the snow", "size": "64x64",
                                             "contenders": [{"model": m} for m in models], **extra})
    assert answer.status_code == 201, answer.get_json()
    return answer


def test_a_round_answers_letters_and_images_without_any_name(client):
    answer = start_round(client, ("flux", "sdxl-turbo", "dall-e-3"))
    text, body = answer.get_data(as_text=True), answer.get_json()
    assert [image["label"] for image in body["images"]] == ["A", "B", "C"]
    assert all(image["ok"] and image["src"].startswith("/images/") for image in body["images"])
    assert not [name for name in NAMES if name in text]
    page = client.get(body["permalink"]).get_data(as_text=True)
    main = page[page.index("<main>"):]
    assert not [name for name in NAMES if name in main]  # not in the page either (the header names the server)
    assert main.count('class="arena-letter"') == 3 and "is better" in main
    assert not [name for name in NAMES if name in client.get(f"/api/arena/{body['id']}").get_data(as_text=True)]


def test_the_letters_are_shuffled_between_rounds(client):
    orders = set()
    for _ in range(12):
        body = start_round(client).get_json()
        reveal = client.post(f"/api/arena/{body['id']}/vote", json={"winner": "tie"}).get_json()
        orders.add(tuple(c["model"] for c in reveal["contenders"]))
    assert orders == {("flux", "sdxl-turbo"), ("sdxl-turbo", "flux")}  # 12 rounds: both orders (1 in 2048 to fail)


def test_a_vote_reveals_the_names_and_moves_the_leaderboard(client):
    body = start_round(client, category="animals").get_json()
    assert client.get("/api/arena/leaderboard").get_json()["standings"] == []
    reveal = client.post(f"/api/arena/{body['id']}/vote", json={"winner": "B"})
    assert reveal.status_code == 200
    shown = reveal.get_json()
    winner = next(c for c in shown["contenders"] if c["label"] == "B")
    assert shown["winner"] == f"default · {winner['model']}" and winner["generation"].startswith("/generations/")
    board = client.get("/api/arena/leaderboard").get_json()
    assert [(s["contender"], s["votes"], s["wins"]) for s in board["standings"]][0] == \
        (f"default · {winner['model']}", 1, 1)
    assert board["standings"][0]["rating"] > 1000 > board["standings"][1]["rating"]
    assert board["categories"] == ["animals"]
    assert client.get("/api/arena/leaderboard?category=other").get_json()["standings"] == []
    page = client.get(body["permalink"]).get_data(as_text=True)
    assert winner["model"] in page and "winner" in page and "is better" not in page
    board_page = html.unescape(client.get("/arena/leaderboard").get_data(as_text=True))
    assert winner["model"] in board_page and "95% interval" in board_page


def test_a_round_is_judged_once_and_only_with_its_letters(client):
    body = start_round(client).get_json()
    assert client.post(f"/api/arena/{body['id']}/vote", json={"winner": "C"}).status_code == 400
    assert client.post(f"/api/arena/{body['id']}/vote", json={"winner": "both_bad"}).status_code == 200
    again = client.post(f"/api/arena/{body['id']}/vote", json={"winner": "A"})
    assert again.status_code == 409 and "already has its vote" in again.get_json()["error"]["message"]
    standings = client.get("/api/arena/leaderboard").get_json()["standings"]
    assert [(s["ties"], s["both_bad"]) for s in standings] == [(1, 1), (1, 1)]


@pytest.mark.parametrize("contenders, words", [
    ([{"model": "flux"}], "two to four contenders, not 1"),
    ([{"model": m} for m in ("a", "b", "c", "d", "e")], "two to four contenders, not 5"),
    ([{"model": "flux"}, {"model": "flux", "server": "nope"}], "no server named 'nope'"),
    ([], "Name two to four contenders"),
])
def test_a_round_needs_two_to_four_known_contenders(client, contenders, words):
    answer = client.post("/api/arena", json={"prompt": "x", "contenders": contenders})
    assert answer.status_code == 400 and words in answer.get_json()["error"]["message"]


def test_the_arena_works_without_javascript(client):
    started = client.post("/arena", data={"prompt": "a lighthouse", "target_model": ["flux", "dall-e-3"],
                                          "size": "64x64"})
    assert started.status_code == 303
    round_url = started.headers["Location"]
    voted = client.post(round_url + "/vote", data={"winner": "A"})
    assert voted.status_code == 303 and voted.headers["Location"].endswith(round_url)
    page = client.get(round_url).get_data(as_text=True)
    assert "A won:" in page and "Another round" in page
    refused = client.post("/arena", data={"prompt": "kept prompt", "target_model": ["flux", ""]})
    assert refused.status_code == 400 and "kept prompt</textarea>" in refused.get_data(as_text=True)


def test_the_slideshow_shows_a_comparison_a_selection_and_a_voted_round(client):
    group = client.post("/api/compare", json={"prompt": "slides", "models": ["flux", "sdxl-turbo"], "n": 2,
                                              "size": "64x64"}).get_json()
    page = client.get(f"/present?group={group['id']}").get_data(as_text=True)
    assert page.count('class="slide"') == 4 and "flux · default" in page and "<script" in page
    hidden = client.get(f"/present?group={group['id']}&hide=1").get_data(as_text=True)
    assert hidden.count('class="slide"') == 4 and "flux · default" not in hidden
    ids = [r["id"] for r in group["results"]]
    assert client.get(f"/present?ids={ids[1]}").get_data(as_text=True).count('class="slide"') == 2
    assert client.get(f"/present?id={ids[0]}&id={ids[1]}").get_data(as_text=True).count('class="slide"') == 4
    body = start_round(client).get_json()
    assert client.get(f"/present?round={body['id']}").status_code == 403  # not before the vote
    client.post(f"/api/arena/{body['id']}/vote", json={"winner": "A"})
    assert client.get(f"/present?round={body['id']}").get_data(as_text=True).count('class="slide"') == 2
    assert client.get("/present?ids=99999").status_code == 404


def test_a_grid_of_models_by_prompts_is_labelled_along_both_axes(client, demo_server):
    answer = client.post("/api/compare", json={"models": ["flux", "dall-e-3"], "size": "64x64",
                                               "prompts": ["a fox", "a whale", "an owl"]}).get_json()
    assert answer["columns"] == ["flux", "dall-e-3"] and answer["rows"] == ["a fox", "a whale", "an owl"]
    assert [(r["request"]["model"], r["request"]["prompt"]) for r in answer["results"]] == [
        ("flux", "a fox"), ("dall-e-3", "a fox"), ("flux", "a whale"), ("dall-e-3", "a whale"),
        ("flux", "an owl"), ("dall-e-3", "an owl")]
    page = client.get(answer["permalink"]).get_data(as_text=True)
    assert re.findall(r'<h3 class="xy-label xy-row">([^<]*)</h3>', page) == ["a fox", "a whale", "an owl"]
    assert re.findall(r'<h3 class="xy-label xy-column">([^<]*)</h3>', page) == ["flux", "dall-e-3"]
    assert 'data-columns="2"' in page and "an owl</textarea>" in page  # the form is filled again


def test_prompt_search_replace_and_a_field_axis(client, demo_server):
    sr = client.post("/api/compare", json={"prompt": "a fox in the snow", "models": ["flux"], "size": "64x64",
                                           "prompt_sr": "fox, whale, owl"}).get_json()
    # replaced word for word, as AUTOMATIC1111 does ("a owl": grammar is the presenter's)
    assert [r["request"]["prompt"] for r in sr["results"]] == ["a fox in the snow", "a whale in the snow",
                                                               "a owl in the snow"]
    assert sr["rows"] == ["fox", "whale", "owl"]
    again = client.get(sr["permalink"]).get_data(as_text=True)  # the form comes back ready to run again
    assert "a fox in the snow</textarea>" in again and "fox, whale, owl</textarea>" in again
    assert '<option value="prompt_sr" selected>' in again
    quality = client.post("/api/compare", json={"prompt": "a fox", "models": ["gpt-image-1", "dall-e-3"],
                                                "y_axis": "quality", "y_values": ["standard", "hd"]})
    assert quality.status_code == 400 and "quality" in quality.get_json()["error"]["message"].lower()
    styled = client.post("/api/compare", json={"prompt": "a fox", "models": ["dall-e-3"], "y_axis": "style",
                                               "y_values": ["vivid", "natural"]}).get_json()
    assert styled["rows"] == ["style: vivid", "style: natural"]
    assert sorted(seen.get("style") for seen in demo_server.requests_seen[-2:]) == ["natural", "vivid"]


def test_the_png_contact_sheet_is_labelled_and_carries_the_prompt(client):
    group = client.post("/api/compare", json={"prompt": "a fox <b>bold</b>", "models": ["flux", "nope"],
                                              "seeds": [1, 2], "size": "64x64"}).get_json()
    answer = client.get(f"/compare/{group['id']}/contact-sheet.png?download=1")
    assert answer.status_code == 200 and answer.mimetype == "image/png"
    assert "attachment" in answer.headers["Content-Disposition"]
    assert client.get(f"/compare/{group['id']}/contact-sheet.png").headers["Content-Disposition"].startswith("inline")
    sheet = Image.open(io.BytesIO(answer.get_data()))
    assert sheet.format == "PNG" and sheet.width > 2 * 384 and sheet.height > 2 * 384
    assert sheet.text["prompt"] == "a fox <b>bold</b>" and sheet.text["Software"] == "Proofsheet"
    parameters = json.loads(sheet.text["parameters"])
    assert parameters["columns"] == ["flux", "nope"] and parameters["rows"] == ["seed 1", "seed 2"]
    assert [cell["model"] for cell in parameters["cells"]] == ["flux", "nope", "flux", "nope"]
    # the flux cells hold the image, the failed ones stay white with the error: compare a pixel of each
    pixels = sheet.convert("RGB")
    column_x = 24 + 220 + 384 // 2
    assert len({pixels.getpixel((column_x + dx, y)) for dx in (0,) for y in range(300, 700, 40)}) > 1


def test_the_html_contact_sheet_inlines_every_image_and_runs_nothing(client):
    group = client.post("/api/compare", json={"prompt": "a fox <script>alert(1)</script>",
                                              "models": ["flux", "sdxl-turbo", "nope"], "size": "64x64"}).get_json()
    answer = client.get(f"/compare/{group['id']}/contact-sheet.html")
    page = answer.get_data(as_text=True)
    assert answer.status_code == 200 and answer.headers["Content-Disposition"].startswith("inline")  # shown in a tab
    assert answer.headers["Content-Security-Policy"].endswith("; sandbox")
    assert answer.headers["Content-Security-Policy"].startswith("default-src 'none'; img-src data:")
    assert page.count('<img src="data:image/') == 2 and "Model not found: nope" in page
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert not re.search(r'(src|href)="(?!data:)', page)  # nothing to fetch


def test_a_selection_has_a_contact_sheet_too(client):
    ids = [client.post("/api/generate", json={"prompt": f"chosen {n}", "size": "64x64"}).get_json()["id"]
           for n in range(3)]
    query = "&".join(f"id={i}" for i in ids)
    page = client.get(f"/generations/contact-sheet.html?{query}").get_data(as_text=True)
    assert page.count('<img src="data:image/') == 3 and "3 generations from the history" in page
    sheet = Image.open(io.BytesIO(client.get(f"/generations/contact-sheet.png?{query}").get_data()))
    assert sheet.text["prompt"] == "3 generations from the history"
    assert client.get("/generations/contact-sheet.png").status_code == 400


def test_stars_toggle_and_filter_the_history(client):
    one = client.post("/api/generate", json={"prompt": "keep this one", "size": "64x64"}).get_json()
    client.post("/api/generate", json={"prompt": "not this one", "size": "64x64"})
    assert client.post(f"/api/generations/{one['id']}/star").get_json() == {"id": one["id"], "starred": True}
    assert client.get(f"/api/generations/{one['id']}").get_json()["starred"] is True
    starred = client.get("/api/generations?starred=1").get_json()
    assert [row["prompt"] for row in starred["generations"]] == ["keep this one"] and starred["total"] == 1
    page = client.get("/generations?starred=1").get_data(as_text=True)
    assert "keep this one" in page and "not this one" not in page and 'aria-pressed="true"' in page
    assert client.post(f"/api/generations/{one['id']}/star", json={"starred": True}).get_json()["starred"] is True
    assert client.post(f"/api/generations/{one['id']}/star").get_json()["starred"] is False
    assert client.get("/api/generations?starred=1").get_json()["total"] == 0
    assert client.post("/api/generations/99999/star").status_code == 404
    assert client.post(f"/api/generations/{one['id']}/star", json={"starred": "yes"}).status_code == 400
    back = client.post(f"/generations/{one['id']}/star")  # the form, without JavaScript
    assert back.status_code == 303 and client.get(f"/api/generations/{one['id']}").get_json()["starred"] is True


def test_saved_prompts_are_kept_by_name_and_replaced_by_name(client):
    saved = client.post("/api/prompts", json={"name": "lighthouse", "prompt": "A lighthouse at dawn"})
    assert saved.status_code == 201 and saved.get_json()["name"] == "lighthouse"
    client.post("/api/prompts", json={"name": "Fox", "prompt": "A fox"})
    again = client.post("/api/prompts", json={"name": "lighthouse", "prompt": "A lighthouse at dusk"})
    assert again.status_code == 200
    listed = client.get("/api/prompts").get_json()["prompts"]
    assert [(p["name"], p["prompt"]) for p in listed] == [("Fox", "A fox"), ("lighthouse", "A lighthouse at dusk")]
    assert client.delete(f"/api/prompts/{listed[0]['id']}").get_json() == {"deleted": listed[0]["id"]}
    assert client.delete(f"/api/prompts/{listed[0]['id']}").status_code == 404
    assert client.post("/api/prompts", json={"name": "", "prompt": "x"}).status_code == 400
    assert client.post("/api/prompts", json={"name": "x", "prompt": "   "}).status_code == 400


def test_votes_stars_and_prompts_survive_a_restart(make_app, tmp_path, demo_server):
    app = make_app(tmp_path, demo_server.api_base)
    client = app.test_client()
    body = start_round(client).get_json()
    client.post(f"/api/arena/{body['id']}/vote", json={"winner": "A"})
    made = client.post("/api/generate", json={"prompt": "starred", "size": "64x64"}).get_json()
    client.post(f"/api/generations/{made['id']}/star")
    client.post("/api/prompts", json={"name": "kept", "prompt": "kept prompt"})
    app.extensions["store"].close()
    again = make_app(tmp_path, demo_server.api_base).test_client()
    assert len(again.get("/api/arena/leaderboard").get_json()["standings"]) == 2
    assert again.get("/api/generations?starred=1").get_json()["total"] == 1
    assert again.get("/api/prompts").get_json()["prompts"][0]["prompt"] == "kept prompt"


def test_the_history_names_no_contender_before_the_vote_and_every_one_after(client):
    body = start_round(client, ("flux", "dall-e-3")).get_json()
    ids = [row["id"] for row in client.get("/api/generations").get_json()["generations"]]
    for generation_id in ids:  # each card, as the History, its live updates and the main page's strip show it
        for style in ("gallery", "recent"):
            card = client.get(f"/generations/{generation_id}/card?style={style}").get_data(as_text=True)
            assert not [name for name in NAMES if name in card]
            assert f'href="/arena/{body["id"]}"' in card and "/compare/" not in card
    gallery = client.get("/generations").get_data(as_text=True)
    cards = gallery[gallery.index('<ol class="gallery-grid"'):gallery.index("</ol>")]
    assert cards.count("names after the vote") == 2 and not [name for name in NAMES if name in cards]
    client.post(f"/api/arena/{body['id']}/vote", json={"winner": "A"})
    shown = [client.get(f"/generations/{generation_id}/card").get_data(as_text=True) for generation_id in ids]
    assert sorted(name for card in shown for name in ("flux", "dall-e-3") if name in card) == ["dall-e-3", "flux"]
    assert all(f'href="/generations/{generation_id}"' in card for generation_id, card in zip(ids, shown))


def test_a_round_opened_while_its_contenders_run_waits_for_every_image_before_the_vote(make_app, tmp_path):
    with DemoImageServer(model_delays={"sdxl-turbo": 4.0}) as demo:
        client = make_app(tmp_path, demo.api_base).test_client()
        running = threading.Thread(target=start_round, args=(client,))
        running.start()
        try:
            deadline = time.monotonic() + 5
            while not client.get("/api/generations").get_json()["generations"] and time.monotonic() < deadline:
                time.sleep(0.05)
            time.sleep(0.3)
            round_id = int(re.search(r'href="/arena/(\d+)"', client.get("/generations").get_data(as_text=True))[1])
            page = client.get(f"/arena/{round_id}").get_data(as_text=True)
            assert "still being made" in page and 'id="vote-form"' not in page
            assert "data-watch-state" in page and ">Refresh</a>" in page  # it looks again by itself, or on a click
            assert "http-equiv" not in page  # not a timed reload
            early = client.post(f"/api/arena/{round_id}/vote", json={"winner": "A"})
            assert early.status_code == 409 and "still being made" in early.get_json()["error"]["message"]
        finally:
            running.join(timeout=30)
        page = client.get(f"/arena/{round_id}").get_data(as_text=True)
        assert 'id="vote-form"' in page and "still being made" not in page and "data-watch-state" not in page
        assert client.post(f"/api/arena/{round_id}/vote", json={"winner": "A"}).status_code == 200
