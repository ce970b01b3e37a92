"""Killing Proofsheet with SIGKILL while it writes generations leaves every listed generation whole."""
import io
import signal
import sqlite3
import threading
import time

import requests
from PIL import Image

from tests.support import start_app_process

WRITERS = 6
KILL_ROUNDS = 3


def write_until_stopped(url, stop, answered):
    session = requests.Session()
    number = 0
    while not stop.is_set():
        number += 1
        try:
            response = session.post(url + "/api/generate", timeout=10, json={
                "prompt": f"crash test {threading.get_ident()} {number}", "response_format": "b64_json",
                "n": 2, "size": "384x384"})
        except requests.RequestException:
            return  # the app was killed under us
        if response.status_code == 200:
            answered.append(response.json()["id"])


def kill_while_writing(data_dir, api_base, answered):
    process, url = start_app_process(data_dir, api_base)
    stop = threading.Event()
    before = len(answered)
    writers = [threading.Thread(target=write_until_stopped, args=(url, stop, answered)) for _ in range(WRITERS)]
    for writer in writers:
        writer.start()
    deadline = time.monotonic() + 30
    while len(answered) < before + 8 and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    stop.set()
    for writer in writers:
        writer.join(timeout=15)
    assert len(answered) >= before + 8, "too few generations finished before the kill"


def test_sigkill_while_writing_leaves_every_listed_generation_whole(make_app, tmp_path, demo_server):
    data_dir = tmp_path / "data"
    answered = []
    for _ in range(KILL_ROUNDS):
        kill_while_writing(data_dir, demo_server.api_base, answered)

    db = sqlite3.connect(data_dir / "proofsheet.sqlite3")
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    db.close()

    client = make_app(tmp_path, demo_server.api_base, DATA_DIR=str(data_dir)).test_client()
    listed = client.get("/api/generations?per_page=1000").get_json()["generations"]
    listed_ids = {row["id"] for row in listed}
    assert set(answered) <= listed_ids, "a generation the app confirmed was lost"
    for row in listed:
        assert client.get(f"/generations/{row['id']}").status_code == 200
        generation = client.get(f"/api/generations/{row['id']}").get_json()
        assert generation["status"] in ("ok", "interrupted")
        if generation["status"] == "ok":
            assert len(generation["images"]) == 2
        for image in generation["images"]:
            for url in (image["src"], image["thumbnail"]):
                data = client.get(url).data
                with Image.open(io.BytesIO(data)) as opened:
                    opened.load()
