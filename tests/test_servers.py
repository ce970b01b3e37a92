"""Many image servers side by side: add, list, use, compare across, restart and use again; keys never shown."""
import html
import io
import json
import logging
import os
import stat
import time
import zipfile

import openai
import pytest
import requests

from proofsheet.demo.server import DemoImageServer
from proofsheet.redaction import RedactingFilter
from proofsheet.upstream.servers import KEYS_FILE, SERVERS_FILE
from tests.support import LiveApp, run_app_command, start_app_process, stop_process

KEY = "sk-second-server-secret-0123456789"


@pytest.fixture
def keyed_server():
    """A second demo server that wants a key, as OpenAI does."""
    with DemoImageServer(api_key=KEY) as server:
        yield server


@pytest.fixture
def two(make_app, tmp_path, demo_server, keyed_server):
    """An app on the demo server with the keyed one added through the API."""
    app = make_app(tmp_path, demo_server.api_base)
    client = app.test_client()
    added = client.post("/api/servers", json={"name": "second", "api_base": keyed_server.api_base, "api_key": KEY})
    assert added.status_code == 201, added.get_json()
    return app, client


def test_the_start_server_is_the_default_one_and_is_listed(client, demo_server):
    listed = client.get("/api/servers").get_json()
    assert listed["default"] == "default"
    assert [(s["name"], s["api_base"], s["default"], s["removable"]) for s in listed["servers"]] == \
        [("default", demo_server.api_base, True, False)]


def test_a_server_added_at_run_time_is_checked_listed_and_answers(two, keyed_server):
    app, client = two
    second = next(s for s in client.get("/api/servers").get_json()["servers"] if s["name"] == "second")
    assert second["api_base"] == keyed_server.api_base and second["key"] == "key set" and second["removable"]
    health = client.get("/api/servers/second/health").get_json()["health"]
    assert health["state"] == "up" and health["words"] == "answers" and health["models"] > 5
    assert health["latency_ms"] >= 0


def test_a_generation_goes_to_the_server_it_names_and_records_it(two, keyed_server, demo_server):
    app, client = two
    before = len(demo_server.requests_seen)
    made = client.post("/api/generate", json={"prompt": "a lighthouse", "server": "second"}).get_json()
    assert made["status"] == "ok" and made["server"] == {"name": "second", "api_base": keyed_server.api_base}
    assert keyed_server.requests_seen[-1]["prompt"] == "a lighthouse" and len(demo_server.requests_seen) == before
    assert "server" not in keyed_server.requests_seen[-1]  # Proofsheet's own field, never sent upstream
    page = client.get(made["permalink"]).get_data(as_text=True)
    assert "second" in page and keyed_server.api_base in page
    default = client.post("/api/generate", json={"prompt": "a harbour"}).get_json()
    assert default["server"]["name"] == "default" and demo_server.requests_seen[-1]["prompt"] == "a harbour"


def test_the_history_filters_by_server(two):
    app, client = two
    client.post("/api/generate", json={"prompt": "on the second", "server": "second"})
    client.post("/api/generate", json={"prompt": "on the default"})
    only = client.get("/api/generations?server=second").get_json()
    assert [row["prompt"] for row in only["generations"]] == ["on the second"]
    page = client.get("/generations?server=default").get_data(as_text=True)
    assert "on the default" in page and "on the second" not in page
    assert '<option value="second" >second</option>' in client.get("/generations").get_data(as_text=True)


def test_an_unknown_server_is_a_clear_400_naming_the_servers(two):
    app, client = two
    answer = client.post("/api/generate", json={"prompt": "cat", "server": "nope"})
    assert answer.status_code == 400
    assert answer.get_json()["error"]["message"] == ("There is no server named 'nope'; the servers are default, "
                                                     "second. Add one on the Servers page.")
    page = client.post("/generate", data={"prompt": "my typed prompt", "server": "nope"})
    assert page.status_code == 400 and "no server named 'nope'" in html.unescape(page.get_data(as_text=True))
    assert "my typed prompt</textarea>" in page.get_data(as_text=True)
    compare = client.post("/api/compare", json={"prompt": "cat", "targets": [{"server": "nope", "model": "flux"},
                                                                            {"model": "flux"}]})
    assert compare.status_code == 400 and "no server named 'nope'" in compare.get_json()["error"]["message"]
    assert client.get("/api/models?server=nope").status_code == 404


def test_models_health_and_dialect_follow_the_chosen_server(make_app, tmp_path, demo_server, fake_server):
    fake_server.on("GET", "/v1/models", json_body={"data": [{"id": "only-here", "object": "model"}]})
    app = make_app(tmp_path, demo_server.api_base)
    client = app.test_client()
    assert client.post("/api/servers", json={"name": "plain", "api_base": fake_server.api_base}).status_code == 201
    plain = client.get("/api/models?server=plain").get_json()
    assert [m["id"] for m in plain["models"]] == ["only-here"] and plain["server_kind"] is None
    assert plain["server_name"] == "plain" and plain["providers"] == []
    demo = client.get("/api/models").get_json()
    assert demo["server_kind"] == "gpt4free" and "DemoFlux" in demo["providers"]  # the demo speaks gpt4free
    health = client.get("/healthz?server=plain").get_json()["image_server"]
    assert health["name"] == "plain" and health["url"] == fake_server.api_base and health["models"] == 1


@pytest.mark.parametrize("entry, status, words", [
    ({"name": "x", "api_base": "localhost:8080/v1"}, 400, "must start with http:// or https://"),
    ({"name": "bad name!", "api_base": "http://127.0.0.1:9/v1"}, 400, "Name the server with up to 40 letters"),
    ({"name": "default", "api_base": "{demo}"}, 409, "There is already a server named 'default'."),
    ({"name": "x", "api_base": "http://127.0.0.1:9/v1"}, 422, "refused the connection or is not running"),
    ({"name": "x", "api_base": "{demo_root}"}, 422, "not as an OpenAI images API"),
    ({"name": "x", "api_base": "{keyed}", "api_key": "sk-wrong-key-000"}, 422, "refused the key"),
    ({"name": "x", "api_base": "{keyed}", "api_key_env": "PROOFSHEET_TEST_UNSET_VAR"}, 400, "is not set"),
    ({"name": "x", "api_base": "{keyed}", "api_key": "a", "api_key_env": "HOME"}, 400, "not both"),
])
def test_a_server_that_cannot_be_used_is_refused_with_why(client, demo_server, keyed_server, entry, status, words):
    filled = {name: value.format(demo=demo_server.api_base, demo_root=demo_server.base_url,
                                 keyed=keyed_server.api_base) if isinstance(value, str) else value
              for name, value in entry.items()}
    answer = client.post("/api/servers", json=filled)
    assert answer.status_code == status and words in answer.get_json()["error"]["message"]
    assert [s["name"] for s in client.get("/api/servers").get_json()["servers"]] == ["default"]


def test_a_key_from_an_environment_variable_is_read_and_never_written(make_app, tmp_path, demo_server, keyed_server,
                                                                      monkeypatch):
    monkeypatch.setenv("PROOFSHEET_TEST_SECOND_KEY", KEY)
    app = make_app(tmp_path, demo_server.api_base)
    client = app.test_client()
    added = client.post("/api/servers", json={"name": "second", "api_base": keyed_server.api_base,
                                              "api_key_env": "PROOFSHEET_TEST_SECOND_KEY"})
    assert added.status_code == 201 and added.get_json()["key"] == "from $PROOFSHEET_TEST_SECOND_KEY"
    assert client.post("/api/generate", json={"prompt": "cat", "server": "second"}).get_json()["status"] == "ok"
    data = tmp_path / "data"
    assert KEY not in (data / SERVERS_FILE).read_text() and KEY not in (data / KEYS_FILE).read_text()
    assert "PROOFSHEET_TEST_SECOND_KEY" in (data / SERVERS_FILE).read_text()


def test_servers_and_their_keys_survive_a_restart(make_app, two, tmp_path, keyed_server):
    app, client = two
    client.post("/api/generate", json={"prompt": "before the restart", "server": "second"})
    app.extensions["store"].close()
    keys = tmp_path / "data" / KEYS_FILE
    assert stat.S_IMODE(keys.stat().st_mode) == 0o600
    assert json.loads(keys.read_text()) == {"second": {"api_key": KEY}}
    assert KEY not in (tmp_path / "data" / SERVERS_FILE).read_text()
    again = make_app(tmp_path, app.config["API_BASE"]).test_client()
    assert [s["name"] for s in again.get("/api/servers").get_json()["servers"]] == ["default", "second"]
    made = again.post("/api/generate", json={"prompt": "after the restart", "server": "second"}).get_json()
    assert made["status"] == "ok" and keyed_server.requests_seen[-1]["prompt"] == "after the restart"
    assert [row["prompt"] for row in again.get("/api/generations?server=second").get_json()["generations"]] == \
        ["after the restart", "before the restart"]


def test_a_removed_server_leaves_its_generations_in_the_history(two):
    app, client = two
    made = client.post("/api/generate", json={"prompt": "kept anyway", "server": "second"}).get_json()
    assert client.delete("/api/servers/second").get_json() == {"deleted": "second"}
    assert client.delete("/api/servers/default").status_code == 409
    assert client.delete("/api/servers/second").status_code == 404
    assert client.get(made["permalink"]).status_code == 200
    assert client.get("/api/generations?server=second").get_json()["total"] == 1
    page = client.get(f"/?from={made['id']}").get_data(as_text=True)
    assert 'value="second" selected>second (removed)' in page
    rerun = client.post(f"/generations/{made['id']}/rerun")
    assert rerun.status_code == 400 and "no server named 'second'" in html.unescape(rerun.get_data(as_text=True))


def test_a_rerun_goes_to_the_same_server(two, keyed_server):
    app, client = two
    made = client.post("/api/generate", json={"prompt": "again please", "server": "second"}).get_json()
    seen = len(keyed_server.requests_seen)
    again = client.post(f"/generations/{made['id']}/rerun")
    assert again.status_code == 303 and len(keyed_server.requests_seen) == seen + 1


def test_a_comparison_across_servers_heads_each_cell_server_and_model(two, keyed_server, demo_server):
    app, client = two
    group = client.post("/api/compare", json={"prompt": "one prompt, two servers", "targets": [
        {"server": "default", "model": "flux"}, {"server": "second", "model": "gpt-image-1", "quality": "low"}]})
    assert group.status_code == 200, group.get_json()
    results = group.get_json()["results"]
    assert [(r["server"]["name"], r["request"]["model"]) for r in results] == \
        [("default", "flux"), ("second", "gpt-image-1")]
    assert all(r["status"] == "ok" and r["elapsed"] is not None for r in results)
    assert keyed_server.requests_seen[-1]["quality"] == "low" and "quality" not in demo_server.requests_seen[-1]
    assert results[1]["cost"] and results[1]["usage"]  # gpt-image answers with usage: each cell its own cost
    page = client.get(group.get_json()["permalink"]).get_data(as_text=True)
    assert '<span class="cell-server">default</span> · flux' in page
    assert '<span class="cell-server">second</span> · gpt-image-1' in page


def test_a_compare_form_with_server_rows_runs_each_on_its_server(two, keyed_server):
    app, client = two
    answer = client.post("/compare", data={"prompt": "rows", "target_server": ["default", "second"],
                                           "target_model": ["flux", "dall-e-3"]})
    assert answer.status_code == 303
    page = client.get(answer.headers["Location"]).get_data(as_text=True)
    assert '<span class="cell-server">second</span> · dall-e-3' in page
    assert 'value="dall-e-3"' in page  # the form is filled with the rows again
    assert keyed_server.requests_seen[-1]["model"] == "dall-e-3"


def test_a_server_named_at_start_takes_its_key_from_its_variable(make_app, tmp_path, demo_server, keyed_server,
                                                                  monkeypatch):
    monkeypatch.setenv("PROOFSHEET_API_KEY_BOX_2", KEY)
    app = make_app(tmp_path, demo_server.api_base, SERVERS=[("box-2", keyed_server.api_base)])
    client = app.test_client()
    listed = client.get("/api/servers").get_json()["servers"]
    assert [(s["name"], s["removable"], s["key"]) for s in listed] == \
        [("default", False, "no key"), ("box-2", False, "from $PROOFSHEET_API_KEY_BOX_2")]
    assert client.post("/api/generate", json={"prompt": "cat", "server": "box-2"}).get_json()["status"] == "ok"
    assert client.delete("/api/servers/box-2").status_code == 409
    assert not (tmp_path / "data" / SERVERS_FILE).exists()  # servers from the command line are not written down


def test_the_recording_endpoint_answers_for_each_named_server(two, keyed_server):
    app, client = two
    answer = client.post("/servers/second/v1/images/generations", json={"prompt": "via a named /v1", "model": "flux"})
    assert answer.status_code == 200 and answer.get_json()["data"]
    kept = client.get(f"/api/generations/{answer.headers['X-Proofsheet-Generation']}").get_json()
    assert kept["server"]["name"] == "second" and kept["via"] == "v1"
    assert keyed_server.requests_seen[-1]["prompt"] == "via a named /v1"
    models = client.get("/servers/second/v1/models")
    assert models.status_code == 200 and models.get_json()["data"]
    missing = client.post("/servers/nope/v1/images/generations", json={"prompt": "x"})
    assert missing.status_code == 404 and "no server named 'nope'" in missing.get_json()["error"]["message"]


def test_the_openai_sdk_uses_a_named_server_through_proofsheet(two, keyed_server):
    live = LiveApp(two[0])
    try:
        sdk = openai.OpenAI(base_url=f"{live.url}/servers/second/v1", api_key="sk-unused", max_retries=0, timeout=30)
        image = sdk.images.generate(model="gpt-image-1", prompt="through the SDK", size="1024x1024")
        assert image.data[0].b64_json and image.usage.total_tokens > 0
        with pytest.raises(openai.NotFoundError, match="no server named 'nope'"):
            openai.OpenAI(base_url=f"{live.url}/servers/nope/v1", api_key="sk-unused", max_retries=0).images.generate(
                model="flux", prompt="nowhere")
    finally:
        live.stop()


def test_the_key_never_appears_in_pages_json_exports_or_the_log(two, keyed_server):
    app, client = two
    written = io.StringIO()
    handler = logging.StreamHandler(written)  # as app.py installs it on the terminal's handler
    handler.addFilter(RedactingFilter(app.extensions["servers"].redactor))
    logging.getLogger().addHandler(handler)
    try:
        made = client.post("/api/generate", json={"prompt": "secret test", "server": "second"}).get_json()
        logging.getLogger("proofsheet").warning("a server echoed %s", KEY)
    finally:
        logging.getLogger().removeHandler(handler)
    seen = [client.get(path).get_data(as_text=True) for path in
            ("/servers", "/api/servers", "/api/servers/second/health", made["permalink"], "/generations",
             f"/api/generations/{made['id']}", f"/generations/{made['id']}/raw.json", "/compare", "/")]
    archive = client.get(f"/generations/export?id={made['id']}").get_data()
    with zipfile.ZipFile(io.BytesIO(archive)) as exported:
        seen += [exported.read(name).decode("latin-1") for name in exported.namelist()]
    assert not [text for text in seen if KEY in text]
    assert "key set" in seen[0]
    assert KEY not in written.getvalue() and "a server echoed sk-…(hidden)" in written.getvalue()


def test_the_servers_page_adds_a_server_and_keeps_the_form_without_the_key(client, keyed_server):
    refused = client.post("/servers", data={"name": "second", "api_base": keyed_server.api_base,
                                            "api_key": "sk-wrong-key-000"})
    page = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "refused the key" in page
    assert f'value="{keyed_server.api_base}"' in page and "sk-wrong-key-000" not in page
    added = client.post("/servers", data={"name": "second", "api_base": keyed_server.api_base, "api_key": KEY})
    assert added.status_code == 303
    page = client.get(added.headers["Location"]).get_data(as_text=True)
    assert "Added second." in page and keyed_server.api_base in page and KEY not in page
    assert client.post("/servers/second/delete").status_code == 303
    assert keyed_server.api_base not in client.get("/servers").get_data(as_text=True)


def test_the_first_server_named_on_the_command_line_is_the_default(tmp_path, demo_server, monkeypatch):
    import app as app_module

    for name in ("PROOFSHEET_API_BASE", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    made = {}
    monkeypatch.setattr(app_module, "create_app", lambda config: made.setdefault("config", config) and None)
    monkeypatch.setattr(app_module, "_refuse_to_start", lambda message: 2)
    monkeypatch.setenv("PROOFSHEET_DATA", str(tmp_path))
    try:
        app_module.main(["--server", f"laptop={demo_server.api_base}", "--server", "other=http://127.0.0.1:9/v1"])
    except AttributeError:
        pass  # create_app was replaced: main stops there, having built the configuration
    config = made["config"]
    assert config["DEFAULT_SERVER"] == "laptop" and config["API_BASE"] == demo_server.api_base
    assert config["SERVERS"] == [("laptop", demo_server.api_base), ("other", "http://127.0.0.1:9/v1")]


def test_a_bad_server_option_stops_start_up_with_one_line(tmp_path):
    code, printed = run_app_command("--server", "no-equals-sign", env={"PROOFSHEET_DATA": str(tmp_path)})
    assert code != 0 and "--server takes NAME=URL" in printed and "Traceback" not in printed
    code, printed = run_app_command("--server", "box=localhost:8080", env={"PROOFSHEET_DATA": str(tmp_path)})
    assert code != 0 and "Did you mean 'http://localhost:8080'?" in printed and "Traceback" not in printed


def test_an_unreadable_servers_file_is_a_warning_not_a_crash(make_app, tmp_path, demo_server, caplog):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / SERVERS_FILE).write_text("{not json")
    client = make_app(tmp_path, demo_server.api_base).test_client()
    assert [s["name"] for s in client.get("/api/servers").get_json()["servers"]] == ["default"]
    assert "Could not read the servers kept" in caplog.text
    assert os.path.exists(tmp_path / "data" / SERVERS_FILE)  # left for the person to look at


def test_a_killed_process_restarts_with_its_servers_and_a_backup_holds_no_key(tmp_path, demo_server, keyed_server):
    data = tmp_path / "data"
    process, url = start_app_process(data, demo_server.api_base)
    try:
        added = requests.post(url + "/api/servers", json={"name": "second", "api_base": keyed_server.api_base,
                                                          "api_key": KEY}, timeout=10)
        assert added.status_code == 201
        made = requests.post(url + "/api/generate", json={"prompt": "before the kill", "server": "second"},
                             timeout=10).json()
        assert made["status"] == "ok"
    finally:
        process.kill()  # no clean shutdown: what was added must already be on disk
        process.wait(timeout=10)
    process, url = start_app_process(data, demo_server.api_base)
    try:
        again = requests.post(url + "/api/generate", json={"prompt": "after the kill", "server": "second"},
                              timeout=10).json()
        assert again["status"] == "ok" and keyed_server.requests_seen[-1]["prompt"] == "after the kill"
    finally:
        stop_process(process)
    code, printed = run_app_command("--backup", str(tmp_path / "backup"), env={"PROOFSHEET_DATA": str(data)})
    assert code == 0 and "keys (server-keys.json) are not copied" in printed
    assert (tmp_path / "backup" / SERVERS_FILE).exists() and not (tmp_path / "backup" / KEYS_FILE).exists()
    assert not [path for path in (tmp_path / "backup").rglob("*") if path.is_file() and KEY.encode() in path.read_bytes()]


def test_an_edit_goes_to_the_server_it_names(two, keyed_server, demo_server):
    app, client = two
    from tests.support import png_bytes

    made = client.post("/api/edit", content_type="multipart/form-data", data={
        "prompt": "a red door", "model": "gpt-image-1", "server": "second",
        "image": (io.BytesIO(png_bytes()), "door.png")}).get_json()
    assert made["status"] == "ok" and made["server"]["name"] == "second"
    assert made["endpoint"] == keyed_server.api_base + "/images/edits" and keyed_server.requests_seen
    refused = client.post("/api/edit", content_type="multipart/form-data", data={
        "prompt": "a red door", "server": "nope", "image": (io.BytesIO(png_bytes()), "door.png")})
    assert refused.status_code == 400 and "no server named 'nope'" in refused.get_json()["error"]["message"]


def test_a_hanging_server_never_holds_the_servers_page(two, fake_server):
    app, client = two
    fake_server.on("GET", "/v1/models", json_body={"data": [{"id": "m"}]})
    assert client.post("/api/servers", json={"name": "slow", "api_base": fake_server.api_base}).status_code == 201
    fake_server.hang("GET", "/v1/models", limit=10)
    started = time.monotonic()
    page = client.get("/servers")
    assert page.status_code == 200 and "slow" in page.get_data(as_text=True)
    assert time.monotonic() - started < 1  # the last check is shown at once; the page's script asks again
    started = time.monotonic()
    health = client.get("/api/servers/slow/health").get_json()["health"]
    assert health["state"] == "down" and health["error"].endswith("did not finish answering within 3 seconds.") and time.monotonic() - started < 5
    assert "not answering" in client.get("/servers").get_data(as_text=True)


def test_a_grid_names_the_default_server_by_its_own_name(make_app, tmp_path, demo_server, keyed_server):
    client = make_app(tmp_path, demo_server.api_base, DEFAULT_SERVER="laptop").test_client()
    client.post("/api/servers", json={"name": "second", "api_base": keyed_server.api_base, "api_key": KEY})
    grid = client.post("/api/compare", json={"prompt": "x", "size": "64x64", "seeds": [1, 2], "targets": [
        {"model": "flux"}, {"server": "second", "model": "flux"}, {"server": None, "model": "dall-e-3"}]}).get_json()
    assert grid["columns"] == ["laptop · flux", "second · flux", "laptop · dall-e-3"]
    assert [cell["server"] for cell in grid["cells"][:3]] == ["laptop", "second", "laptop"]
