"""Seeing a run: its grid of prompts × targets (paged, filtered by status, target and category), each cell opening its
generation; a row's slideshow and a page's contact sheet; the export of every cell and image; the run as one entry
of the History. Against the real demo server."""
import csv
import io
import json
import re
import sqlite3
import time
import zipfile

from PIL import Image

from proofsheet.history.db import DB_NAME
from proofsheet.history.migrations import MIGRATIONS
from proofsheet.history.runs import RunBook
from proofsheet.history.store import Store

from tests.support import wait_until

PROMPTS = [{"prompt": f"a lighthouse number {number}", "category": "coast" if number % 2 else "sea"}
           for number in range(1, 28)]


def start(client, prompts, targets, **fields):
    started = client.post("/api/runs", json={"prompts": prompts, "targets": targets, **fields})
    assert started.status_code == 201, started.get_json()
    run_id = started.get_json()["id"]
    assert wait_until(lambda: client.get(f"/api/runs/{run_id}").get_json()["status"] != "running", 60)
    return run_id


def page(client, url):
    answer = client.get(url)
    assert answer.status_code == 200
    return answer.get_data(as_text=True)


def rows_of(html):
    return re.findall(r'<span class="run-prompt-text">([^<]*)</span>', html)


def test_the_grid_shows_25_prompts_a_page_as_rows_and_the_targets_as_columns(client):
    run_id = start(client, PROMPTS, [{"model": "flux"}, {"model": "sdxl-turbo"}])
    first = page(client, f"/runs/{run_id}")
    assert rows_of(first) == [f"a lighthouse number {number}" for number in range(1, 26)]
    assert first.count('<th scope="col">') == 2 and "sdxl-turbo" in first
    assert first.count('class="run-shot"') == 50  # one thumbnail per cell
    assert "page 1 of 2" in first
    second = page(client, f"/runs/{run_id}?page=2")
    assert rows_of(second) == ["a lighthouse number 26", "a lighthouse number 27"]


def test_every_cell_links_to_its_generation_and_shows_its_thumbnail(client):
    run_id = start(client, PROMPTS[:1], [{"model": "flux"}])
    cell = client.get(f"/api/runs/{run_id}/cells").get_json()["cells"][0]
    html = page(client, f"/runs/{run_id}")
    assert f'href="/generations/{cell["generation_id"]}"' in html
    thumbnail = re.search(r'<img src="(/thumbnails/[0-9a-f]{64}\.webp)"', html).group(1)
    assert client.get(thumbnail).status_code == 200
    assert page(client, f"/generations/{cell['generation_id']}").count("a lighthouse number 1") >= 1


def test_a_runs_generation_links_back_to_its_run_at_the_page_and_row_of_its_cell(client):
    run_id = start(client, PROMPTS, [{"model": "flux"}], name="lighthouses")
    cells = client.get(f"/api/runs/{run_id}/cells?per_page=100").get_json()["cells"]
    by_prompt = {cell["prompt_index"]: cell["generation_id"] for cell in cells}
    first = page(client, f"/generations/{by_prompt[0]}")
    assert f'<a href="/runs/{run_id}#prompt-1">← Run #{run_id}: lighthouses</a>' in first
    last = page(client, f"/generations/{by_prompt[26]}")
    assert f'<a href="/runs/{run_id}?page=2#prompt-27">← Run #{run_id}: lighthouses</a>' in last
    assert 'id="prompt-27"' in page(client, f"/runs/{run_id}?page=2")  # where the link lands
    made_here = client.post("/api/generate", json={"prompt": "a lighthouse", "model": "flux"}).get_json()
    assert "← Run #" not in page(client, f"/generations/{made_here['id']}")


def test_failed_only_shows_the_failures_with_their_message_escaped_and_keeps_the_filter_across_pages(client):
    targets = [{"model": "flux"}, {"model": "no-such-<b>model</b>"}]
    run_id = start(client, PROMPTS, targets, concurrency=1)
    failed = page(client, f"/runs/{run_id}?status=failed")
    assert 'class="run-shot"' not in failed  # no image: only the failed cells
    assert "Model not found: no-such-&lt;b&gt;model&lt;/b&gt;" in failed
    assert "<b>model</b>" not in failed
    assert f'href="/runs/{run_id}?page=2&amp;status=failed"' in failed


def test_one_target_shows_one_column(client):
    run_id = start(client, PROMPTS[:3], [{"model": "flux"}, {"model": "sdxl-turbo"}])
    html = page(client, f"/runs/{run_id}?target=1")
    assert html.count('<th scope="col">') == 1
    assert html.count('class="run-shot"') == 3
    assert re.search(r'<th scope="col"><span class="run-target-server">[^<]*</span> sdxl-turbo</th>', html)


def test_a_category_filter_keeps_its_rows_and_is_kept_across_pages(client):
    run_id = start(client, PROMPTS, [{"model": "flux"}])
    html = page(client, f"/runs/{run_id}?category=coast")
    assert rows_of(html) == [f"a lighthouse number {number}" for number in range(1, 28, 2)]
    assert '<option value="coast" selected>' in html
    assert "page 1 of" not in html  # 14 rows: one page


def test_repeats_stack_inside_their_cell(client):
    run_id = start(client, PROMPTS[:2], [{"model": "flux"}], repeats=3)
    html = page(client, f"/runs/{run_id}")
    cells = re.findall(r'<td class="run-cell">(.*?)</td>', html, re.S)
    assert len(cells) == 2
    assert all(cell.count('class="run-shot"') == 3 for cell in cells)
    assert '<span class="run-repeat">3</span>' in cells[0]


def test_a_rows_slideshow_shows_its_targets_and_goes_back_to_the_run(client):
    run_id = start(client, PROMPTS[:2], [{"model": "flux"}, {"model": "sdxl-turbo"}])
    html = page(client, f"/runs/{run_id}")
    link = re.search(r'<a class="run-row-show" href="([^"]+)"', html).group(1).replace("&amp;", "&")
    shown = page(client, link)
    assert shown.count('data-slide') >= 2 or shown.count("<figure") >= 2
    assert "flux" in shown and "sdxl-turbo" in shown
    assert f'data-back="/runs/{run_id}"' in shown
    assert 'data-back="https://' not in page(client, link.replace(f"/runs/{run_id}", "https://evil.example"))


def test_the_pages_contact_sheet_is_a_png_of_the_page_shown(client):
    run_id = start(client, PROMPTS[:3], [{"model": "flux"}, {"model": "sdxl-turbo"}])
    html = page(client, f"/runs/{run_id}?target=0")
    link = re.search(r'href="(/runs/\d+/contact-sheet\.png[^"]*)"', html).group(1).replace("&amp;", "&")
    assert "target=0" in link and "page=1" in link
    sheet = client.get(link)
    assert sheet.status_code == 200 and sheet.mimetype == "image/png"
    Image.open(io.BytesIO(sheet.data)).verify()
    assert "lighthouse number 3" in page(client, link.replace(".png", ".html"))
    assert client.get(f"/runs/{run_id}/contact-sheet.png?status=cancelled").status_code == 404


def test_the_export_holds_every_cell_in_csv_and_jsonl_and_every_image(client):
    targets = [{"model": "flux"}, {"model": "no-such-model"}]
    run_id = start(client, PROMPTS[:4], targets, repeats=2, concurrency=1)
    answer = client.get(f"/runs/{run_id}/export.zip")
    assert answer.status_code == 200 and answer.mimetype == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(answer.data))
    lines = [json.loads(line) for line in archive.read("cells.jsonl").decode().splitlines()]
    table = list(csv.DictReader(io.StringIO(archive.read("cells.csv").decode())))
    assert len(lines) == len(table) == 16
    assert [line["position"] for line in lines] == list(range(16))
    assert [row["prompt"] for row in table] == [line["prompt"] for line in lines]
    done = [line for line in lines if line["status"] == "done"]
    failed = [line for line in lines if line["status"] == "failed"]
    assert len(done) == len(failed) == 8
    assert {line["model"] for line in done} == {"flux"}
    assert all(line["error_kind"] and "Model not found" in line["error_message"] for line in failed)
    assert all(line["elapsed_ms"] is not None and line["generation_id"] for line in lines)
    assert {line["category"] for line in lines} == {"coast", "sea"}
    files = [name for line in done for name in line["image_files"]]
    assert len(files) == 8 and sorted(files) == sorted(n for n in archive.namelist() if n.startswith("images/"))
    for name in files:
        Image.open(io.BytesIO(archive.read(name))).verify()
    assert table[0]["image_files"] == "; ".join(lines[0]["image_files"])
    assert json.loads(archive.read("run.json"))["id"] == run_id


def test_no_key_is_exported(tmp_path, make_app, demo_server):
    secret = "sk-run-export-secret-1234567890"
    app = make_app(tmp_path, demo_server.api_base, API_KEY=secret)
    client = app.test_client()
    run_id = start(client, PROMPTS[:2], [{"model": "flux"}])
    archive = zipfile.ZipFile(io.BytesIO(client.get(f"/runs/{run_id}/export.zip").data))
    for name in archive.namelist():
        assert secret.encode() not in archive.read(name)


def test_a_run_is_one_entry_of_the_history_not_one_card_a_generation(client):
    client.post("/api/generate", json={"prompt": "before the run", "model": "flux"})
    run_id = start(client, PROMPTS[:6], [{"model": "flux"}, {"model": "sdxl-turbo"}], name="coast test")
    client.post("/api/generate", json={"prompt": "after the run", "model": "flux"})
    html = page(client, "/generations")
    assert html.count('class="gallery-card ') == 3
    assert html.index("after the run") < html.index("coast test") < html.index("before the run")
    card = re.search(r'<li class="gallery-card run-card.*?</li>', html, re.S).group(0)
    assert f'href="/runs/{run_id}"' in card and "12 done" in card
    assert card.count("<img ") == 4
    assert client.get("/api/generations").get_json()["total"] == 2
    cell = client.get(f"/api/runs/{run_id}/cells").get_json()["cells"][0]
    assert client.get(f"/generations/{cell['generation_id']}/card").status_code == 404
    assert "No generation matches these filters." in page(client, "/generations?q=lighthouse")


def test_a_run_appears_once_on_the_history_page_of_its_time(app, client):
    store = app.extensions["store"]

    def generation(number):
        time.sleep(0.002)  # each newer than the last
        return store.begin({"prompt": f"generation {number}", "model": "flux"}, "http://127.0.0.1:1/v1")

    for number in range(1, 7):
        generation(number)
    time.sleep(0.002)
    run_id = RunBook(store).create("between the pages", [{"model": "flux", "server": "default"}], 1, 1, [])
    for number in range(7, 31):
        generation(number)
    first, second = page(client, "/generations"), page(client, "/generations?page=2")
    assert "between the pages" not in first  # page 1: generations 30 to 7, all newer than the run
    assert second.index("between the pages") < second.index("generation 6")
    assert f'href="/runs/{run_id}"' in second


def test_the_generations_of_a_run_kept_before_the_update_leave_the_historys_counts_and_search(tmp_path):
    db = sqlite3.connect(tmp_path / DB_NAME, isolation_level=None)
    kept_apart = next(number for number, script in enumerate(MIGRATIONS) if "WHEN new.via <> 'run'" in script)
    for number, script in enumerate(MIGRATIONS[:kept_apart], start=1):  # the history as it was before
        db.executescript(f"BEGIN; {script}; PRAGMA user_version = {number}; COMMIT;")
    for prompt in ("a lighthouse by hand", "a lighthouse of a run"):
        db.execute("INSERT INTO generations (created_at, status, prompt, model, request_json, endpoint, server) "
                   "VALUES (0, 'ok', ?, 'flux', '{}', 'http://127.0.0.1:1', 'default')", (prompt,))
    db.execute("INSERT INTO runs (created_at, name, status, targets_json, repeats, concurrency, total) "
               "VALUES (0, 'old run', 'done', '[]', 1, 1, 1)")
    db.execute("INSERT INTO run_cells (run_id, position, prompt_index, target_index, repeat, server, fields_json, "
               "status, generation_id) VALUES (1, 0, 0, 0, 0, 'default', '{}', 'done', 2)")
    db.close()
    store = Store(tmp_path)
    try:
        found = store.gallery(query="lighthouse")
        assert [row["prompt"] for row in found.rows] == ["a lighthouse by hand"] and found.total == 1
        assert store.gallery().total == 1
        assert store.get(2).prompt == "a lighthouse of a run"  # kept, and opened from its run
    finally:
        store.close()
