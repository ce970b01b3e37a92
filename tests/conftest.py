import base64
import io
import socket

import pytest
from PIL import Image

from app import create_app
from demo_backend import DemoImageServer
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


def make_app(tmp_path, api_base, **config):
    settings = {"TESTING": True, "DATA_DIR": str(tmp_path / "data"), "API_BASE": api_base, "TIMEOUT": 10,
                "WTF_CSRF_ENABLED": False, "SECRET_KEY": "test"}
    settings.update(config)
    return create_app(settings)


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
