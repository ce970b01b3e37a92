"""How a generation's images reach the page: verified before they are kept, served once and then from the browser's
cache, their thumbnails made after the page has had its images."""
import base64
import io
import time

from PIL import Image

from proofsheet.history import files
from tests.support import png_bytes, wait_until


def generate(client, prompt="a cat"):
    return client.post("/api/generate", json={"prompt": prompt, "response_format": "b64_json"}).get_json()


def test_an_image_is_served_for_a_year_unchanged_and_answered_304_when_the_browser_has_it(client):
    image = generate(client)["images"][0]
    first = client.get(image["src"])
    assert first.status_code == 200 and first.mimetype == "image/png" and first.data.startswith(b"\x89PNG")
    assert first.headers["Cache-Control"] == "public, max-age=31536000, immutable"  # named by its content's hash
    assert first.headers["ETag"] and first.headers["Content-Length"] == str(len(first.data))
    again = client.get(image["src"], headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""


def test_an_image_no_generation_names_is_not_found(client):
    assert client.get("/images/" + "0" * 64 + ".png").status_code == 404
    assert client.get("/images/not-a-hash.png").status_code == 404


def test_only_the_images_that_pass_verification_are_kept_and_served(fake_server, fake_client, fake_app):
    good = png_bytes(32, 32)
    blobs = [good, png_bytes(64, 64)[:120], b"<html><script>alert(1)</script></html>"]  # whole, truncated, not one
    fake_server.on_generate(json_body={"data": [{"b64_json": base64.b64encode(blob).decode()} for blob in blobs]})
    answer = generate(fake_client, "one good of three")
    assert [image["index"] for image in answer["images"] if image.get("src")] == [0]
    assert [image["error"]["kind"] for image in answer["images"][1:]] == ["not_an_image", "not_an_image"]
    assert fake_client.get(answer["images"][0]["src"]).data == good
    kept = list(fake_app.extensions["store"].images_dir.iterdir())
    assert [path.read_bytes() for path in kept] == [good]  # the refused bytes were never written


def test_thumbnails_wait_while_the_page_fetches_the_images_and_are_made_at_once_when_asked(client, app, monkeypatch):
    monkeypatch.setattr(files, "LATER_PAUSE", 0.5)
    store = app.extensions["store"]
    first, second = _two_images(client)
    assert list(store.thumbs_dir.iterdir()) == []  # not while the page is still fetching and decoding the images
    asked = client.get(first["thumbnail"])  # the History asking sooner does not wait for the pause
    assert asked.status_code == 200 and asked.mimetype == "image/webp"
    with Image.open(io.BytesIO(asked.data)) as thumbnail:
        assert max(thumbnail.size) <= 320
    assert wait_until(lambda: (store.thumbs_dir / second["thumbnail"].rsplit("/", 1)[1]).exists(), 10)


def _two_images(client):
    images = client.post("/api/generate", json={"prompt": "thumbnails later", "n": 2,
                                                "response_format": "b64_json"}).get_json()["images"]
    return images[0], images[1]


def test_closing_does_not_wait_out_the_pause_and_the_thumbnail_is_made_when_first_asked(make_app, tmp_path,
                                                                                        demo_server, monkeypatch):
    monkeypatch.setattr(files, "LATER_PAUSE", 30)
    app = make_app(tmp_path, demo_server.api_base)
    image = generate(app.test_client(), "closed soon")["images"][0]
    started = time.monotonic()
    app.extensions["store"].close()
    assert time.monotonic() - started < 5
    reopened = make_app(tmp_path, demo_server.api_base).test_client()
    assert reopened.get(image["thumbnail"]).mimetype == "image/webp"
