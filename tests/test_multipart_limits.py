"""A multipart form refused for its size says which limit it went past: too many parts, a field too large, or the
whole request too large, each with its limit; against a real app process."""
import pytest
import requests

from proofsheet.demo.server import DemoImageServer
from tests.support import png_bytes, start_app_process, stop_process

BOUNDARY = "proofsheet-test-boundary"


def multipart(fields=(), files=()):
    """A multipart/form-data body from (name, text) fields and (name, bytes) files."""
    parts = [f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode() + value.encode()
             for name, value in fields]
    parts += [f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"; filename="{name}.png"\r\n'
              f'Content-Type: image/png\r\n\r\n'.encode() + data for name, data in files]
    return b"\r\n".join(parts) + f"\r\n--{BOUNDARY}--\r\n".encode()


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    with DemoImageServer() as demo:
        process, url = start_app_process(tmp_path_factory.mktemp("data"), demo.api_base)
        yield url
        stop_process(process)


MANY_PARTS = multipart(fields=[("prompt", "a fox")] + [(f"x{number}", "x") for number in range(3000)],
                       files=[("image", png_bytes())])
assert 180_000 < len(MANY_PARTS) < 240_000  # the case: 3,000 parts, some 200 KB in all


@pytest.mark.parametrize("path", ["/api/edit", "/v1/images/edits"])
@pytest.mark.parametrize("body, message", [
    (MANY_PARTS, "The form has too many parts (at most 1,000)."),
    (multipart(fields=[("prompt", "a fox" * 120_000)], files=[("image", png_bytes())]),
     "A field of the form that is not a file is too large (at most 500 KB)."),
    (multipart(fields=[("prompt", "a fox")], files=[("image", b"\0" * (101 * 1024 * 1024))]),
     "The request is too large (at most 100 MB)."),
])
def test_a_refused_multipart_names_the_limit_it_went_past(app_url, path, body, message):
    answer = requests.post(app_url + path, data=body, timeout=60,
                           headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"})
    assert answer.status_code == 413 and answer.json()["error"]["message"] == message


def test_a_multipart_within_the_limits_is_read(app_url):
    answer = requests.post(app_url + "/v1/images/edits", data=multipart(
        fields=[("prompt", "a fox"), ("model", "gpt-image-1")] + [(f"extra{number}", "x") for number in range(900)],
        files=[("image", png_bytes())]), headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
        timeout=60)
    assert answer.status_code == 200 and answer.json()["data"]
