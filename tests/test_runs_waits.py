"""A run behind a server that says "wait" (429 with Retry-After): the waited attempts are asked again and are not
kept in the History as failures; only an attempt past the limit is."""
import json
import threading

from tests.support import png_base64, wait_until

GEN = "/v1/images/generations"
LIMITED = b'{"error": {"message": "Too many requests"}}'


def limited_every(fake_server, every):
    """Answers every `every`-th call with a 429 saying Retry-After: 1, the others with an image; returns the count."""
    calls = {"all": 0, "limited": 0}
    lock = threading.Lock()
    image = json.dumps({"data": [{"b64_json": png_base64()}]}).encode()

    def answer(handler):
        with lock:
            calls["all"] += 1
            limited = calls["all"] % every == 0
            calls["limited"] += limited
        status, body, headers = (429, LIMITED, {"Retry-After": "1"}) if limited else (200, image, {})
        handler.send_response(status)
        for name, value in {"Content-Type": "application/json", "Content-Length": str(len(body)), **headers}.items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(body)
    fake_server.on_call("POST", GEN, answer)
    return calls


def finished_run(client, prompts, concurrency=2):
    run_id = client.post("/api/runs", json={"prompts": prompts, "targets": [{"model": "flux"}],
                                            "concurrency": concurrency}).get_json()["id"]
    assert wait_until(lambda: client.get(f"/api/runs/{run_id}").get_json()["status"] != "running", 60)
    cells = client.get(f"/api/runs/{run_id}/cells?per_page=100").get_json()["cells"]
    return client.get(f"/api/runs/{run_id}").get_json(), cells


def history(app):
    """Every generation kept, the run's own too (a run is one card in the History, its generations not listed)."""
    rows = app.extensions["store"].db.execute("SELECT id, prompt, status FROM generations ORDER BY id").fetchall()
    return [{"id": id_, "prompt": prompt, "status": status} for id_, prompt, status in rows]


def test_attempts_a_server_asked_to_wait_for_are_not_kept_as_failures_in_the_history(fake_server, fake_app,
                                                                                     fake_client):
    calls = limited_every(fake_server, 3)
    run, cells = finished_run(fake_client, [f"a heron {number}" for number in range(6)])
    assert (run["status"], run["done"], run["failed"]) == ("done", 6, 0)
    assert calls["limited"] >= 2 and any(cell["attempts"] > 1 for cell in cells)
    kept = history(fake_app)
    assert sorted(row["prompt"] for row in kept) == sorted(cell["prompt"] for cell in cells)
    assert {row["status"] for row in kept} == {"ok"}
    assert {cell["generation_id"] for cell in cells} == {row["id"] for row in kept}  # each cell opens its image


def test_an_attempt_past_the_limit_is_kept_as_one_failed_generation_saying_why(fake_server, make_app, tmp_path):
    fake_app = make_app(tmp_path, fake_server.api_base, TIMEOUT=2, RUN_MAX_ATTEMPTS=2)
    limited_every(fake_server, 1)
    run, cells = finished_run(fake_app.test_client(), ["a heron"])
    assert (run["status"], run["done"], run["failed"]) == ("done", 0, 1)
    assert cells[0]["attempts"] == 2 and cells[0]["error"]["kind"] == "rate_limited"
    kept = history(fake_app)
    assert [(row["id"], row["status"]) for row in kept] == [(cells[0]["generation_id"], "failed")]
