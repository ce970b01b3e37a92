"""The history as a real `python app.py` process leaves it: stopped cleanly, killed, started for the first time, and
what `--check` says about it."""
import signal
import subprocess
import threading

import pytest
import requests

from proofsheet.history.migrations import MIGRATIONS
from tests.support import run_app_command, start_app_process, stop_process, wait_until


def check(data):
    """`python app.py --check` on the folder: (exit code, its lines)."""
    code, printed = run_app_command("--check", env={"PROOFSHEET_DATA": str(data)})
    return code, printed.strip().splitlines()


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl-C"])
def test_a_clean_stop_closes_the_history_and_leaves_no_wal_or_shm_file(tmp_path, demo_server, stop):
    data, log_path = tmp_path / "data", tmp_path / "app.log"
    process, url = start_app_process(data, demo_server.api_base, log_path=log_path)
    try:
        kept = requests.post(url + "/api/generate", json={"prompt": "kept", "size": "256x256"}, timeout=30)
        assert kept.status_code == 200
        assert (data / "proofsheet.sqlite3-wal").exists()  # while it runs, the log is there
        process.send_signal(stop)
        try:  # seconds on a quiet machine; a CI machine running the whole suite at once has been seen far slower
            code = process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            code = None
        assert code == 0, log_path.read_text()[-3000:]
    finally:
        stop_process(process)
    assert not (data / "proofsheet.sqlite3-wal").exists() and not (data / "proofsheet.sqlite3-shm").exists()
    printed = log_path.read_text()
    assert "Traceback" not in printed
    assert printed.strip().splitlines()[-1].endswith("Proofsheet stopped; the history is closed.")
    code, lines = check(data)
    assert code == 0 and "Generations: 1" in lines
    assert not (data / "proofsheet.sqlite3-wal").exists(), "--check wrote a log file beside the database"


def test_check_right_after_a_kill_says_how_many_were_running_and_the_next_start_marks_them_interrupted(
        tmp_path, hanging_server):
    data = tmp_path / "data"
    process, url = start_app_process(data, hanging_server.api_base)
    askers = [threading.Thread(target=_generate_until_killed, args=(url, f"cut off {number}")) for number in range(2)]
    try:
        for asker in askers:
            asker.start()
        assert wait_until(lambda: hanging_server.open_hangs == 2, 20)
        running = [row["id"] for row in requests.get(url + "/api/generations", timeout=5).json()["generations"]]
        assert len(running) == 2
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        stop_process(process)
        for asker in askers:
            asker.join(timeout=15)

    code, lines = check(data)
    assert code == 0
    said = [line for line in lines if line.startswith("Generations still marked running")]
    assert said == ["Generations still marked running: 2. No Proofsheet is using this folder, so they were cut off "
                    "when it stopped (killed, or the machine went down); the next start marks them as interrupted, "
                    "listed with the failed ones: \"Proofsheet stopped before the image server answered.\""]
    assert lines[-1] == "The history is sound: the database is whole and its rows and files agree."

    process, url = start_app_process(data, hanging_server.api_base)  # what the line promised
    try:
        for generation_id in running:
            kept = requests.get(f"{url}/api/generations/{generation_id}", timeout=5).json()
            assert kept["status"] == "interrupted"
            assert kept["error"]["message"] == "Proofsheet stopped before the image server answered."
        failed = requests.get(url + "/api/generations?outcome=failed", timeout=5).json()["generations"]
        assert sorted(row["id"] for row in failed) == sorted(running)
    finally:
        stop_process(process)
    code, lines = check(data)
    assert code == 0 and not [line for line in lines if "running" in line]


def _generate_until_killed(url, prompt):
    try:
        requests.post(url + "/api/generate", json={"prompt": prompt}, timeout=60)
    except requests.RequestException:
        pass  # the app was killed under it


def test_check_ends_with_one_line_saying_whether_the_history_is_sound(tmp_path, demo_server):
    data = tmp_path / "data"
    process, url = start_app_process(data, demo_server.api_base)
    try:
        assert requests.post(url + "/api/generate", json={"prompt": "kept", "size": "256x256"},
                             timeout=30).status_code == 200
    finally:
        stop_process(process)
    code, lines = check(data)
    assert code == 0 and lines[-1] == "The history is sound: the database is whole and its rows and files agree."

    next((data / "images").iterdir()).unlink()
    code, lines = check(data)
    assert code == 1 and lines[-1] == "The history is NOT sound: 1 problem, said above."
    assert [line for line in lines if line.startswith("PROBLEM: Image")]


def test_the_first_start_says_one_line_for_the_schema_and_a_later_start_none(tmp_path, demo_server):
    data = tmp_path / "data"
    for start, log_path in enumerate((tmp_path / "first.log", tmp_path / "second.log")):
        process, _ = start_app_process(data, demo_server.api_base, log_path=log_path)
        stop_process(process)
        said = [line for line in log_path.read_text().splitlines() if "schema" in line or "Migrating" in line]
        if start == 0:
            assert len(said) == 1 and said[0].endswith(f"Creating the history in {data} (schema version {len(MIGRATIONS)})")
        else:
            assert said == []
