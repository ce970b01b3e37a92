"""Every way the image server can fail, as the person sees it on the page and as the JSON API reports it."""
import base64
import gzip
import struct
import zlib

import io

import pytest
from PIL import Image

from tests.support import free_port, png_base64, png_bytes
from tests.fake_server import close_mid_body

GEN = "/v1/images/generations"


def html_page(title):
    return f"<!doctype html><html><head><title>{title}</title></head><body><h1>{title}</h1></body></html>".encode()


def png_header_claiming(width, height):
    """A real PNG signature and header that claims a huge size: a decompression bomb, never to be decoded."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = lambda kind, data: (struct.pack(">I", len(data)) + kind + data
                                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def b64_items(*blobs):
    return {"data": [{"b64_json": base64.b64encode(blob).decode()} for blob in blobs]}


def close_without_answer(handler):
    handler.close_connection = True


def gzip_bomb(handler):
    body = gzip.compress(b'{"data": [{"b64_json": "' + b"A" * 5_000_000 + b'"}]}')
    handler.send_response(200)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Encoding", "gzip")
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


def redirect_to(location):
    def respond(handler):
        handler.send_response(302)
        handler.send_header("Location", location)
        handler.send_header("Content-Length", "0")
        handler.end_headers()
    return respond


# (name, how the fake server behaves, API status, error kind, words the person reads)
FAILURES = [
    ("401 with an error message",
     lambda f: f.on_generate(status=401, json_body={"error": {"message": "Invalid API key"}, "model": "flux"}),
     502, "http_error", ["401 Unauthorized", "Invalid API key"]),
    ("404 model not found",
     lambda f: f.on_generate(status=404, json_body={"error": {"message": "Model not found: nope"}, "model": "nope"}),
     502, "http_error", ["404 Not Found", "Model not found: nope"]),
    ("429 rate limited",
     lambda f: f.on_generate(status=429, json_body={"error": {"message": "Rate limit exceeded"}}),
     502, "http_error", ["429 Too Many Requests", "Rate limit exceeded"]),
    ("500 with an error message",
     lambda f: f.on_generate(status=500, json_body={"error": {"message": "Provider failed: all providers down"}}),
     502, "http_error", ["500 Internal Server Error", "Provider failed: all providers down"]),
    ("422 validation detail",
     lambda f: f.on_generate(status=422, json_body={"detail": [{"loc": ["body", "prompt"], "msg": "Field required",
                                                               "type": "missing"}]}),
     502, "http_error", ["422 Unprocessable", "prompt: Field required"]),
    ("HTML error page",
     lambda f: f.on_generate(status=502, body=html_page("502 Bad Gateway"), content_type="text/html"),
     502, "http_error", ["502 Bad Gateway", "an HTML page titled &#34;502 Bad Gateway&#34;"]),
    ("empty error body",
     lambda f: f.on_generate(status=503, body=b"", content_type="text/plain"),
     502, "http_error", ["503 Service Unavailable with an empty body"]),
    ("non-JSON 200",
     lambda f: f.on_generate(status=200, body=b"Generated! Have a nice day", content_type="text/plain"),
     502, "bad_response", ["answered 200 but not with JSON", "Generated! Have a nice day"]),
    ("JSON list instead of an object",
     lambda f: f.on_generate(json_body=[{"url": "x"}]),
     502, "bad_response", ["no &#34;data&#34; list", "got a list"]),
    ("JSON object without data",
     lambda f: f.on_generate(json_body={"images": []}),
     502, "bad_response", ["no &#34;data&#34; list", "keys images"]),
    ("error object on a 200",
     lambda f: f.on_generate(json_body={"error": {"message": "No provider found"}}),
     502, "http_error", ["No provider found"]),
    ("no images in data",
     lambda f: f.on_generate(json_body={"data": []}),
     502, "no_images", ["&#34;data&#34; is empty"]),
    ("item with neither url nor b64_json",
     lambda f: f.on_generate(json_body={"data": [{"revised_prompt": "x"}]}),
     502, "no_usable_images", ["neither a &#34;url&#34; nor a &#34;b64_json&#34;"]),
    ("base64 that is not an image",
     lambda f: f.on_generate(json_body={"data": [{"b64_json": base64.b64encode(b"hello, not a picture").decode()}]}),
     502, "no_usable_images", ["not an image Proofsheet can read"]),
    ("base64 that is not base64",
     lambda f: f.on_generate(json_body={"data": [{"b64_json": "%%% not base64 %%%"}]}),
     502, "no_usable_images", ["not valid base64"]),
    ("URL that answers 404",
     lambda f: f.on_generate(json_body={"data": [{"url": f.base_url + "/media/gone.png"}]}),
     502, "no_usable_images", ["Fetching the image at", "/media/gone.png failed: 404"]),
    ("URL on a server that is down",
     lambda f: f.on_generate(json_body={"data": [{"url": f"http://127.0.0.1:{free_port()}/x.png"}]}),
     502, "no_usable_images", ["Could not reach the image at"]),
    ("URL serving HTML as image/png",
     lambda f: (f.on("GET", "/media/page.png", body=html_page("hi"), content_type="image/png"),
                f.on_generate(json_body={"data": [{"url": "/media/page.png"}]})),
     502, "no_usable_images", ["an HTML page, not an image"]),
    ("URL with a file: scheme",
     lambda f: f.on_generate(json_body={"data": [{"url": "file:///etc/passwd"}]}),
     502, "no_usable_images", ["scheme &#34;file:&#34;", "only fetches http(s) and data: URLs"]),
    ("URL with an ftp: scheme",
     lambda f: f.on_generate(json_body={"data": [{"url": "ftp://example.com/a.png"}]}),
     502, "no_usable_images", ["scheme &#34;ftp:&#34;"]),
    ("response over the size cap",
     lambda f: f.on_generate(body=b'{"data": [{"b64_json": "' + b"A" * 3_000_000 + b'"}]}'),
     502, "too_large", ["larger than 2 MB", "stopped reading it"]),
    ("response over the size cap, no length",
     lambda f: f.on_generate(body=b'{"data": [{"b64_json": "' + b"A" * 3_000_000 + b'"}]}', send_length=False),
     502, "too_large", ["larger than 2 MB"]),
    ("500 with a plain text body",
     lambda f: f.on_generate(status=500, body=b"upstream exploded", content_type="text/plain"),
     502, "http_error", ["500 Internal Server Error", "upstream exploded"]),
    ("400 with an error string",
     lambda f: f.on_generate(status=400, json_body={"error": "prompt rejected by the safety filter"}),
     502, "http_error", ["400 Bad Request", "prompt rejected by the safety filter"]),
    ("JSON null",
     lambda f: f.on_generate(body=b"null"),
     502, "bad_response", ["got null"]),
    ("data is an object",
     lambda f: f.on_generate(json_body={"data": {"url": "x"}}),
     502, "bad_response", ["no &#34;data&#34; list"]),
    ("entries that are not objects",
     lambda f: f.on_generate(json_body={"data": [None, "x.png"]}),
     502, "no_usable_images", ["image 1: The entry is null, not an object.", "image 2: The entry is a string"]),
    ("url and b64_json of the wrong type",
     lambda f: f.on_generate(json_body={"data": [{"url": 5, "b64_json": ["x"]}]}),
     502, "no_usable_images", ["neither a &#34;url&#34; nor a &#34;b64_json&#34;"]),
    ("JSON nested past the parser",
     lambda f: f.on_generate(body=b"[" * 100_000 + b"]" * 100_000),
     502, "bad_response", ["not with JSON"]),
    ("invalid UTF-8 body",
     lambda f: f.on_generate(body=b"\xff\xfe\xfa not text"),
     502, "bad_response", ["not with JSON"]),
    ("204 No Content",
     lambda f: f.on_generate(status=204, body=b""),
     502, "bad_response", ["answered 204 but not with JSON", "the body is empty"]),
    ("a decompression bomb",
     lambda f: f.on_generate(json_body=b64_items(png_header_claiming(100_000, 100_000))),
     502, "no_usable_images", ["more pixels than the 50 million allowed", "it was not decoded"]),
    ("an image just past the pixel limit",
     lambda f: f.on_generate(json_body=b64_items(png_header_claiming(8000, 8000))),
     502, "no_usable_images", ["claims 8000×8000 pixels", "it was not decoded"]),
    ("a truncated PNG",
     lambda f: f.on_generate(json_body=b64_items(png_bytes(256, 256)[:300])),
     502, "no_usable_images", ["damaged and could not be decoded"]),
    ("a TIFF image",
     lambda f: f.on_generate(json_body=b64_items(tiff_bytes())),
     502, "no_usable_images", ["TIFF images are not shown"]),
    ("an SVG with script at the image URL",
     lambda f: (f.on("GET", "/x.svg", body=b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
                     content_type="image/svg+xml"),
                f.on_generate(json_body={"data": [{"url": "/x.svg"}]})),
     502, "no_usable_images", ["SVG or XML document", "can carry script"]),
    ("the connection drops mid-answer",
     lambda f: f.on_call("POST", GEN, close_mid_body),
     502, "server_down", ["broke while reading its answer"]),
    ("the connection closes without an answer",
     lambda f: f.on_call("POST", GEN, close_without_answer),
     502, "server_down", ["closed the connection without answering"]),
    ("a gzip bomb",
     lambda f: f.on_call("POST", GEN, gzip_bomb),
     502, "too_large", ["larger than 2 MB"]),
    ("an image URL that redirects forever",
     lambda f: (f.on_call("GET", "/loop.png", redirect_to("/loop.png")),
                f.on_generate(json_body={"data": [{"url": "/loop.png"}]})),
     502, "no_usable_images", ["redirected more than 5 times"]),
    ("an image URL that redirects to file:",
     lambda f: (f.on_call("GET", "/sneaky.png", redirect_to("file:///etc/passwd")),
                f.on_generate(json_body={"data": [{"url": "/sneaky.png"}]})),
     502, "no_usable_images", ["redirected to a URL that is not http(s)"]),
    ("an image URL that drips",
     lambda f: (f.on("GET", "/slow.png", body=png_bytes(), content_type="image/png", drip_every=0.2),
                f.on_generate(json_body={"data": [{"url": "/slow.png"}]})),
     502, "no_usable_images", ["did not arrive in time", "1 seconds in all (PROOFSHEET_IMAGE_TIMEOUT)"]),
    ("timeout",
     lambda f: f.on_generate(json_body={"data": []}, delay=4),
     504, "timeout", ["did not finish answering within 2 seconds"]),
    ("a server that drips its answer",
     lambda f: f.on_generate(json_body={"data": [{"b64_json": png_base64()}]}, drip_every=0.25),
     504, "timeout", ["did not finish answering"]),
]


def tiff_bytes():
    out = io.BytesIO()
    Image.new("RGB", (8, 8)).save(out, "TIFF")
    return out.getvalue()


@pytest.fixture
def capped_client(make_app, tmp_path, fake_server):
    return make_app(tmp_path, fake_server.api_base, TIMEOUT=2, IMAGE_TIMEOUT=1,
                    MAX_RESPONSE_BYTES=2 * 1024 * 1024).test_client()


@pytest.mark.parametrize("name, behave, api_status, kind, words", FAILURES, ids=[f[0] for f in FAILURES])
def test_failure_is_explained_on_the_page(capped_client, fake_server, name, behave, api_status, kind, words):
    behave(fake_server)
    response = capped_client.post("/generate", data={"prompt": "a cat", "model": "flux"}, follow_redirects=True)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'class="error-card"' in page
    for word in words:
        assert word in page
    assert "Traceback" not in page
    assert capped_client.get("/healthz").get_json()["app"] == "ok"


@pytest.mark.parametrize("name, behave, api_status, kind, words", FAILURES, ids=[f[0] for f in FAILURES])
def test_failure_is_reported_by_the_api(capped_client, fake_server, name, behave, api_status, kind, words):
    behave(fake_server)
    response = capped_client.post("/api/generate", json={"prompt": "a cat"})
    assert response.status_code == api_status
    error = response.get_json()["error"]
    assert error["kind"] == kind
    assert words[-1].replace("&#34;", '"') in error["message"]


def test_server_not_running_names_the_url_tried_and_how_to_start_gpt4free(make_app, tmp_path):
    port = free_port()
    client = make_app(tmp_path, f"http://127.0.0.1:{port}/v1").test_client()
    page = client.post("/generate", data={"prompt": "a cat"}, follow_redirects=True).get_data(as_text=True)
    assert f"Could not reach the image server at http://127.0.0.1:{port}/v1/images/generations" in page
    assert "g4f api" in page
    assert client.post("/api/generate", json={"prompt": "a cat"}).get_json()["error"]["kind"] == "server_down"


def test_partial_success_shows_the_good_images_and_says_what_was_wrong(fake_client, fake_server):
    fake_server.on_generate(json_body={"data": [{"b64_json": png_base64()}, {"url": "gopher://old/a.png"},
                                                {"b64_json": base64.b64encode(b"<svg onload=alert(1)>").decode()}]})
    response = fake_client.post("/generate", data={"prompt": "a cat"}, follow_redirects=True)
    page = response.get_data(as_text=True)
    assert page.count('class="image-card"') == 1
    assert "Image 2" in page and "scheme &#34;gopher:&#34;" in page
    assert "Image 3" in page and "SVG" in page
    api = fake_client.post("/api/generate", json={"prompt": "a cat"})
    assert api.status_code == 200
    body = api.get_json()
    assert body["status"] == "partial"
    assert [image["error"] is None for image in body["images"]] == [True, False, False]


def test_image_url_too_large_is_refused_while_streaming(make_app, tmp_path, fake_server):
    fake_server.on("GET", "/big.png", body=png_bytes() + b"\0" * 3_000_000, content_type="image/png", send_length=False)
    fake_server.on_generate(json_body={"data": [{"url": "/big.png"}]})
    client = make_app(tmp_path, fake_server.api_base, MAX_IMAGE_BYTES=1024 * 1024).test_client()
    error = client.post("/api/generate", json={"prompt": "a cat"}).get_json()["error"]
    assert "larger than 1 MB" in error["message"]


def test_a_flood_of_images_is_cut_at_sixteen_and_said_so(fake_client, fake_server):
    fake_server.on_generate(json_body={"data": [{"b64_json": png_base64(8, 8)}] * 40})
    body = fake_client.post("/api/generate", json={"prompt": "a cat"}).get_json()
    assert len(body["images"]) == 16
    assert {"image": None, "message": "The server sent 40 images; only the first 16 were read."} in body["notes"]
