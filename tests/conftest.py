import base64
import io
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from PIL import Image

from flask.testing import FlaskClient

from app import close_app, create_app
from proofsheet.demo_server import DemoImageServer
from tests.fake_server import FakeImageServer


@pytest.fixture
def demo_server():
    with DemoImageServer() as server:
        yield server


@pytest.fixture
def fake_server():
    server = FakeImageServer()
    yield server
    server.stop()


class BufferedClient(FlaskClient):
    """Reads every answer whole and closes it, so that files the app sends are closed too."""

    def open(self, *args, **kwargs):
        kwargs.setdefault("buffered", True)
        return super().open(*args, **kwargs)


_apps_made = []


def make_app(tmp_path, api_base, **config):
    settings = {"TESTING": True, "DATA_DIR": str(tmp_path / "data"), "API_BASE": api_base, "TIMEOUT": 10,
                "WTF_CSRF_ENABLED": False, "SECRET_KEY": "test"}
    settings.update(config)
    app = create_app(settings)
    app.test_client_class = BufferedClient
    _apps_made.append(app)
    return app


@pytest.fixture(autouse=True)
def close_apps():
    """Each app a test made lets go of its data folder at the end, as a stopped process would."""
    yield
    while _apps_made:
        close_app(_apps_made.pop())


@pytest.fixture
def app(tmp_path, demo_server):
    return make_app(tmp_path, demo_server.api_base)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def fake_app(tmp_path, fake_server):
    return make_app(tmp_path, fake_server.api_base, TIMEOUT=2)


@pytest.fixture
def fake_client(fake_app):
    return fake_app.test_client()


def png_bytes(width=64, height=48, colour=(200, 80, 40)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(out, "PNG")
    return out.getvalue()


def png_base64(width=64, height=48, colour=(200, 80, 40)) -> str:
    return base64.b64encode(png_bytes(width, height, colour)).decode()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


ROOT = Path(__file__).resolve().parent.parent


def start_app_process(data_dir, api_base, *args, env=None, log_path=None, port=None):
    """`python app.py` in its own process, as a person starts it; returns (process, url) once it answers.

    What it prints goes to `log_path` when given, so a test can read its start-up lines. With `api_base` None, no
    --api-base is given (the environment or a --server names the image server).
    """
    port = port or free_port()
    environment = {**os.environ, "PROOFSHEET_DATA": str(data_dir), **(env or {})}
    output = open(log_path, "wb") if log_path else subprocess.DEVNULL
    given = ["--api-base", api_base] if api_base else []
    process = subprocess.Popen([sys.executable, "app.py", "--port", str(port), *given, *args],
                               cwd=ROOT, env=environment, stdout=output, stderr=output)
    if log_path:
        output.close()
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        if process.poll() is not None:
            raise AssertionError(f"the app exited at start with {process.returncode}")
        try:
            requests.get(url + "/generations", timeout=1)
            return process, url
        except requests.ConnectionError:
            time.sleep(0.1)
    process.kill()
    raise AssertionError("the app did not start within 10 seconds")


def run_app_command(*args, env=None, timeout=30):
    """`python app.py ARGS` run to its end: (exit code, everything it printed)."""
    completed = subprocess.run([sys.executable, "app.py", *args], cwd=ROOT, env={**os.environ, **(env or {})},
                               capture_output=True, text=True, timeout=timeout)
    return completed.returncode, completed.stdout + completed.stderr


def stop_process(process):
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)
