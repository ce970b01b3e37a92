"""Prompt-set runs against a real `python app.py` process: a server that rate-limits, a kill -9 in mid-run, pause,
and pages during a run."""
import json
import threading
import time
from collections import Counter

import requests

from tests.support import png_base64, start_app_process, stop_process, wait_until

GEN = "/v1/images/generations"


class Answers:
    """Answers each generation with an image after `delay` seconds, or (every `limit_every`-th call) with a 429
    saying Retry-After: 1; counts what it was asked and what it answered with an image."""

    def __init__(self, fake_server, delay=0.0, limit_every=0):
        self.delay, self.limit_every = delay, limit_every
        self.calls, self.asked, self.made = 0, Counter(), Counter()
        self.lock = threading.Lock()
        fake_server.on_call("POST", GEN, self.answer)

    def answer(self, handler):
        prompt = json.loads(handler.body)["prompt"]
        with self.lock:
            self.calls += 1
            self.asked[prompt] += 1
            limited = self.limit_every and self.calls % self.limit_every == 0
        time.sleep(self.delay)
        if limited:
            body, status, headers = b'{"error": {"message": "Too many requests"}}', 429, {"Retry-After": "1"}
        else:
            body, status, headers = json.dumps({"data": [{"b64_json": png_base64()}]}).encode(), 200, {}
        handler.send_response(status)
        for name, value in {"Content-Type": "application/json", "Content-Length": str(len(body)), **headers}.items():
            handler.send_header(name, value)
        handler.end_headers()
        try:
            handler.wfile.write(body)
            if status == 200:
                with self.lock:
                    self.made[prompt] += 1
        except OSError:  # the asker was killed meanwhile
            pass


def start_run(url, prompts, **fields):
    answer = requests.post(url + "/api/runs", json={"prompts": prompts, "targets": [{"model": "flux"}], **fields},
                           timeout=10)
    assert answer.status_code == 201, answer.text
    return answer.json()["id"]


def run_state(url, run_id):
    return requests.get(f"{url}/api/runs/{run_id}", timeout=10).json()


def all_cells(url, run_id):
    return requests.get(f"{url}/api/runs/{run_id}/cells?per_page=1000", timeout=10).json()["cells"]


def test_a_server_that_rate_limits_every_third_call_still_gives_every_prompt_once_and_no_failure(tmp_path,
                                                                                               fake_server):
    answers = Answers(fake_server, limit_every=3)
    process, url = start_app_process(tmp_path / "data", fake_server.api_base)
    try:
        prompts = [f"lighthouse {number}" for number in range(8)]
        run_id = start_run(url, prompts, concurrency=2)
        assert wait_until(lambda: run_state(url, run_id)["status"] != "running", 60)
        state = run_state(url, run_id)
        assert (state["status"], state["done"], state["failed"], state["pending"]) == ("done", 8, 0, 0)
        assert answers.made == Counter({prompt: 1 for prompt in prompts})  # each prompt asked once per success
        assert sum(answers.asked.values()) == answers.calls > 8  # the 429s were asked again, not failed
        assert any(cell["attempts"] > 1 for cell in all_cells(url, run_id))
    finally:
        stop_process(process)


def test_a_run_killed_mid_way_resumes_on_restart_and_finishes_with_nothing_lost(tmp_path, fake_server):
    answers = Answers(fake_server, delay=0.3)
    prompts = [f"whale {number}" for number in range(24)]
    process, url = start_app_process(tmp_path / "data", fake_server.api_base)
    try:
        run_id = start_run(url, prompts, concurrency=2)
        assert wait_until(lambda: run_state(url, run_id)["done"] >= 4, 30)
    finally:
        process.kill()  # kill -9: no clean shutdown
        process.wait(timeout=10)
    process, url = start_app_process(tmp_path / "data", fake_server.api_base)
    try:
        assert wait_until(lambda: run_state(url, run_id)["status"] == "done", 60), run_state(url, run_id)
        state = run_state(url, run_id)
        assert (state["done"], state["failed"], state["pending"]) == (24, 0, 0)
        cells = all_cells(url, run_id)
        assert sorted(cell["prompt"] for cell in cells if cell["status"] == "done") == sorted(prompts)
        asked_twice = {prompt for prompt, count in answers.asked.items() if count > 1}
        retried = {cell["prompt"] for cell in cells if cell["retried"]}
        assert asked_twice <= retried and len(retried) <= 2  # only the cells in flight at the kill
        assert all(answers.asked[prompt] >= 1 for prompt in prompts)
    finally:
        stop_process(process)


def test_pause_stops_new_calls_and_resume_finishes_the_run(tmp_path, fake_server):
    answers = Answers(fake_server, delay=0.3)
    process, url = start_app_process(tmp_path / "data", fake_server.api_base)
    try:
        run_id = start_run(url, [f"kite {number}" for number in range(30)], concurrency=2)
        assert wait_until(lambda: run_state(url, run_id)["done"] >= 2, 30)
        paused = requests.post(f"{url}/api/runs/{run_id}/pause", timeout=10)
        assert paused.status_code == 200 and paused.json()["status"] == "paused"
        time.sleep(1.0)  # the calls in flight at the pause finish and are kept
        asked = answers.calls
        time.sleep(2.0)
        assert answers.calls == asked
        state = run_state(url, run_id)
        assert state["status"] == "paused" and state["pending"] > 0 and state["eta_s"] is None
        assert requests.post(f"{url}/api/runs/{run_id}/resume", timeout=10).json()["status"] == "running"
        assert wait_until(lambda: run_state(url, run_id)["status"] == "done", 60)
        assert (run_state(url, run_id)["done"], answers.calls) == (30, 30)
    finally:
        stop_process(process)


def test_pages_answer_within_a_second_while_a_run_waits_on_a_server_that_never_answers(tmp_path, hanging_server):
    process, url = start_app_process(tmp_path / "data", hanging_server.api_base, env={"PROOFSHEET_TIMEOUT": "600"})
    try:
        run_id = start_run(url, [f"owl {number}" for number in range(100)], concurrency=16)
        assert wait_until(lambda: hanging_server.open_hangs == 16, 20), hanging_server.open_hangs
        for path in ("/", "/generations", "/runs", f"/runs/{run_id}", f"/api/runs/{run_id}", "/api/generations"):
            started = time.monotonic()
            assert requests.get(url + path, timeout=5).status_code == 200
            assert time.monotonic() - started < 1.0, f"{path} took too long during a run"
        cancelled = requests.post(f"{url}/api/runs/{run_id}/cancel", timeout=10).json()
        assert cancelled["status"] == "cancelled" and cancelled["cancelled"] >= 84
        assert wait_until(lambda: hanging_server.open_hangs == 0, 5)  # the calls in flight are cut
    finally:
        stop_process(process)


def test_a_run_of_a_file_of_each_kind_and_bad_input_refused_with_a_clear_400(tmp_path, fake_server):
    answers = Answers(fake_server)
    files = {"p.txt": b"a red kite\na blue door\n",
             "p.csv": b"prompt,size\na red kite,256x256\na blue door,512x512\n",
             "p.jsonl": b'{"prompt": "a red kite", "seed": 3}\n{"prompt": "a blue door", "category": "doors"}\n'}
    process, url = start_app_process(tmp_path / "data", fake_server.api_base)
    try:
        for name, content in files.items():
            started = requests.post(url + "/api/runs", data={"targets": '[{"model": "flux"}]'},
                                    files={"prompts_file": (name, content)}, timeout=10)
            assert started.status_code == 201, started.text
            run_id = started.json()["id"]
            assert wait_until(lambda: run_state(url, run_id)["status"] == "done", 30)
            assert sorted(cell["prompt"] for cell in all_cells(url, run_id)) == ["a blue door", "a red kite"]
        assert answers.made == Counter({"a red kite": 3, "a blue door": 3})
        for body, words in [({"prompts": [], "targets": [{"model": "flux"}]}, "at least one prompt"),
                            ({"prompts": ["a"], "targets": [{"model": "flux", "server": "elsewhere"}]},
                             "no server named 'elsewhere'"),
                            ({"prompts": ["a"] * 10_001, "targets": [{"model": "flux"}]}, "At most 10,000 calls")]:
            refused = requests.post(url + "/api/runs", json=body, timeout=10)
            assert refused.status_code == 400 and words in refused.json()["error"]["message"]
    finally:
        stop_process(process)
