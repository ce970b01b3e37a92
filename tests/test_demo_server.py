"""The demo image server on a real socket: it reads every request's body, so a kept-alive connection stays in step;
it answers what it does not serve, and masks it cannot use, as OpenAI does; its delay paces a whole generation."""
import http.client
import json
import time

import pytest
import requests
from urllib3 import encode_multipart_formdata

from proofsheet.demo.server import DemoImageServer
from proofsheet.upstream import sse
from tests.support import png_bytes, run_app_command, start_app_process, stop_process

GENERATE = "/v1/images/generations"
JSON = {"Content-Type": "application/json"}


def connect(server) -> http.client.HTTPConnection:
    host, port = server.httpd.server_address[:2]
    return http.client.HTTPConnection(host, port, timeout=30)


def exchange(connection, method, path, body=b"", headers=None, **options):
    """One request on the connection: (status, JSON body)."""
    connection.request(method, path, body=body, headers=headers or {}, **options)
    answer = connection.getresponse()
    return answer.status, json.loads(answer.read())


def generate_next(connection):
    """A generation on a connection that already carried a request: it must still be in step."""
    kept_open = connection.sock
    assert kept_open is not None  # the first answer left the connection open
    status, answer = exchange(connection, "POST", GENERATE, json.dumps({"prompt": "next", "model": "flux",
                                                                         "response_format": "b64_json"}), JSON)
    assert status == 200 and answer["data"][0]["b64_json"]
    assert connection.sock is kept_open  # the same connection, not a new one after a hang-up


def edit_body(image, mask=None):
    fields = {"prompt": "add a hat", "model": "gpt-image-1", "image": ("in.png", image, "image/png")}
    if mask is not None:
        fields["mask"] = ("mask.png", mask, "image/png")
    body, content_type = encode_multipart_formdata(fields)
    return body, {"Content-Type": content_type}


@pytest.mark.parametrize("method, path", [("POST", "/v1/chat/completions"), ("POST", "/v1/images/variations"),
                                          ("GET", "/v1/nowhere"), ("PUT", GENERATE), ("DELETE", "/v1/models/flux")])
def test_a_path_it_does_not_serve_gets_openais_404_and_the_connection_stays_in_step(demo_server, method, path):
    connection = connect(demo_server)
    status, answer = exchange(connection, method, path, json.dumps({"prompt": "x" * 5000}), JSON)
    assert status == 404
    assert answer == {"error": {"message": f"Invalid URL ({method} {path})", "type": "invalid_request_error",
                                "param": None, "code": None}}
    generate_next(connection)


@pytest.mark.parametrize("body", [b'{"prompt": ', b"[" * 100_000, b"\xff\xfe"], ids=["cut", "deep", "not-utf8"])
def test_a_body_that_is_not_json_gets_a_422_and_the_connection_stays_in_step(demo_server, body):
    connection = connect(demo_server)
    status, answer = exchange(connection, "POST", GENERATE, body, JSON)
    assert status == 422 and answer["detail"][0]["type"] == "json_invalid"
    generate_next(connection)


def test_a_chunked_body_is_read_to_its_end(demo_server):
    connection = connect(demo_server)
    pieces = iter([b'{"prompt": "sent in', b' pieces", "response_format": "b64_json"}'])
    status, answer = exchange(connection, "POST", GENERATE, pieces, {**JSON, "Transfer-Encoding": "chunked"},
                              encode_chunked=True)
    assert status == 200 and demo_server.requests_seen[-1]["prompt"] == "sent in pieces"
    generate_next(connection)


def test_a_call_without_the_key_is_refused_and_the_connection_stays_in_step(start_demo):
    keyed = start_demo(api_key="sk-demo-key")
    connection = connect(keyed)
    status, answer = exchange(connection, "POST", GENERATE, json.dumps({"prompt": "no key"}), JSON)
    assert status == 401 and answer["error"]["code"] == "invalid_api_key"
    connection.request("POST", GENERATE, body=json.dumps({"prompt": "with the key", "response_format": "b64_json"}),
                       headers={**JSON, "Authorization": "Bearer sk-demo-key"})
    assert connection.getresponse().status == 200


@pytest.mark.parametrize("image, mask, param", [
    (png_bytes(), b"\xff\xd8\xff\xe0 a JPEG, or so it says", "mask"),
    (png_bytes(), png_bytes()[:40], "mask"),  # a PNG cut short
    (b"not a picture at all", None, "image"),
], ids=["jpeg-mask", "cut-png-mask", "unreadable-image"])
def test_an_edit_with_a_mask_or_image_it_cannot_use_is_a_400_in_openais_words(demo_server, image, mask, param):
    connection = connect(demo_server)
    status, answer = exchange(connection, "POST", "/v1/images/edits", *edit_body(image, mask))
    assert status == 400
    assert answer["error"]["param"] == param and answer["error"]["type"] == "invalid_request_error"
    assert ("the mask must be a PNG file" if param == "mask" else "Invalid input image 1") in answer["error"]["message"]
    generate_next(connection)


def test_a_png_mask_still_edits(demo_server):
    status, answer = exchange(connect(demo_server), "POST", "/v1/images/edits", *edit_body(png_bytes(), png_bytes()))
    assert status == 200 and answer["data"][0]["b64_json"]


def stream_events(url, body, path):
    """Each streamed event's name with the seconds since the request, as they arrive (read1: whatever has come)."""
    host, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=60)
    started = time.monotonic()
    connection.request("POST", path, json.dumps(body), JSON)
    answer = connection.getresponse()
    assert answer.status == 200
    reader = sse.EventReader()
    arrived = []
    while chunk := answer.read1(65536):
        arrived += [(event.name, time.monotonic() - started) for event in reader.feed(chunk)]
    connection.close()
    return arrived


def test_the_delay_is_spread_over_the_streamed_partial_images(start_demo):
    demo = start_demo(delay=3.0)
    events = stream_events(demo.base_url, {"prompt": "slowly", "model": "gpt-image-1", "stream": True,
                                           "partial_images": 2}, GENERATE)
    names = [name for name, _ in events]
    assert names == ["image_generation.partial_image"] * 2 + ["image_generation.completed"]
    first, second, done = (seconds for _, seconds in events)
    assert first < 2.0 < done  # the first partial a third of the way in, not all of them at the end
    assert done >= 2.9 and first < second < done


def test_each_model_can_have_its_own_delay(start_demo):
    demo = start_demo(delay=2.0, model_delays={"flux": 0.0})
    for model, slow in (("flux", False), ("sdxl-turbo", True)):
        started = time.monotonic()
        answer = requests.post(demo.api_base + "/images/generations", timeout=30,
                               json={"prompt": "paced", "model": model, "response_format": "b64_json"})
        assert answer.status_code == 200
        assert (time.monotonic() - started >= 2.0) is slow, model


# -- through a real app process --------------------------------------------------------------------------------------

def test_a_path_the_demo_does_not_serve_leaves_the_next_generation_through_proofsheet_whole(tmp_path):
    """Proofsheet's connection pool keeps the connection to the demo open: a relayed call the demo does not serve
    must not leave the next generation reading the rest of that call's body."""
    process, url = start_app_process(tmp_path / "data", None, "--demo")
    try:
        for round_number in range(3):
            chat = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi" * 500}]}
            relayed = requests.post(url + "/v1/chat/completions", json=chat, timeout=30)
            assert relayed.status_code == 404 and relayed.json()["error"]["message"].startswith("Invalid URL")
            made = requests.post(url + "/api/generate", json={"prompt": f"round {round_number}", "size": "64x64"},
                                 timeout=30).json()
            assert made["status"] == "ok", made
    finally:
        stop_process(process)


def test_demo_delay_paces_the_demo_started_with_the_app_and_spreads_its_stream(tmp_path):
    process, url = start_app_process(tmp_path / "data", None, "--demo", "--demo-delay", "3",
                                     "--demo-delay", "flux=0")
    try:
        started = time.monotonic()
        made = requests.post(url + "/api/generate", json={"prompt": "quick", "model": "flux", "size": "64x64"},
                             timeout=30).json()
        assert made["status"] == "ok" and time.monotonic() - started < 2.5
        events = stream_events(url, {"prompt": "rehearsed", "model": "gpt-image-1", "stream": True,
                                     "partial_images": 2, "size": "256x256"}, "/api/generate")
        assert [name for name, _ in events] == ["started", "partial", "partial", "done"]
        first_partial, done = events[1][1], events[-1][1]
        assert first_partial < 2.0 < done and done >= 2.9
    finally:
        stop_process(process)


@pytest.mark.parametrize("args, said", [
    (["--demo-delay", "3"], "add --demo"),
    (["--demo", "--demo-delay", "soon"], "is not SECONDS or MODEL=SECONDS"),
    (["--demo", "--demo-delay", "flux=-1"], "between 0 and 3600 seconds"),
])
def test_a_demo_delay_that_cannot_be_used_is_refused_with_why(tmp_path, args, said):
    code, printed = run_app_command(*args, env={"PROOFSHEET_DATA": str(tmp_path / "data")})
    assert code == 2 and said in printed and "Traceback" not in printed


def test_a_client_that_resets_its_connection_mid_request_leaves_no_traceback_on_the_terminal(capfd):
    import socket
    import struct
    with DemoImageServer() as demo:
        host, port = demo.api_base.split("//")[1].split("/")[0].split(":")
        for _ in range(3):
            connection = socket.create_connection((host, int(port)))
            connection.sendall(b"POST /v1/images/generations HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")
            connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # a reset, not a FIN
            connection.close()
        time.sleep(0.3)
        connection = socket.create_connection((host, int(port)))
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        connection.close()  # before sending anything: the server's readline meets the reset
        time.sleep(0.3)
    printed = capfd.readouterr()
    assert "Traceback" not in printed.err + printed.out
