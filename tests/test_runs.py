"""Prompt-set runs in one process: what a run is read from (pasted, a list, a .txt, .csv or .jsonl file), what it
refuses, its estimate, its cells and its pages. Runs across restarts and misbehaving servers: test_runs_process.py."""
import io
import json
import time

import pytest
import requests

from tests.support import png_base64, wait_until

GEN = "/v1/images/generations"


def image_answer(fake_server):
    fake_server.on_generate(json_body={"data": [{"b64_json": png_base64()}]})


def sent_bodies(fake_server):
    return [json.loads(call["body"]) for call in fake_server.received if call["path"] == GEN]


def finished(client, run_id, seconds=30):
    assert wait_until(lambda: client.get(f"/api/runs/{run_id}").get_json()["status"] != "running", seconds)
    return client.get(f"/api/runs/{run_id}").get_json()


def upload(client, filename, content, targets=({"model": "flux"},), **fields):
    data = {"targets": json.dumps(list(targets)), "prompts_file": (io.BytesIO(content), filename),
            **{name: str(value) for name, value in fields.items()}}
    return client.post("/api/runs", data=data, content_type="multipart/form-data")


def test_pasted_prompts_across_two_models_make_one_cell_each_linked_to_its_generation(client):
    started = client.post("/api/runs", json={"prompts": "a fox\n\na whale\n", "targets": [
        {"model": "flux"}, {"model": "sdxl-turbo"}], "name": "animals"})
    assert started.status_code == 201
    body = started.get_json()
    assert body["status"] == "running" and body["total"] == 4
    run = finished(client, body["id"])
    assert (run["status"], run["done"], run["failed"], run["pending"], run["eta_s"]) == ("done", 4, 0, 0, 0)
    assert run["name"] == "animals"
    cells = client.get(f"/api/runs/{body['id']}/cells").get_json()["cells"]
    assert [(cell["prompt"], cell["model"]) for cell in cells] == [
        ("a fox", "flux"), ("a fox", "sdxl-turbo"), ("a whale", "flux"), ("a whale", "sdxl-turbo")]
    for cell in cells:
        generation = client.get(f"/api/generations/{cell['generation_id']}").get_json()
        asked = generation["request"]
        assert (asked["prompt"], asked["model"], generation["status"]) == (cell["prompt"], cell["model"], "ok")


@pytest.mark.parametrize("filename, content", [
    ("prompts.txt", b"a red kite\n\na blue door\n"),
    ("prompts.csv", b"prompt,size,seed,category\na red kite,512x512,7,birds\na blue door,256x256,,doors\n"),
    ("prompts.jsonl", b'{"prompt": "a red kite", "size": "512x512", "seed": 7, "category": "birds"}\n\n'
                      b'{"prompt": "a blue door", "size": "256x256", "category": "doors"}\n'),
])
def test_a_run_from_a_file_of_each_kind_sends_each_row_with_its_own_fields(fake_server, fake_client, filename,
                                                                            content):
    image_answer(fake_server)
    started = upload(fake_client, filename, content)
    assert started.status_code == 201, started.get_json()
    run = finished(fake_client, started.get_json()["id"])
    assert (run["done"], run["failed"]) == (2, 0)
    sent = sorted(sent_bodies(fake_server), key=lambda body: body["prompt"])
    assert [body["prompt"] for body in sent] == ["a blue door", "a red kite"]
    assert "category" not in sent[0] and "category" not in sent[1]  # Proofsheet's own label, never sent
    if not filename.endswith(".txt"):
        assert (sent[0]["size"], sent[1]["size"], sent[1]["seed"]) == ("256x256", "512x512", 7)
        cells = fake_client.get(f"/api/runs/{run['id']}/cells").get_json()["cells"]
        assert [cell["category"] for cell in cells] == ["birds", "doors"]


def test_repeats_of_a_seeded_prompt_take_the_next_seeds(fake_server, fake_client):
    image_answer(fake_server)
    started = fake_client.post("/api/runs", json={"prompts": [{"prompt": "a kite", "seed": 10}],
                                                  "targets": [{"model": "flux"}], "repeats": 3})
    finished(fake_client, started.get_json()["id"])
    assert sorted(body["seed"] for body in sent_bodies(fake_server)) == [10, 11, 12]


@pytest.mark.parametrize("body, field, words", [
    ({"prompts": [], "targets": [{"model": "flux"}]}, "prompts", "at least one prompt"),
    ({"prompts": "\n \n", "targets": [{"model": "flux"}]}, "prompts", "at least one prompt"),
    ({"prompts": ["a fox"], "targets": []}, "targets", "at least one target"),
    ({"prompts": ["a fox"]}, "targets", "must be a list"),
    ({"prompts": ["a fox"], "targets": [{"model": "flux", "server": "nowhere"}]}, "server", "no server named 'nowhere'"),
    ({"prompts": ["p"] * 5001, "targets": [{"model": "a"}, {"model": "b"}]}, "prompts", "At most 10,000 calls"),
    ({"prompts": ["a fox"], "targets": [{"model": "flux"}], "repeats": 0}, "repeats", "from 1 to 100"),
    ({"prompts": ["a fox"], "targets": [{"model": "flux"}], "concurrency": 99}, "concurrency", "from 1 to 16"),
    ({"prompts": [{"prompt": "a fox", "model": "x"}], "targets": [{"model": "flux"}]}, "prompts", "the targets say"),
    ({"prompts": [{"prompt": "a fox", "size": "huge"}], "targets": [{"model": "flux"}]}, "prompts", "Prompt 1"),
    ({"prompts": [3], "targets": [{"model": "flux"}]}, "prompts", "not a prompt"),
    ({"prompts": ["a fox"], "targets": [{"model": "flux"}], "dry_run": "yes"}, "dry_run", "true or false"),
    ({"prompts": ["a fox"], "targets": [{"model": "flux", "n": 0}]}, "targets", "target 1 (flux)"),
])
def test_bad_input_is_refused_with_a_clear_400_and_nothing_is_queued(client, body, field, words):
    refused = client.post("/api/runs", json=body)
    assert refused.status_code == 400
    error = refused.get_json()["error"]
    assert words in error["fields"][field] and words in error["message"]
    assert client.get("/api/runs").get_json()["runs"] == []


@pytest.mark.parametrize("filename, content, words", [
    ("prompts.pdf", b"%PDF", "A prompt file is .txt"),
    ("prompts.csv", b"text,size\na fox,256x256\n", "a \"prompt\" column"),
    ("prompts.jsonl", b'{"prompt": "a fox"}\nnot json\n', "Line 2 of prompts.jsonl"),
    ("prompts.txt", b"\xff\xfe\x00", "not UTF-8"),
])
def test_a_bad_prompt_file_is_refused_saying_what_is_wrong(client, filename, content, words):
    refused = upload(client, filename, content)
    assert refused.status_code == 400
    assert words in refused.get_json()["error"]["message"]


def test_dry_run_counts_the_calls_and_prices_each_target_or_says_unknown(client):
    answer = client.post("/api/runs", json={"prompts": ["a", "b", "c"], "repeats": 2, "dry_run": True, "targets": [
        {"model": "dall-e-3", "size": "1024x1024"}, {"model": "flux"}]})
    assert answer.status_code == 200
    body = answer.get_json()
    assert (body["id"], body["status"], body["total"]) == (None, "dry_run", 12)
    assert body["estimate"]["targets"] == [
        {"server": "default", "model": "dall-e-3", "calls": 6, "cost_usd": 0.24},
        {"server": "default", "model": "flux", "calls": 6, "cost_usd": "unknown"}]
    assert body["estimate"]["cost_usd"] == "unknown"
    assert client.get("/api/runs").get_json()["runs"] == []


def test_cells_are_paged_and_filtered_by_status_and_target(fake_server, fake_client):
    def answer(handler):
        prompt = json.loads(handler.body)["prompt"]
        refused = prompt.endswith("3")
        body = json.dumps({"error": {"message": "refused by policy"}} if refused else
                          {"data": [{"b64_json": png_base64()}]}).encode()
        handler.send_response(400 if refused else 200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)
    fake_server.on_call("POST", GEN, answer)
    started = fake_client.post("/api/runs", json={"prompts": [f"prompt {n}" for n in range(1, 31)],
                                                  "targets": [{"model": "a"}, {"model": "b"}]})
    run = finished(fake_client, started.get_json()["id"])
    assert (run["status"], run["done"], run["failed"]) == ("done", 54, 6)  # a refused prompt fails alone
    url = f"/api/runs/{run['id']}/cells"
    page = fake_client.get(url + "?per_page=25&page=3").get_json()
    assert (page["total"], page["pages"], len(page["cells"])) == (60, 3, 10)
    failed = fake_client.get(url + "?status=failed").get_json()
    assert failed["total"] == 6 and all("refused by policy" in cell["error"]["message"] for cell in failed["cells"])
    assert {cell["model"] for cell in fake_client.get(url + "?target=1").get_json()["cells"]} == {"b"}


def test_unknown_runs_and_actions_answer_404_and_an_ended_run_cannot_be_paused(client):
    assert client.get("/api/runs/99").status_code == 404
    assert client.post("/api/runs/99/pause").status_code == 404
    started = client.post("/api/runs", json={"prompts": ["a"], "targets": [{"model": "flux"}]}).get_json()
    finished(client, started["id"])
    refused = client.post(f"/api/runs/{started['id']}/pause")
    assert refused.status_code == 409 and "Only a running run" in refused.get_json()["error"]["message"]
    assert client.post(f"/api/runs/{started['id']}/explode").status_code == 404


def test_the_pages_start_a_run_from_the_form_and_show_its_cells_linking_to_generations(client):
    assert client.get("/runs").status_code == 200
    estimated = client.post("/runs", data={"prompts": "a fox\na whale", "target_model": ["flux", "dall-e-3"],
                                           "target_server": ["default", "default"], "action": "estimate"})
    assert estimated.status_code == 200 and b"4 calls" in estimated.data and b"cost unknown" in estimated.data
    assert b'name="confirm"' not in estimated.data  # no budget set: nothing to confirm, Start starts
    estimated_over = client.post("/runs", data={"prompts": "a fox", "target_model": ["dall-e-3"], "budget": "0.01",
                                                "action": "estimate"}).data.decode()
    assert "over your budget" in estimated_over and 'name="confirm"' in estimated_over
    over = client.post("/runs", data={"prompts": "a fox", "target_model": ["dall-e-3"], "budget": "0.01",
                                      "action": "start"})
    assert b"over your budget" in over.data and client.get("/api/runs").get_json()["runs"] == []
    started = client.post("/runs", data={"prompts": "a fox\na whale", "target_model": ["flux"], "action": "start"})
    assert started.status_code == 303
    page_url = started.headers["Location"]
    run_id = int(page_url.rsplit("/", 1)[1])
    finished(client, run_id)
    page = client.get(page_url).data.decode()
    generation_id = client.get(f"/api/runs/{run_id}/cells").get_json()["cells"][0]["generation_id"]
    assert f'href="/generations/{generation_id}"' in page and "2 done" in page
    assert client.get(page_url + "?status=failed").status_code == 200


def test_the_form_says_what_is_wrong_with_a_400(client):
    refused = client.post("/runs", data={"prompts": "", "target_model": ["flux"], "action": "start"})
    assert refused.status_code == 400 and b"at least one prompt" in refused.data


def test_a_streak_of_failures_pauses_the_run_saying_why(fake_server, fake_client):
    fake_server.on_generate(status=500, json_body={"error": {"message": "the GPU caught fire"}})
    started = fake_client.post("/api/runs", json={"prompts": [f"p{n}" for n in range(20)],
                                                  "targets": [{"model": "flux"}], "concurrency": 1})
    run = finished(fake_client, started.get_json()["id"])
    assert (run["status"], run["failed"], run["pending"]) == ("paused", 5, 15)
    assert "5 failures in a row" in run["reason"] and "the GPU caught fire" in run["reason"]


def test_a_503_with_retry_after_is_waited_for_not_failed(fake_server, fake_client):
    calls = []

    def answer(handler):
        calls.append(time.monotonic())
        busy = len(calls) == 1
        body = b'{"error": {"message": "overloaded"}}' if busy else \
            json.dumps({"data": [{"b64_json": png_base64()}]}).encode()
        handler.send_response(503 if busy else 200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(body)))
        if busy:
            handler.send_header("Retry-After", "1")
        handler.end_headers()
        handler.wfile.write(body)
    fake_server.on_call("POST", GEN, answer)
    started = fake_client.post("/api/runs", json={"prompts": ["a fox"], "targets": [{"model": "flux"}]})
    run = finished(fake_client, started.get_json()["id"])
    assert (run["status"], run["done"], run["failed"]) == ("done", 1, 0)
    assert len(calls) == 2 and calls[1] - calls[0] >= 0.9


def test_run_progress_is_told_on_the_events_stream(app, serve_app):
    live = serve_app(app)
    with requests.get(live.url + "/api/events", stream=True, timeout=10) as stream:
        started = requests.post(live.url + "/api/runs", json={"prompts": ["a", "b", "c"],
                                                             "targets": [{"model": "flux"}]}, timeout=10).json()
        seen = []
        for line in stream.iter_lines(decode_unicode=True):
            if line == "event: run":
                seen.append("run")
            elif line.startswith("data:") and seen and seen[-1] == "run":
                event = json.loads(line[5:])
                seen[-1] = event
                if event["status"] == "done":
                    break
    assert seen[-1] == {"type": "run", "id": started["id"], "status": "done", "total": 3, "done": 3, "failed": 0,
                        "pending": 0, "permalink": f"/runs/{started['id']}"}


def test_cancel_from_the_page_ends_the_run_and_cancels_what_is_left(fake_server, fake_client):
    fake_server.on_generate(json_body={"data": [{"b64_json": png_base64()}]}, delay=0.2)
    run_id = fake_client.post("/api/runs", json={"prompts": [f"p{n}" for n in range(20)],
                                                 "targets": [{"model": "flux"}], "concurrency": 1}).get_json()["id"]
    assert fake_client.post(f"/runs/{run_id}/cancel").status_code == 303
    run = fake_client.get(f"/api/runs/{run_id}").get_json()
    assert run["status"] == "cancelled" and run["cancelled"] >= 18
    assert b"cancelled" in fake_client.get(f"/runs/{run_id}").data


def test_an_upload_from_another_sites_page_is_refused(client):
    refused = client.post("/api/runs", data={"targets": '[{"model": "flux"}]',
                                             "prompts_file": (io.BytesIO(b"a fox\n"), "p.txt")},
                          content_type="multipart/form-data", headers={"Origin": "http://evil.example"})
    assert refused.status_code == 403
    assert client.get("/api/runs").get_json()["runs"] == []


def test_other_bodies_than_json_or_an_upload_are_refused_as_the_api_does(client):
    refused = client.post("/api/runs", data="prompts=a", content_type="application/x-www-form-urlencoded")
    assert refused.status_code == 415


def test_the_form_takes_a_prompt_file(fake_server, fake_client):
    image_answer(fake_server)
    started = fake_client.post("/runs", data={"prompts_file": (io.BytesIO(b"prompt\na red kite\n"), "p.csv"),
                                              "target_model": ["flux"], "action": "start"},
                               content_type="multipart/form-data")
    assert started.status_code == 303
    run = finished(fake_client, int(started.headers["Location"].rsplit("/", 1)[1]))
    assert (run["done"], [body["prompt"] for body in sent_bodies(fake_server)]) == (1, ["a red kite"])
