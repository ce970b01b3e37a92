"""Keeping the copy of what passes through /v1 in bounded memory: the answer goes to a temporary file as it passes
(nothing of it held), and answers that cannot be kept in time are recorded as not kept, the caller unaffected."""
import threading
import time
from types import SimpleNamespace

import requests

from proofsheet.running.recording import KEEP_QUEUE, Recorder
from tests.support import fill, kept as settled, LiveApp, png_bytes, start_app_process, stop_process


def slow_image(gate):
    """Serves a PNG once `gate` is set (a keep fetching it waits until then: at most 30 s)."""
    def respond(handler):
        gate.wait(30)
        image = png_bytes()
        handler.send_response(200)
        handler.send_header("Content-Type", "image/png")
        handler.send_header("Content-Length", str(len(image)))
        handler.end_headers()
        handler.wfile.write(image)
    return respond


def answers_with_a_slow_image(fake_server, gate):
    answer = {"data": [{"url": fake_server.base_url + "/slow.png"}]}
    fake_server.on_generate(json_body=answer)
    fake_server.on_call("GET", "/slow.png", slow_image(gate))
    return answer


def call(url, prompt):
    return requests.post(url + "/v1/images/generations", json={"model": "flux", "prompt": prompt}, timeout=30)


def test_answers_beyond_the_keep_queue_reach_the_caller_and_are_recorded_as_not_kept(tmp_path, fake_server):
    gate = threading.Event()
    answer = answers_with_a_slow_image(fake_server, gate)
    process, url = start_app_process(tmp_path / "data", fake_server.api_base, env={"PROOFSHEET_IMAGE_TIMEOUT": "30"})
    app = SimpleNamespace(url=url)
    try:
        calls = [call(url, f"call {number}") for number in range(KEEP_QUEUE + 2)]
        assert [(reply.status_code, reply.json()) for reply in calls] == [(200, answer)] * len(calls)
        beyond = [settled(app, reply.headers["X-Proofsheet-Generation"]) for reply in calls[KEEP_QUEUE:]]
        for generation in beyond:
            assert generation["status"] == "failed" and generation["error"] == {
                "kind": "not_kept", "message": "The answer went to the caller, but Proofsheet did not keep it: "
                                               f"{KEEP_QUEUE} answers were already waiting to be kept."}
        gate.set()
        kept = [settled(app, reply.headers["X-Proofsheet-Generation"], wait=30) for reply in calls[:KEEP_QUEUE]]
        assert {generation["status"] for generation in kept} == {"ok"}
        assert sorted(path.suffix for path in (tmp_path / "data" / "responses").iterdir()) == [".body"] * KEEP_QUEUE
    finally:
        gate.set()
        stop_process(process)


def test_an_answer_that_waits_too_long_for_its_keep_is_recorded_as_not_kept(make_app, tmp_path, fake_server):
    gate = threading.Event()
    answer = answers_with_a_slow_image(fake_server, gate)
    app = make_app(tmp_path, fake_server.api_base)
    app.extensions["recorder"] = Recorder(app.extensions["runner"], wait=0.5)
    live = LiveApp(app)
    try:
        calls = [call(live.url, f"call {number}") for number in range(3)]  # two keepers busy, the third waits
        assert [reply.json() for reply in calls] == [answer] * 3
        time.sleep(1)
        gate.set()
        first, second, third = (settled(live, reply.headers["X-Proofsheet-Generation"]) for reply in calls)
        assert (first["status"], second["status"]) == ("ok", "ok")
        assert third["status"] == "failed" and third["error"]["message"] == (
            "The answer went to the caller, but Proofsheet did not keep it: it waited more than 0.5 seconds behind "
            "other answers.")
    finally:
        gate.set()
        app.extensions["recorder"].close()
        live.stop()


def test_an_answer_the_disk_cannot_hold_reaches_the_caller_whole_and_is_recorded_as_not_kept(small_disk, demo_server):
    data = small_disk / "data"
    process, url = start_app_process(data, demo_server.api_base)
    try:
        fill(small_disk, leave_free=64 * 1024)
        answer = requests.post(url + "/v1/images/generations", timeout=60, json={
            "model": "flux", "prompt": "does not fit", "response_format": "b64_json", "n": 4, "size": "1024x1024"})
        assert answer.status_code == 200 and len(answer.content) == int(answer.headers["Content-Length"])
        assert len(answer.json()["data"]) == 4
        generation = settled(SimpleNamespace(url=url), answer.headers["X-Proofsheet-Generation"])
        assert generation["status"] == "failed" and generation["error"]["kind"] == "disk_full"
        assert f"The disk holding the data folder ({data}) is full" in generation["error"]["message"]
        assert not list(data.rglob("*.tmp"))
    finally:
        stop_process(process)

