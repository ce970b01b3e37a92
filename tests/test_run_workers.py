"""A run's workers in their own process, beside a real `python app.py`: killed, they are started again and the run
loses nothing; Proofsheet killed or stopped with Ctrl-C, they end with it."""
import json
import os
import re
import signal
import sqlite3
import time
from collections import Counter
from pathlib import Path

import requests

from tests.support import png_base64, start_app_process, stop_process, wait_until

GEN = "/v1/images/generations"
KEY = "sk-proofsheet-test-key-4c1d"


def answering(fake_server, delay):
    """Each generation answered with an image after `delay` seconds; returns the prompts asked, counted."""
    asked = Counter()
    body = json.dumps({"data": [{"b64_json": png_base64()}]}).encode()

    def answer(handler):
        asked[json.loads(handler.body)["prompt"]] += 1
        time.sleep(delay)
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        try:
            handler.wfile.write(body)
        except OSError:  # the asker was killed meanwhile
            pass
    fake_server.on_call("POST", GEN, answer)
    return asked


def run_workers(pid):
    """The processes the app started (its run workers), read from /proc."""
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(child) for child in (task / "children").read_text().split()]
    return found


def gone(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    # A zombie (ended, not yet waited for by its parent) has ended too.
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"


def start_run(url, prompts, concurrency=2):
    answer = requests.post(url + "/api/runs", json={"prompts": prompts, "targets": [{"model": "flux"}],
                                                    "concurrency": concurrency}, timeout=30)
    assert answer.status_code == 201, answer.text
    return answer.json()["id"]


def run_state(url, run_id):
    return requests.get(f"{url}/api/runs/{run_id}", timeout=10).json()


def test_run_workers_killed_mid_run_start_again_and_the_run_finishes_with_nothing_lost(tmp_path, fake_server):
    asked = answering(fake_server, delay=0.2)
    prompts = [f"heron {number}" for number in range(20)]
    log = tmp_path / "app.log"
    process, url = start_app_process(tmp_path / "data", fake_server.api_base, env={"PROOFSHEET_API_KEY": KEY},
                                     log_path=log)
    try:
        run_id = start_run(url, prompts)
        assert wait_until(lambda: run_state(url, run_id)["done"] >= 3, 30)
        [workers] = run_workers(process.pid)
        assert KEY not in Path(f"/proc/{workers}/cmdline").read_text()  # the key goes through a pipe
        # pages go first
        assert os.getpriority(os.PRIO_PROCESS, workers) > os.getpriority(os.PRIO_PROCESS, process.pid)
        os.kill(workers, signal.SIGKILL)
        assert wait_until(lambda: run_state(url, run_id)["status"] == "done", 60), run_state(url, run_id)
        assert requests.get(url + f"/runs/{run_id}", timeout=10).status_code == 200
        assert run_workers(process.pid) and run_workers(process.pid) != [workers]  # started again
        cells = requests.get(f"{url}/api/runs/{run_id}/cells?per_page=100", timeout=10).json()["cells"]
        assert sorted(cell["prompt"] for cell in cells if cell["status"] == "done") == sorted(prompts)
        retried = {cell["prompt"] for cell in cells if cell["retried"]}
        assert {prompt for prompt, count in asked.items() if count > 1} <= retried and len(retried) <= 2
    finally:
        stop_process(process)
    with sqlite3.connect(tmp_path / "data" / "proofsheet.sqlite3") as db:  # the calls cut by the kill: not left running
        assert db.execute("SELECT count(*) FROM generations WHERE status='running'").fetchone() == (0,)
    said = log.read_text()
    assert "The run workers stopped" in said and "Traceback" not in said and KEY not in said


def test_killing_proofsheet_ends_its_run_workers_and_no_call_is_sent_after(tmp_path, fake_server):
    asked = answering(fake_server, delay=0.3)
    process, url = start_app_process(tmp_path / "data", fake_server.api_base)
    try:
        run_id = start_run(url, [f"otter {number}" for number in range(40)])
        assert wait_until(lambda: run_state(url, run_id)["done"] >= 2, 30)
        [workers] = run_workers(process.pid)
    finally:
        process.kill()  # kill -9: no clean shutdown
        process.wait(timeout=10)
    assert wait_until(lambda: gone(workers), 10), "the run workers outlived Proofsheet"
    time.sleep(0.5)  # a call already on its way when they ended
    calls = sum(asked.values())
    time.sleep(1.5)
    assert sum(asked.values()) == calls < 40


def test_ctrl_c_during_a_run_stops_proofsheet_and_its_workers_without_a_traceback(tmp_path, fake_server):
    answering(fake_server, delay=0.3)
    log = tmp_path / "app.log"
    process, url = start_app_process(tmp_path / "data", fake_server.api_base, log_path=log)
    try:
        run_id = start_run(url, [f"puffin {number}" for number in range(40)])
        assert wait_until(lambda: run_state(url, run_id)["done"] >= 2, 30)
        [workers] = run_workers(process.pid)
        for pid in (process.pid, workers):  # as a terminal's Ctrl-C reaches every process in the foreground
            os.kill(pid, signal.SIGINT)
        assert process.wait(timeout=40) == 0
    finally:
        stop_process(process)
    assert wait_until(lambda: gone(workers), 10)
    said = log.read_text()
    assert "Proofsheet stopped; the history is closed." in said and "Traceback" not in said
    assert not (tmp_path / "data" / "proofsheet.sqlite3-wal").exists()
    process, url = start_app_process(tmp_path / "data", fake_server.api_base)
    try:  # the run goes on after the restart
        assert wait_until(lambda: run_state(url, run_id)["status"] == "done", 60), run_state(url, run_id)
        assert run_state(url, run_id)["done"] == 40
    finally:
        stop_process(process)


def test_a_runs_thumbnails_are_made_when_its_grid_first_shows_them(tmp_path, fake_server):
    answering(fake_server, delay=0.0)
    process, url = start_app_process(tmp_path / "data", fake_server.api_base)
    try:
        run_id = start_run(url, [f"ibis {number}" for number in range(3)])
        assert wait_until(lambda: run_state(url, run_id)["status"] == "done", 30)
        time.sleep(3)  # longer than a thumbnail made ahead waits (history/files.py)
        thumbnails = tmp_path / "data" / "thumbnails"
        assert not list(thumbnails.glob("**/*.webp"))  # none made ahead by the run's workers
        grid = requests.get(f"{url}/runs/{run_id}", timeout=10).text
        shown = re.findall(r'<img src="(/thumbnails/[0-9a-f]{64}\.webp)"', grid)
        assert len(shown) == 3
        for path in shown:
            answer = requests.get(url + path, timeout=10)
            assert answer.status_code == 200 and answer.headers["Content-Type"] == "image/webp"
            assert answer.content[:4] == b"RIFF" and answer.content[8:12] == b"WEBP"
        assert len(list(thumbnails.glob("**/*.webp"))) == len(set(shown))  # one image: the server answers the same
    finally:
        stop_process(process)


def test_a_key_the_server_echoes_in_its_refusal_is_in_no_cell_page_or_log_of_the_run(tmp_path, fake_server):
    fake_server.on("POST", GEN, status=400, json_body={"error": {"message": f"Invalid prompt for key {KEY}"}})
    log = tmp_path / "app.log"
    process, url = start_app_process(tmp_path / "data", fake_server.api_base, env={"PROOFSHEET_API_KEY": KEY},
                                     log_path=log)
    try:
        run_id = start_run(url, ["a heron", "a crane"])
        assert wait_until(lambda: run_state(url, run_id)["status"] != "running", 30)
        cells = requests.get(f"{url}/api/runs/{run_id}/cells", timeout=10).text
        assert "Invalid prompt for key" in cells and KEY not in cells  # the refusal said, the key not
        assert KEY not in requests.get(f"{url}/runs/{run_id}?status=failed", timeout=10).text
        exported = requests.get(f"{url}/runs/{run_id}/export.zip", timeout=10).content
        assert KEY.encode() not in exported
    finally:
        stop_process(process)
    assert KEY not in log.read_text()
