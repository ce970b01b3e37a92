"""Faults as they happen, against a real `python app.py` process: slow servers, second processes, lost and damaged
databases, full and read-only disks, and what start-up says."""
import hashlib
import socket
import subprocess
import time

import pytest
import requests

from tests.support import fill, free_port, run_app_command, start_app_process, stop_process, wait_until

IN_FLIGHT = 64


def raw_generate(url, prompt, client_ref):
    """A POST /api/generate on a raw socket, so that a test can walk away from it by closing the socket."""
    host, port = url.removeprefix("http://").split(":")
    body = ('{"prompt": "%s", "client_ref": "%s"}' % (prompt, client_ref)).encode()
    sock = socket.create_connection((host, int(port)), timeout=30)
    sock.sendall(b"POST /api/generate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                 b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
    return sock


def read_status(sock):
    sock.settimeout(10)
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(65536)
        if not chunk:
            break
        head += chunk
    return int(head.split(b" ", 2)[1]), head


def test_pages_answer_within_a_second_while_64_slow_generations_wait_and_cancel_frees_the_upstream(
        tmp_path, hanging_server):
    process, url = start_app_process(tmp_path / "data", hanging_server.api_base, env={"PROOFSHEET_TIMEOUT": "600"})
    sockets = []
    try:
        sockets = [raw_generate(url, f"slow {number}", f"ref-{number}") for number in range(IN_FLIGHT)]
        assert wait_until(lambda: hanging_server.open_hangs == IN_FLIGHT, 20), hanging_server.open_hangs

        for path in ("/", "/generations", "/healthz", "/static/proofsheet.css", "/api/generations", "/compare"):
            started = time.monotonic()
            assert requests.get(url + path, timeout=5).status_code == 200
            assert time.monotonic() - started < 1.0, f"{path} took too long with {IN_FLIGHT} generations waiting"

        # Cancel: recorded, the waiting request answered, and the upstream connection closed within a second.
        started = time.monotonic()
        cancelled = requests.post(url + "/api/cancel", json={"client_ref": "ref-0"}, timeout=5)
        assert cancelled.status_code == 200
        status, _ = read_status(sockets[0])
        assert status == 409
        assert wait_until(lambda: hanging_server.open_hangs == IN_FLIGHT - 1, 1.0)
        assert time.monotonic() - started < 1.5
        generation = requests.get(f"{url}/api/generations/{cancelled.json()['cancelled']}", timeout=5).json()
        assert generation["status"] == "cancelled"

        # A client that walks away: the generation is abandoned and its upstream connection closed.
        for sock in sockets[1:9]:
            sock.close()
        assert wait_until(lambda: hanging_server.open_hangs == IN_FLIGHT - 9, 2.0), hanging_server.open_hangs
        listed = requests.get(url + "/api/generations?per_page=100", timeout=5).json()["generations"]
        abandoned = [row for row in listed if row["status"] == "cancelled"]
        assert len(abandoned) == 9
        assert any("went away" in (row["error_message"] or "") for row in abandoned)
    finally:
        for sock in sockets:
            sock.close()
        stop_process(process)


def test_beyond_the_limit_a_generation_is_refused_as_busy_and_pages_still_answer(tmp_path, hanging_server):
    process, url = start_app_process(tmp_path / "data", hanging_server.api_base, "--threads", "28")
    sockets = []
    try:  # 28 threads, 16 kept for pages and 8 for live history: 4 generations at once
        sockets = [raw_generate(url, f"slow {number}", f"ref-{number}") for number in range(4)]
        assert wait_until(lambda: hanging_server.open_hangs == 4, 10)
        refused = requests.post(url + "/api/generate", json={"prompt": "one too many"}, timeout=5)
        assert refused.status_code == 503
        assert refused.headers["Retry-After"]
        assert "already waiting on 4 generations" in refused.json()["error"]["message"]
        form = requests.post(url + "/generate", data={"prompt": "typed by hand", "csrf_token": "x"}, timeout=5)
        assert form.status_code == 400  # the CSRF check comes first, and keeps what was typed
        assert "typed by hand" in form.text
        assert requests.get(url + "/", timeout=2).status_code == 200
    finally:
        for sock in sockets:
            sock.close()
        stop_process(process)


def test_a_second_process_on_the_same_folder_is_refused_and_the_first_keeps_its_work(tmp_path, hanging_server):
    data = tmp_path / "data"
    first, url = start_app_process(data, hanging_server.api_base)
    sock = None
    try:
        sock = raw_generate(url, "running in the first", "first-ref")
        assert wait_until(lambda: hanging_server.open_hangs == 1, 10)
        code, printed = run_app_command("--port", str(free_port()), "--api-base", hanging_server.api_base,
                                        env={"PROOFSHEET_DATA": str(data)})
        assert code != 0
        assert "in use by another Proofsheet" in printed
        assert url in printed  # the address of the one that holds it
        assert "Traceback" not in printed
        assert len(printed.strip().splitlines()) == 1
        running = requests.get(url + "/api/generations", timeout=5).json()["generations"][0]
        assert running["status"] == "running"  # not marked interrupted by the second one
    finally:
        if sock:
            sock.close()
        stop_process(first)


def folder_fingerprint(folder):
    """Every file of the history and its hash. Left out: the lock file, which says which process holds the folder,
    and SQLite's shared-memory index (-shm), which any reader of a WAL database updates."""
    return {str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(folder.rglob("*"))
            if path.is_file() and path.name != "proofsheet.lock" and not path.name.endswith("-shm")}


def make_history(data, demo_server, count=3):
    process, url = start_app_process(data, demo_server.api_base)
    try:
        for number in range(count):
            answer = requests.post(url + "/api/generate", timeout=30,
                                   json={"prompt": f"kept {number}", "response_format": "b64_json", "size": "256x256"})
            assert answer.status_code == 200
    finally:
        stop_process(process)


def test_a_damaged_database_stops_start_up_with_one_paragraph_and_touches_nothing(tmp_path, demo_server):
    data = tmp_path / "data"
    make_history(data, demo_server)
    db = data / "proofsheet.sqlite3"
    db.write_bytes(b"this is not a database at all" * 100)
    for leftover in (data / "proofsheet.sqlite3-wal", data / "proofsheet.sqlite3-shm"):
        leftover.unlink(missing_ok=True)
    before = folder_fingerprint(data)
    code, printed = run_app_command("--port", str(free_port()), "--api-base", demo_server.api_base,
                                    env={"PROOFSHEET_DATA": str(data)})
    assert code == 2
    assert "Traceback" not in printed
    assert str(db) in printed and "move it aside" in printed and "restore" in printed
    assert len(printed.strip().splitlines()) == 1
    assert folder_fingerprint(data) == before


@pytest.mark.parametrize("loss", ["deleted", "emptied"])
def test_a_lost_database_never_costs_the_files_beside_it(tmp_path, demo_server, loss):
    data = tmp_path / "data"
    make_history(data, demo_server)
    images = folder_fingerprint(data / "images")
    responses = folder_fingerprint(data / "responses")
    assert len(images) == 3 and len(responses) == 3
    for name in ("proofsheet.sqlite3-wal", "proofsheet.sqlite3-shm"):
        (data / name).unlink(missing_ok=True)
    if loss == "deleted":
        (data / "proofsheet.sqlite3").unlink()
    else:
        (data / "proofsheet.sqlite3").write_bytes(b"")
    process, url = start_app_process(data, demo_server.api_base)
    try:
        gallery = requests.get(url + "/generations", timeout=5).text
        assert "left untouched" in gallery and "backup" in gallery
        assert requests.get(url + "/healthz", timeout=5).json()["history"]["notice"]
        requests.post(url + "/api/generate", json={"prompt": "new", "size": "256x256"}, timeout=30)
    finally:
        stop_process(process)
    process, url = start_app_process(data, demo_server.api_base)  # a second start must not sweep them either
    stop_process(process)
    assert images.items() <= folder_fingerprint(data / "images").items()
    assert responses.items() <= folder_fingerprint(data / "responses").items()


def test_check_reads_without_writing_and_backup_restores_a_whole_history(tmp_path, demo_server):
    data = tmp_path / "data"
    make_history(data, demo_server)
    before = folder_fingerprint(data)
    code, printed = run_app_command("--check", env={"PROOFSHEET_DATA": str(data)})
    assert code == 0, printed
    assert "Generations: 3" in printed and "Image files: 3" in printed
    assert folder_fingerprint(data) == before

    backup = tmp_path / "backup"
    code, printed = run_app_command("--backup", str(backup), env={"PROOFSHEET_DATA": str(data)})
    assert code == 0, printed
    assert "Backed up the history and 6 files" in printed
    process, url = start_app_process(backup, demo_server.api_base)
    try:
        listed = requests.get(url + "/api/generations", timeout=5).json()["generations"]
        assert sorted(row["prompt"] for row in listed) == ["kept 0", "kept 1", "kept 2"]
        assert requests.get(url + f"/generations/{listed[0]['id']}/raw.json", timeout=5).status_code == 200
    finally:
        stop_process(process)

    (data / "images" / next(iter(folder_fingerprint(data / "images")))).unlink()
    code, printed = run_app_command("--check", env={"PROOFSHEET_DATA": str(data)})
    assert code == 1 and "PROBLEM: Image" in printed and "file is missing" in printed


def test_a_busy_port_says_so_in_one_line(tmp_path, demo_server):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, printed = run_app_command("--port", str(port), "--api-base", demo_server.api_base,
                                        env={"PROOFSHEET_DATA": str(tmp_path / "data")})
    assert code == 2
    assert "Traceback" not in printed
    lines = [line for line in printed.splitlines() if line.strip()]
    assert lines[-1] == (f"Port {port} on 127.0.0.1 is already in use (another Proofsheet, or another program). "
                         f"Choose another with --port, for example --port {port + 1}.")
    assert not [line for line in lines if "ERROR" in line or "Exception" in line]


@pytest.mark.parametrize("given, said", [
    ("localhost:1337", "--api-base must be an http:// or https:// URL, not 'localhost:1337'. "
                       "Did you mean 'http://localhost:1337'?"),
    ("ftp://example.test/v1", "--api-base must be an http:// or https:// URL"),
])
def test_a_base_url_without_http_is_refused_with_a_suggestion(tmp_path, given, said):
    code, printed = run_app_command("--port", str(free_port()), "--api-base", given,
                                    env={"PROOFSHEET_DATA": str(tmp_path / "data")})
    assert code != 0
    assert "Traceback" not in printed
    assert said in printed
    assert len(printed.strip().splitlines()) == 1


def test_an_unreachable_server_is_a_warning_and_proofsheet_starts_anyway(tmp_path):
    log_path = tmp_path / "app.log"
    process, url = start_app_process(tmp_path / "data", f"http://127.0.0.1:{free_port()}/v1", log_path=log_path)
    try:
        assert requests.get(url + "/", timeout=5).status_code == 200
        assert wait_until(lambda: "The image server is not ready" in log_path.read_text(), 5)
        printed = log_path.read_text()
        assert "Traceback" not in printed
        warning = [line for line in printed.splitlines() if "not ready" in line]
        assert len(warning) == 1 and "WARNING" in warning[0] and "Proofsheet is running" in warning[0]
    finally:
        stop_process(process)


def test_a_full_disk_is_said_plainly_and_nothing_is_left_running_or_half_written(small_disk, demo_server):
    data = small_disk / "data"
    process, url = start_app_process(data, demo_server.api_base)
    try:
        fillers = fill(small_disk, leave_free=64 * 1024)
        answer = requests.post(url + "/api/generate", timeout=30, json={
            "prompt": "does not fit", "response_format": "b64_json", "n": 4, "size": "1024x1024"})
        assert answer.status_code == 507
        error = answer.json()["error"]
        assert error["kind"] == "disk_full"
        assert f"The disk holding the data folder ({data}) is full" in error["message"]
        kept = requests.get(f"{url}/api/generations/{answer.json()['id']}", timeout=5).json()
        assert kept["status"] == "failed"  # never left running
        assert not list(data.rglob("*.tmp"))
        page = requests.get(f"{url}/generations/{answer.json()['id']}", timeout=5).text
        assert "The disk is full" in page

        for path in fillers:  # room again: the next one is kept whole
            path.unlink()
        again = requests.post(url + "/api/generate", timeout=30,
                              json={"prompt": "fits now", "response_format": "b64_json", "size": "256x256"})
        assert again.status_code == 200 and again.json()["status"] == "ok"
    finally:
        stop_process(process)


def test_a_read_only_data_folder_stops_start_up_with_one_paragraph(small_disk, demo_server):
    data = small_disk / "data"
    data.mkdir()
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    try:
        code, printed = run_app_command("--port", str(free_port()), "--api-base", demo_server.api_base,
                                        env={"PROOFSHEET_DATA": str(data)})
    finally:
        subprocess.run(["mount", "-o", "remount,rw", str(small_disk)], check=False)
    assert code == 2
    assert "Traceback" not in printed
    assert printed.strip() == (f"Proofsheet cannot use the data folder {data}: Read-only file system. Make it "
                               "writable, or choose another folder with PROOFSHEET_DATA.")
