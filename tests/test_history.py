"""The history: kept across restarts, browsable, searchable, deletable, exportable."""
import base64
import io
import json
import re
import sqlite3
import zipfile

from hypothesis import HealthCheck, given, settings, strategies as st
from PIL import Image

from proofsheet.demo.server import draw_image
from proofsheet.history.migrations import MIGRATIONS
from proofsheet.history.store import Store
from proofsheet.images import verify_image
from proofsheet.results import GenerationResult, ImageItem

IMG_SRC = re.compile(r'<img src="/images/([0-9a-f]{64})\.png"')


def api_generate(client, prompt="a cat", **fields):
    return client.post("/api/generate", json={"prompt": prompt, "response_format": "b64_json", **fields}).get_json()


def test_history_survives_a_restart(make_app, tmp_path, demo_server):
    first_app = make_app(tmp_path, demo_server.api_base)
    kept = api_generate(first_app.test_client(), "kept across restarts")
    first_app.extensions["store"].close()  # the first process ends: its lock on the folder goes with it
    again = make_app(tmp_path, demo_server.api_base).test_client()
    page = again.get(f"/generations/{kept['id']}").get_data(as_text=True)
    assert "kept across restarts" in page
    assert again.get(kept["images"][0]["src"]).data.startswith(b"\x89PNG")
    assert "kept across restarts" in again.get("/generations").get_data(as_text=True)


def test_failed_generations_are_kept_and_marked(client):
    failed = client.post("/api/generate", json={"prompt": "no such model", "model": "not-a-model"}).get_json()
    assert failed["status"] == "failed"
    gallery = client.get("/generations").get_data(as_text=True)
    assert "no such model" in gallery and "Model not found: not-a-model" in gallery
    assert 'class="badge status-failed"' in gallery


def test_thumbnails_are_small_webp_images(client):
    generation = api_generate(client)
    thumbnail = client.get(generation["images"][0]["thumbnail"])
    assert thumbnail.mimetype == "image/webp"
    assert len(thumbnail.data) < 40_000
    with Image.open(io.BytesIO(thumbnail.data)) as image:
        assert image.format == "WEBP" and max(image.size) == 320


def test_gallery_is_newest_first_and_paginated(client):
    for number in range(30):
        api_generate(client, f"prompt number {number:02d}", size="64x64")
    first = client.get("/generations").get_data(as_text=True)
    assert first.index("prompt number 29") < first.index("prompt number 28")
    assert "prompt number 05" not in first and "Page 1 of 2" in first
    second = client.get("/generations?page=2").get_data(as_text=True)
    assert "prompt number 05" in second and "prompt number 29" not in second
    assert first.count('class="gallery-card') == 24 and second.count('class="gallery-card') == 6


def test_gallery_search_and_filters(client):
    api_generate(client, "a red fox in snow", size="64x64")
    api_generate(client, "a blue whale", size="64x64", model="sdxl-turbo")
    client.post("/api/generate", json={"prompt": "a fox that fails", "model": "missing-model"})
    page = client.get("/generations?q=fox").get_data(as_text=True)
    assert "a red fox in snow" in page and "a fox that fails" in page and "a blue whale" not in page
    page = client.get("/generations?model=sdxl-turbo").get_data(as_text=True)
    assert "a blue whale" in page and "fox" not in page
    page = client.get("/generations?q=fox&outcome=failed").get_data(as_text=True)
    assert "a fox that fails" in page and "a red fox in snow" not in page
    page = client.get("/generations?q=100%25_off").get_data(as_text=True)
    assert "No generation matches these filters." in page


def test_use_these_settings_fills_the_form(client):
    generation = api_generate(client, "settings to reuse", model="dall-e-3", size="128x96", seed=42)
    page = client.get(f"/?from={generation['id']}").get_data(as_text=True)
    assert "settings to reuse</textarea>" in page
    assert 'value="dall-e-3"' in page and 'value="128x96"' in page and 'value="42"' in page
    assert '<option value="b64_json" selected>' in page


def test_run_again_makes_a_new_generation_with_the_same_request(client):
    generation = api_generate(client, "run me twice", size="64x64")
    response = client.post(f"/generations/{generation['id']}/rerun")
    assert response.status_code == 303
    again = client.get("/api" + response.headers["Location"]).get_json()
    assert again["id"] != generation["id"] and again["request"] == generation["request"]


def test_delete_removes_the_generation_and_unreferenced_files(client, app):
    shared_a = api_generate(client, "same image", size="64x64")
    shared_b = api_generate(client, "same image", size="64x64")  # the demo draws the same bytes again
    assert shared_a["images"][0]["src"] == shared_b["images"][0]["src"]
    assert client.delete(f"/api/generations/{shared_a['id']}").get_json() == {"deleted": shared_a["id"]}
    assert client.get(f"/generations/{shared_a['id']}").status_code == 404
    assert client.get(shared_b["images"][0]["src"]).status_code == 200  # still used by the other
    response = client.post(f"/generations/{shared_b['id']}/delete")
    assert response.status_code == 303 and response.headers["Location"] == "/generations"
    assert client.get(shared_b["images"][0]["src"]).status_code == 404
    store = app.extensions["store"]
    assert list(store.images_dir.iterdir()) == [] and list(store.thumbs_dir.iterdir()) == []
    assert client.delete(f"/api/generations/{shared_b['id']}").status_code == 404


def test_delete_button_asks_for_confirmation_first(client):
    generation = api_generate(client)
    page = client.get(f"/generations/{generation['id']}").get_data(as_text=True)
    confirm = page[page.index('<details class="confirm-delete">'):]
    assert confirm.index("<summary") < confirm.index(f"Delete #{generation['id']} and its 1 image?") < \
        confirm.index('<button type="submit" class="danger">Yes, delete</button>')


def test_a_delete_says_what_it_deleted(client):
    generation = api_generate(client, "a lighthouse to delete", n=2, size="64x64")
    done = client.post(f"/generations/{generation['id']}/delete")
    assert done.status_code == 303
    page = client.get(done.headers["Location"]).get_data(as_text=True)
    assert f"Deleted #{generation['id']} “a lighthouse to delete” (flux) and its 2 images." in page
    assert "Deleted #" not in client.get("/generations").get_data(as_text=True)  # said once


def test_export_zip_holds_the_images_and_a_manifest(client):
    one = api_generate(client, "first for export", n=2, size="64x64")
    two = client.post("/api/generate", json={"prompt": "second, failed", "model": "gone"}).get_json()
    response = client.get(f"/generations/export?id={one['id']}&id={two['id']}")
    assert response.mimetype == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    manifest = json.loads(archive.read("manifest.json"))["generations"]
    assert [entry["request"]["prompt"] for entry in manifest] == ["first for export", "second, failed"]
    files = [image["file"] for image in manifest[0]["images"]]
    assert files == [f"images/{one['id']}-1.png", f"images/{one['id']}-2.png"]
    for name in files:
        assert Image.open(io.BytesIO(archive.read(name))).size == (64, 64)
    assert json.loads(archive.read(manifest[0]["response_file"]))["data"][0]["b64_json"]
    assert manifest[1]["error"]["message"] == "The image server answered 404 Not Found: Model not found: gone"
    assert client.get("/generations/export").status_code == 400


def test_gallery_offers_export_of_chosen_generations(client):
    generation = api_generate(client)
    page = client.get("/generations").get_data(as_text=True)
    assert 'action="/generations/export"' in page
    assert f'name="id" value="{generation["id"]}"' in page


def test_an_old_schema_is_migrated_on_start_keeping_its_rows(tmp_path):
    folder = tmp_path / "old"
    folder.mkdir()
    db = sqlite3.connect(folder / "proofsheet.sqlite3")
    db.executescript(MIGRATIONS[0] + "; PRAGMA user_version = 1;")
    db.execute("INSERT INTO generations (created_at, status, prompt, model, request_json, endpoint) "
               "VALUES (1, 'failed', 'from version one', 'flux', '{\"prompt\": \"from version one\"}', 'http://x')")
    db.commit()
    db.close()
    store = Store(folder)
    assert store.schema_version() == len(MIGRATIONS)
    assert store.gallery().rows[0]["prompt"] == "from version one"


def test_an_answer_that_arrives_while_proofsheet_shuts_down_is_still_kept(tmp_path):
    store = Store(tmp_path)
    generation_id = store.begin({"prompt": "late", "model": "flux"}, "http://x")
    store.close()  # as when the person stops Proofsheet while a /v1 answer is being kept in the background
    result = GenerationResult(request={"prompt": "late"}, endpoint="http://x", status=200, raw_body=b"{}")
    result.items = [ImageItem(0, "b64_json", image=verify_image(draw_image("late", "flux", 64, 64)))]
    assert store.finish(generation_id, result) == "ok"
    kept = store.get(generation_id)
    thumbnail = store.thumbnail_file(kept.shown_images[0].sha256)  # made when first asked for
    with Image.open(thumbnail) as image:
        assert image.format == "WEBP"
    store.close()


def test_a_generation_left_running_by_a_crash_is_marked_interrupted(tmp_path):
    store = Store(tmp_path)
    generation_id = store.begin({"prompt": "in flight", "model": "flux"}, "http://x")
    (store.images_dir / "half-written.png.1.2.tmp").write_bytes(b"\x89PNG half")
    store.close()
    reopened = Store(tmp_path)
    generation = reopened.get(generation_id)
    assert generation.status == "interrupted"
    assert generation.error.message == "Proofsheet stopped before the image server answered."
    assert list(reopened.images_dir.iterdir()) == []


def noisy_png(seed: int, size: int = 96) -> bytes:
    """A PNG that does not compress away, so that its base64 is most of an answer, as a real image's is."""
    out = io.BytesIO()
    Image.frombytes("RGB", (size, size), bytes((seed * 31 + n * 7919) % 251 for n in range(size * size * 3))
                    ).save(out, "PNG")
    return out.getvalue()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(count=st.integers(1, 3), indent=st.sampled_from([None, 2, "\t"]), escaped_slashes=st.booleans(),
       wrapped=st.booleans(), repeat_first=st.booleans(), extra=st.text(max_size=20))
def test_the_raw_response_is_kept_byte_for_byte_and_each_images_base64_only_once(make_app, 
        tmp_path_factory, fake_server, count, indent, escaped_slashes, wrapped, repeat_first, extra):
    pictures = [noisy_png(seed) for seed in range(count)]
    encoded = [b64(picture) for picture in pictures]
    if wrapped:  # MIME-style lines, which a server may send and Proofsheet decodes: not the canonical form
        encoded[0] = "\n".join(encoded[0][i:i + 76] for i in range(0, len(encoded[0]), 76))
    items = [{"b64_json": text, "revised_prompt": extra} for text in encoded]
    if repeat_first:
        items.append({"b64_json": encoded[0]})  # the same image twice in one answer
    body = json.dumps({"created": 1, "data": items, "note": extra}, indent=indent).encode()
    if escaped_slashes:  # PHP's json_encode writes "\/" for "/"
        body = body.replace(b"/", b"\\/")
    fake_server.on_generate(body=body)
    app = make_app(tmp_path_factory.mktemp("history"), fake_server.api_base)
    client = app.test_client()
    generation = client.post("/api/generate", json={"prompt": "noise", "response_format": "b64_json"}).get_json()
    assert generation["status"] == "ok", generation["error"]
    assert client.get(f"/generations/{generation['id']}/raw.json").data == body  # byte for byte
    exported = client.get(f"/generations/export?id={generation['id']}").data
    with zipfile.ZipFile(io.BytesIO(exported)) as archive:
        assert archive.read(f"responses/{generation['id']}.json") == body
    responses = app.extensions["store"].responses_dir
    kept = sum(path.stat().st_size for path in responses.iterdir())
    replaceable = sum(len(text) for text in encoded if "\n" not in text) if not escaped_slashes else 0
    assert kept <= len(body) - replaceable + 200  # what could be left to the image files was
    client.delete(f"/api/generations/{generation['id']}")
    assert list(responses.iterdir()) == []  # and goes with its generation


def test_a_raw_response_whose_image_file_went_missing_says_so(client, tmp_path):
    generation = api_generate(client, "soon without its image", size="64x64")
    store = client.application.extensions["store"]
    for path in store.images_dir.iterdir():
        path.unlink()
    answer = client.get(f"/generations/{generation['id']}/raw.json")
    assert answer.status_code == 404 and "--check" in answer.get_data(as_text=True)


def test_a_streamed_answer_is_kept_byte_for_byte_and_its_final_image_once(make_app, tmp_path, fake_server):
    partials = [noisy_png(seed) for seed in (1, 2)]  # the same size: their base64 begins like the final image's
    final = noisy_png(3)
    events = [{"type": "image_generation.partial_image", "partial_image_index": n, "b64_json": b64(p)}
              for n, p in enumerate(partials)]
    events.append({"type": "image_generation.completed", "b64_json": b64(final), "usage": {"total_tokens": 3}})
    body = "".join(f"event: {event['type']}\ndata: {json.dumps(event)}\n\n" for event in events).encode()
    fake_server.on_generate(body=body, content_type="text/event-stream")
    app = make_app(tmp_path, fake_server.api_base)
    client = app.test_client()
    generation = client.post("/api/generate", json={"prompt": "noise", "model": "gpt-image-1", "stream": True,
                                                    "partial_images": 2}, headers={"Accept": "application/json"})
    kept = client.get("/api/generations").get_json()["generations"][0]
    assert kept["status"] == "ok", generation.get_data(as_text=True)[-300:]
    assert client.get(f"/generations/{kept['id']}/raw.json").data == body
    sparse = app.extensions["store"].responses_dir / f"{kept['id']}.sparse"
    assert sparse.stat().st_size <= len(body) - len(b64(final)) + 100
