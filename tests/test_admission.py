"""Admission: every path that asks an image server takes a place first; beyond the limit it is refused as busy, and
a place is given back however the work ends — a block left by an exception, a stream read to its end, a caller who
walks away."""
import io
import socket
import threading
import time

import pytest
import requests

from proofsheet.results import Problem
from proofsheet.running.admission import Admission, Place
from proofsheet.upstream.cancellation import Flights
from tests.support import png_bytes, start_app_process, stop_process, wait_until


def admission(limit=1):
    return Admission(limit, Flights(lambda flight: None))


def test_a_place_is_given_back_when_its_block_ends_even_by_an_error():
    places = admission()
    with pytest.raises(RuntimeError):
        with places.place():
            assert places.place().kind == "busy"
            raise RuntimeError("the work failed")
    assert isinstance(places.place(), Place)


def test_beyond_the_limit_the_answer_is_busy_and_says_how_many_it_takes():
    places = admission(limit=2)
    held = [places.place(), places.place()]
    refused = places.place()
    assert isinstance(refused, Problem) and refused.kind == "busy"
    assert "already waiting on 2 generations" in refused.message
    for place in held:
        place.leave()
        place.leave()  # leaving twice gives back one place, not two
    assert all(isinstance(place, Place) for place in (places.place(), places.place()))
    assert places.place().kind == "busy"


def test_an_asker_already_gone_is_not_admitted():
    places = admission()
    assert places.place(gone=lambda: True).kind == "gone"
    assert isinstance(places.place(), Place)  # and took no place


def test_a_place_handed_to_a_stream_is_held_until_the_stream_ends_and_its_flights_land():
    flights = Flights(lambda flight: None)
    places = Admission(1, flights)
    kept = []
    with places.place() as place:
        place.fly(7)
        stream = place.hand_over(iter([b"one", b"two"]), then=lambda: kept.append("kept"))
    assert places.place().kind == "busy" and len(flights) == 1  # the view has returned; the answer is still going
    assert list(stream) == [b"one", b"two"]
    assert kept == ["kept"] and len(flights) == 0
    assert isinstance(places.place(), Place)


def test_a_stream_the_caller_walks_away_from_gives_its_place_back():
    places = admission()
    with places.place() as place:
        stream = place.hand_over(iter([b"one", b"two"]))
    next(stream)
    stream.close()  # what the web server does when the caller has gone
    assert isinstance(places.place(), Place)


def test_work_that_can_wait_takes_the_next_place_given_back():
    places = admission()
    held = places.place()
    threading.Timer(0.2, held.leave).start()
    started = time.monotonic()
    assert isinstance(places.place(wait=5), Place)
    assert 0.1 < time.monotonic() - started < 4
    assert places.place(wait=0.1).kind == "busy"


def _edit_files():
    return {"prompt": "a hat", "image": (io.BytesIO(png_bytes()), "in.png")}


# Every path that asks an image server, with all places taken: (method, path, how it is sent, status it answers).
BUSY_PATHS = [
    ("POST", "/generate", {"data": {"prompt": "a page"}}, 503),
    ("POST", "/compare", {"data": {"prompt": "a grid", "target_model": ["flux", "sdxl"]}}, 503),
    ("POST", "/edit", {"data": _edit_files, "content_type": "multipart/form-data"}, 503),
    ("POST", "/arena", {"data": {"prompt": "a vote", "target_model": ["flux", "sdxl"]}}, 503),
    ("POST", "/api/generate", {"json": {"prompt": "the api"}}, 503),
    ("POST", "/api/compare", {"json": {"prompt": "a grid", "models": ["flux", "sdxl"]}}, 503),
    ("POST", "/api/edit", {"data": _edit_files, "content_type": "multipart/form-data"}, 503),
    ("POST", "/api/arena", {"json": {"prompt": "a vote", "contenders": [{"model": "flux"}, {"model": "sdxl"}]}},
     503),
    ("POST", "/v1/images/generations", {"json": {"prompt": "a program", "model": "flux"}}, 503),
    ("POST", "/v1/images/edits", {"data": _edit_files, "content_type": "multipart/form-data"}, 503),
    ("POST", "/v1/chat/completions", {"json": {"model": "x", "messages": []}}, 503),
]


@pytest.mark.parametrize("method, path, sent, status", BUSY_PATHS)
def test_with_every_place_taken_each_path_is_refused_as_busy_and_the_server_is_not_asked(make_app,
        tmp_path, demo_server, method, path, sent, status):
    app = make_app(tmp_path, demo_server.api_base, MAX_IN_FLIGHT=1)
    sent = {name: value() if callable(value) else value for name, value in sent.items()}
    with app.extensions["runner"].place():
        answer = app.test_client().open(path, method=method, **sent)
    assert answer.status_code == status, answer.get_data(as_text=True)[:300]
    assert "already waiting on 1 generations" in answer.get_data(as_text=True)
    if path.startswith(("/api/", "/v1/")):
        assert answer.headers["Retry-After"] == "5"
    assert demo_server.requests_seen == []


def test_a_stream_asked_for_while_every_place_is_taken_ends_with_a_busy_error_event(make_app, tmp_path, demo_server):
    app = make_app(tmp_path, demo_server.api_base, MAX_IN_FLIGHT=1)
    with app.extensions["runner"].place():
        answer = app.test_client().post("/api/generate", json={"prompt": "streamed", "stream": True})
    assert "event: error" in answer.get_data(as_text=True)
    assert '"kind": "busy"' in answer.get_data(as_text=True)


def test_a_place_comes_back_after_each_kind_of_work(client):
    """With the default limit, more generations, comparisons and /v1 calls one after another than it has places."""
    runner = client.application.extensions["runner"]
    for _ in range(runner.max_in_flight + 2):
        assert client.post("/api/generate", json={"prompt": "again"}).status_code == 200
    for _ in range(3):
        assert client.post("/api/compare", json={"prompt": "grid", "models": ["flux", "sdxl"]}).status_code == 200
        assert client.post("/v1/images/generations", json={"prompt": "program", "model": "flux"}).status_code == 200
    held = [runner.place() for _ in range(runner.max_in_flight)]
    assert all(isinstance(place, Place) for place in held)


def raw_v1_generation(url):
    """A /v1 call on a raw socket, so that the test can walk away from it by closing the socket."""
    host, port = url.removeprefix("http://").split(":")
    body = b'{"prompt": "slow", "model": "flux"}'
    sock = socket.create_connection((host, int(port)), timeout=30)
    sock.sendall(b"POST /v1/images/generations HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                 b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
    return sock


def test_a_v1_caller_who_walks_away_frees_the_upstream_socket_and_the_place(tmp_path, hanging_server):
    # 25 threads, 16 kept for pages and 8 for live history: 1 place
    process, url = start_app_process(tmp_path / "data", hanging_server.api_base, "--threads", "25")
    sockets = []
    try:
        sockets.append(raw_v1_generation(url))
        assert wait_until(lambda: hanging_server.open_hangs == 1, 10)
        refused = requests.post(url + "/v1/images/generations", json={"prompt": "too many"}, timeout=5)
        assert refused.status_code == 503 and refused.headers["Retry-After"] == "5"
        assert refused.json()["error"]["code"] == "busy"
        sockets[0].close()
        assert wait_until(lambda: hanging_server.open_hangs == 0, 2.0), hanging_server.open_hangs

        def asked_again() -> bool:  # the place comes back with the walk-away (a moment after the socket is cut)
            sockets.append(raw_v1_generation(url))
            return wait_until(lambda: hanging_server.open_hangs == 1, 0.5)
        assert wait_until(asked_again, 5)
    finally:
        for sock in sockets:
            sock.close()
        stop_process(process)


def test_a_page_beyond_the_live_listeners_is_told_busy_and_when_to_try_again(make_app, tmp_path, demo_server):
    answer = make_app(tmp_path, demo_server.api_base, LIVE_PAGES=0).test_client().get("/api/events")
    assert answer.status_code == 503 and answer.headers["Retry-After"] == "5"
    assert answer.get_json()["error"]["kind"] == "busy"
