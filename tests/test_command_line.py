"""The command line as a person meets it, each a real `python app.py`: mistakes refused in one line, --help that
names every variable and where the data is kept, and a start-up that stays quiet while pages come and go."""
import time

import pytest
import requests

from proofsheet import settings
from tests.support import free_port, run_app_command, start_app_process, stop_process


@pytest.mark.parametrize("port, said", [
    ("99999", "app.py: argument --port: must be a port number from 1 to 65535, not 99999 (see --help)"),
    ("0", "app.py: argument --port: must be a port number from 1 to 65535, not 0 (see --help)"),
    ("-80", "app.py: argument --port: must be a port number from 1 to 65535, not -80 (see --help)"),
    ("http", "app.py: argument --port: must be a port number from 1 to 65535, not 'http' (see --help)"),
])
def test_a_port_outside_1_to_65535_is_refused_in_one_line(tmp_path, port, said):
    code, printed = run_app_command(f"--port={port}", "--demo", env={"PROOFSHEET_DATA": str(tmp_path / "data")})
    assert code == 2
    assert printed.strip() == said
    assert not (tmp_path / "data").exists()  # refused before anything started


def test_demo_with_an_api_base_is_refused_in_one_line(tmp_path):
    code, printed = run_app_command("--port", str(free_port()), "--demo", "--api-base", "http://127.0.0.1:9/v1",
                                    env={"PROOFSHEET_DATA": str(tmp_path / "data")})
    assert code == 2
    assert printed.strip() == ("--demo starts its own image server and uses it, so it cannot go with --api-base: "
                               "leave out one of the two.")


def test_help_names_every_variable_and_where_the_data_is_kept(tmp_path):
    code, printed = run_app_command("--help", env={"PROOFSHEET_DATA": str(tmp_path / "my history")})
    assert code == 0
    for variable in ("PROOFSHEET_API_BASE", "PROOFSHEET_API_KEY", "PROOFSHEET_API_KEY_<NAME>", "PROOFSHEET_DATA",
                     "PROOFSHEET_TIMEOUT", "PROOFSHEET_IMAGE_TIMEOUT", "PROOFSHEET_ALLOWED_HOSTS",
                     "PROOFSHEET_PROXY_TOKEN", "PROOFSHEET_REWRITE_URLS", "OPENAI_BASE_URL", "OPENAI_API_KEY"):
        assert f"\n  {variable} " in printed, variable
    assert set(settings.VARIABLES) <= set(printed.split())
    assert f"is kept in\n{tmp_path / 'my history'};" in printed or f"is kept in {tmp_path / 'my history'};" in printed


def test_pages_coming_and_going_leave_no_line_at_start_up_level(tmp_path, demo_server):
    log = tmp_path / "printed.txt"
    process, url = start_app_process(tmp_path / "data", demo_server.api_base, log_path=log)
    try:
        for _ in range(3):  # a page following the history live, then the person moves on
            with requests.get(url + "/api/events", stream=True, timeout=5) as live:
                next(live.iter_content(chunk_size=None))
        time.sleep(1.5)  # time for the web server to notice each page has gone
        assert requests.get(url + "/healthz", timeout=5).status_code == 200
    finally:
        stop_process(process)
    printed = log.read_text()
    assert "Client disconnected" not in printed
    assert "Proofsheet at http://127.0.0.1" in printed  # the start-up line itself is still there
