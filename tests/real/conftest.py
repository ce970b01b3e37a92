"""The real gpt4free API server and the real LiteLLM proxy, each started once per test session on loopback, offline.

Every test in this folder is marked `real_servers`: `python -m pytest -m "not real_servers"` leaves them out of a
quick run (starting both servers takes 20-40 s on a busy machine). They need the packages of requirements-dev.txt.
"""
import importlib.util
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from proofsheet.demo.server import DemoImageServer
from tests.support import LiveApp, free_port
from tests.real.support import LITELLM_KEY

HERE = Path(__file__).resolve().parent
START_SECONDS = 180  # LiteLLM imports for 20-30 s on an idle machine; far longer when the machine is shared
LITELLM_CONFIG = """\
model_list:
  - model_name: painter
    litellm_params: {{model: openai/dall-e-3, api_base: "{api_base}", api_key: demo-key}}
    model_info: {{mode: image_generation}}
  - model_name: image-describer
    litellm_params: {{model: openai/gpt-4o-mini, api_base: "{api_base}", api_key: demo-key}}
  - model_name: unknown-painter
    litellm_params: {{model: openai/dall-e-2, api_base: "{api_base}", api_key: demo-key}}
    model_info: {{mode: image_generation}}
"""


def pytest_collection_modifyitems(items):
    for item in items:
        if HERE in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.real_servers)


def need(package):
    if importlib.util.find_spec(package) is None:
        pytest.fail(f"The real-server tests need {package}: pip install -r requirements-dev.txt "
                    f"(or leave them out with -m 'not real_servers')")


def started(command, url, log_path, env=None, cwd=None, headers=None):
    """A server in its own process group, once `url` answers; its output goes to `log_path`, shown if it fails."""
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=cwd, start_new_session=True,
                                   env={**os.environ, **(env or {})})
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = Path(log_path).read_text()[-3000:]
            pytest.fail(f"{command[2]} exited at start with {process.returncode}:\n{output}")
        try:
            if requests.get(url, headers=headers, timeout=2).status_code == 200:
                return process
        except requests.RequestException:
            pass
        time.sleep(0.3)
    stopped(process)
    pytest.fail(f"{command[2]} did not answer {url} within {START_SECONDS} s:\n{Path(log_path).read_text()[-3000:]}")


def stopped(process):
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=15)


@pytest.fixture(scope="session")
def gpt4free(tmp_path_factory):
    """gpt4free's own API (`g4f api`) with one offline image provider, ProofsheetPainter: its /v1 base URL."""
    need("g4f")
    folder = tmp_path_factory.mktemp("gpt4free")
    port = free_port()
    process = started([sys.executable, "-u", str(HERE / "g4f_offline.py"), str(port), str(folder)],
                      f"http://127.0.0.1:{port}/v1/models", folder / "server.log")
    yield f"http://127.0.0.1:{port}/v1"
    stopped(process)


@pytest.fixture(scope="session")
def litellm_demo():
    """The image server behind LiteLLM: Proofsheet's demo server."""
    with DemoImageServer() as server:
        yield server


@pytest.fixture(scope="session")
def litellm(tmp_path_factory, litellm_demo):
    """A LiteLLM proxy (no database) routing `painter` to the demo server's dall-e-3: its /v1 base URL."""
    need("litellm")
    folder = tmp_path_factory.mktemp("litellm")
    (folder / "config.yaml").write_text(LITELLM_CONFIG.format(api_base=litellm_demo.api_base))
    port = free_port()
    # LITELLM_LOCAL_MODEL_COST_MAP: the price list shipped in the package, instead of one fetched from the internet.
    env = {"LITELLM_MASTER_KEY": LITELLM_KEY, "LITELLM_LOCAL_MODEL_COST_MAP": "True", "LITELLM_LOG": "ERROR"}
    process = started([sys.executable, "-m", "litellm.proxy.proxy_cli", "--config", "config.yaml", "--host",
                       "127.0.0.1", "--port", str(port)], f"http://127.0.0.1:{port}/v1/models",
                      folder / "server.log", env=env, cwd=folder, headers={"Authorization": f"Bearer {LITELLM_KEY}"})
    yield f"http://127.0.0.1:{port}/v1"
    stopped(process)


@pytest.fixture
def proofsheet_on_gpt4free(make_app, tmp_path, gpt4free):
    live = LiveApp(make_app(tmp_path, gpt4free, TIMEOUT=30))
    yield live
    live.stop()


@pytest.fixture
def proofsheet_on_litellm(make_app, tmp_path, litellm):
    live = LiveApp(make_app(tmp_path, litellm, TIMEOUT=30, API_KEY=LITELLM_KEY))
    yield live
    live.stop()
