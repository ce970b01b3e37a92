"""Fixtures, in the flaskr manner: each test gets fresh apps and servers, and each is closed when the test ends.

Helpers that are not fixtures live in tests/support (`from tests.support import png_bytes, free_port, ...`).
"""
import compileall
import os
import subprocess
import sys
from pathlib import Path

import pytest

from app import close_app
from proofsheet.web.voters import serve_room as start_room_listener
from proofsheet.demo.server import DemoImageServer
from tests.fake_server import FakeImageServer
from tests.support import LiveApp, new_app

ROOT = Path(__file__).resolve().parent.parent


# The longest modules first (seconds each on one worker of a full run on this 2-core machine, 1 December): --dist
# loadscope hands modules to the workers in this order (pytest.ini turns off xdist's own reordering, by number of
# tests, which handed the two-test walker out last), and a long module handed out last is the whole suite's tail.
LONGEST_FIRST = [
    "tests/browser/test_walker.py", "tests/test_faults_process.py", "tests/browser/test_stage_ready.py",  # 114, 78, 56
    "tests/browser/test_interaction.py", "tests/browser/test_run_page.py", "tests/test_faults.py",  # 54, 49, 44
    "tests/test_failures.py", "tests/test_room.py", "tests/test_runs_process.py", "tests/test_run_grid.py",  # 43-37
    "tests/browser/test_accessible.py", "tests/browser/test_output_in_view.py",  # 36, 31
    "tests/browser/test_images_api.py", "tests/test_side_files.py", "tests/browser/test_xss.py",  # 26
    "tests/test_run_workers.py", "tests/test_servers.py", "tests/real/test_litellm.py",  # 26, 23, 20 (its start-up)
    "tests/browser/test_audience.py", "tests/test_demo_server.py", "tests/test_origins.py",  # 20-16
    "tests/test_hard_edges.py", "tests/browser/test_room.py", "tests/test_runs.py",  # 16-14
    "tests/browser/test_page_faults.py", "tests/browser/test_tournament.py", "tests/test_v1_endpoint.py",  # 13
]


def pytest_configure(config):
    """Before the workers start (in the process that starts them): Proofsheet's modules compiled once, and every
    process the tests start (the workers, `python app.py`, its run workers) allowed to keep what it compiles. Where
    PYTHONDONTWRITEBYTECODE is set, each of those hundreds of processes compiled every module again."""
    if hasattr(config, "workerinput"):
        return
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    sys.dont_write_bytecode = False
    compileall.compile_dir(ROOT / "proofsheet", quiet=1)
    compileall.compile_file(ROOT / "app.py", quiet=1)


def pytest_collection_modifyitems(items):
    rank = {path: number for number, path in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::")[0], len(rank)))  # stable: the rest keep their order


@pytest.fixture
def start_demo():
    """Starts a demo image server with the options given (delays, a key...); all are stopped when the test ends."""
    started = []

    def start(**options) -> DemoImageServer:
        started.append(DemoImageServer(**options).start())
        return started[-1]

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def demo_server(start_demo):
    return start_demo()


@pytest.fixture
def fake_server():
    server = FakeImageServer()
    yield server
    server.stop()


@pytest.fixture
def hanging_server():
    """An image server that never answers: it holds each generation until the client hangs up (or 60 s pass)."""
    server = FakeImageServer()
    server.hang(limit=60)
    yield server
    server.stop()


@pytest.fixture
def small_disk(tmp_path):
    """A real 8 MB filesystem (tmpfs) to fill up and to make read-only, as a full or locked-down disk is."""
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mount_point)],
                             capture_output=True, text=True)
    assert mounted.returncode == 0, f"this test needs to mount a small tmpfs (as root): {mounted.stderr}"
    yield mount_point
    subprocess.run(["umount", "-l", str(mount_point)], check=False)


@pytest.fixture
def make_app():
    """Builds an app: `make_app(tmp_path, api_base, **config)`. Each lets go of its data folder when the test ends,
    as a stopped process would."""
    made = []

    def make(tmp_path, api_base, **config):
        made.append(new_app(tmp_path, api_base, **config))
        return made[-1]

    yield make
    for app in reversed(made):
        close_app(app)


@pytest.fixture
def serve_app(make_app, start_demo):
    """Serves an app on a real loopback socket: `serve_app(app, port=0)` gives a LiveApp (its `.url`).

    Asks for make_app and start_demo so that, at the end, the servers stop before their apps close and before the
    demo servers they call stop.
    """
    served = []

    def serve(app, port=0) -> LiveApp:
        served.append(LiveApp(app, port))
        return served[-1]

    yield serve
    for live in reversed(served):
        live.stop()


@pytest.fixture
def serve_room(serve_app):
    """Opens an app's voters' listener on a real socket (waitress, its own thread), on 127.0.0.2 unless told:
    `serve_room(app)` gives its base URL. Stopped before the app closes."""
    servers = []

    def serve(app, host="127.0.0.2"):
        servers.append(start_room_listener(app, host, 0))
        return app.extensions["room"].base_url

    yield serve
    for server in reversed(servers):
        server.close()
        server.task_dispatcher.shutdown(timeout=0.5)


@pytest.fixture
def room_app(app, serve_room):
    """The app with its voters' listener open on 127.0.0.2."""
    serve_room(app)
    return app


@pytest.fixture
def presenter(room_app):
    """The presenter's client of an app whose voters' listener is open."""
    return room_app.test_client()


@pytest.fixture
def app(tmp_path, make_app, demo_server):
    return make_app(tmp_path, demo_server.api_base)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def fake_app(tmp_path, make_app, fake_server):
    return make_app(tmp_path, fake_server.api_base, TIMEOUT=2)


@pytest.fixture
def fake_client(fake_app):
    return fake_app.test_client()
