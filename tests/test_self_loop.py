"""Proofsheet pointed at itself — OPENAI_BASE_URL set for the person's programs, as the README suggests, then
Proofsheet started in the same shell; or its own address typed as an image server — never calls itself again and
again: start-up says so in one line, and a request that comes back to it is answered at once with why."""
import os
import subprocess
import sys
import time

import openai
import pytest
import requests

from tests.support import ROOT, LiveApp, free_port, run_app_command, start_app_process, stop_process

LOOP_WORDS = "This image server's address is Proofsheet's own"


def test_openai_base_url_set_for_programs_is_not_taken_as_proofsheets_own_server(tmp_path, demo_server):
    port = free_port()
    own = f"http://localhost:{port}/v1"
    log_path = tmp_path / "app.log"
    process, url = start_app_process(tmp_path / "data", None, "--server", f"demo={demo_server.api_base}",
                                     env={"OPENAI_BASE_URL": own, "OPENAI_API_KEY": "sk-set-for-programs-42"},
                                     log_path=log_path, port=port)
    try:
        health = requests.get(url + "/healthz", timeout=5).json()
        assert health["image_server"]["url"] == demo_server.api_base and health["image_server"]["answers"]
        # The person's program, which reads OPENAI_BASE_URL from the same shell, reaches the image server through it.
        program = ("from openai import OpenAI\n"
                   "print(OpenAI(api_key='sk-x', max_retries=0).images.generate(model='flux', prompt='a lighthouse',"
                   " response_format='b64_json').data[0].b64_json[:8])")
        ran = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=60, cwd=ROOT,
                             env={**os.environ, "OPENAI_BASE_URL": own})
        assert ran.returncode == 0, ran.stderr
        assert ran.stdout.strip() == "iVBORw0K"  # a PNG, from the demo server
        kept = requests.get(url + "/api/generations", timeout=5).json()["generations"]
        assert [(one["prompt"], one["via"]) for one in kept] == [("a lighthouse", "v1")]
        printed = log_path.read_text()
        warnings = [line for line in printed.splitlines() if "OPENAI_BASE_URL" in line]
        assert len(warnings) == 1 and "WARNING" in warnings[0] and "own address" in warnings[0]
        assert "OPENAI_API_KEY is left for OpenAI" in printed  # nor is the key meant for programs Proofsheet's own
        assert "Traceback" not in printed and "sk-set-for-programs-42" not in printed
    finally:
        stop_process(process)


@pytest.mark.parametrize("how", ["--api-base", "PROOFSHEET_API_BASE", "--server"])
def test_an_image_server_at_proofsheets_own_address_stops_start_up_in_one_line(tmp_path, demo_server, how):
    port = free_port()
    own = {"--api-base": f"http://localhost:{port}/v1", "PROOFSHEET_API_BASE": f"http://127.0.0.1:{port}/v1",
           "--server": f"http://[::1]:{port}/v1"}[how]
    args = {"--api-base": ["--api-base", own], "PROOFSHEET_API_BASE": [],
            "--server": ["--api-base", demo_server.api_base, "--server", f"me={own}"]}[how]
    env = {"PROOFSHEET_DATA": str(tmp_path / "data"), **({"PROOFSHEET_API_BASE": own} if how == "PROOFSHEET_API_BASE"
                                                          else {})}
    code, printed = run_app_command("--port", str(port), *args, env=env)
    assert code == 2 and "Traceback" not in printed
    lines = [line for line in printed.splitlines() if line.strip()]
    assert len(lines) == 1
    assert own in lines[0] and "is this Proofsheet's own address" in lines[0]
    assert "http://localhost:1337/v1" in lines[0]  # what to give instead


@pytest.fixture
def pointed_at_itself(make_app, tmp_path):
    """A Proofsheet whose image server is its own address, as a server kept from an earlier start on another
    port, or a tunnel, can make it: start-up's check cannot see every such path, so the requests themselves tell."""
    port = free_port()
    live = LiveApp(make_app(tmp_path, f"http://127.0.0.1:{port}/v1", TIMEOUT=30), port=port)
    yield live
    live.stop()


def test_a_generation_sent_to_itself_fails_at_once_with_why(pointed_at_itself):
    live = pointed_at_itself
    started = time.monotonic()
    answer = requests.post(live.url + "/api/generate", json={"prompt": "a fox", "model": "flux"}, timeout=30)
    assert time.monotonic() - started < 3  # not after a chain of calls to itself ran out of threads or time
    assert answer.status_code == 502 and LOOP_WORDS in answer.json()["error"]["message"]
    kept = requests.get(live.url + "/api/generations", timeout=5).json()["generations"]
    assert len(kept) == 1 and kept[0]["status"] == "failed"  # the one the person asked for, and no echo of it
    page = requests.get(f"{live.url}/generations/{kept[0]['id']}", timeout=5).text
    assert LOOP_WORDS in page.replace("&#39;", "'")
    health = requests.get(live.url + "/healthz", timeout=5).json()
    assert health["image_server"]["state"] == "down" and LOOP_WORDS in health["image_server"]["error"]
    assert requests.get(live.url + "/generations", timeout=5).status_code == 200  # and it stays well


def test_an_sdk_call_through_v1_to_itself_raises_with_why(pointed_at_itself):
    live = pointed_at_itself
    client = openai.OpenAI(base_url=live.url + "/v1", api_key="sk-x", max_retries=0, timeout=30)
    with pytest.raises(openai.APIStatusError) as raised:
        client.images.generate(model="flux", prompt="a fox")
    assert raised.value.status_code == 508 and LOOP_WORDS in raised.value.message
    kept = requests.get(live.url + "/api/generations", timeout=5).json()["generations"]
    assert len(kept) == 1 and kept[0]["via"] == "v1"


def test_adding_proofsheets_own_address_as_a_server_is_refused_with_why(pointed_at_itself):
    live = pointed_at_itself
    answer = requests.post(live.url + "/api/servers", json={"name": "me", "api_base": live.url + "/v1"}, timeout=10)
    assert answer.status_code == 422 and LOOP_WORDS in answer.json()["error"]["message"]
    assert [one["name"] for one in requests.get(live.url + "/api/servers", timeout=5).json()["servers"]] == ["default"]


def test_two_proofsheets_pointed_at_each_other_stop_at_the_first_that_hears_itself(make_app, tmp_path):
    first_port, second_port = free_port(), free_port()
    first = LiveApp(make_app(tmp_path / "first", f"http://127.0.0.1:{second_port}/v1", TIMEOUT=30), port=first_port)
    second = LiveApp(make_app(tmp_path / "second", f"http://127.0.0.1:{first_port}/v1", TIMEOUT=30), port=second_port)
    try:
        started = time.monotonic()
        answer = requests.post(first.url + "/api/generate", json={"prompt": "a fox", "model": "flux"}, timeout=30)
        assert time.monotonic() - started < 3
        assert answer.status_code == 502 and LOOP_WORDS in answer.json()["error"]["message"]
        for live in (first, second):  # one generation each: the first's, and the second's relay of it
            assert requests.get(live.url + "/api/generations", timeout=5).json()["total"] == 1
    finally:
        second.stop()
        first.stop()
