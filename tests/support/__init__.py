"""Helpers the tests share that are not fixtures: `from tests.support import png_bytes, free_port, LiveApp, ...`.

Fixtures (`app`, `client`, `make_app`, `serve_app`, `demo_server`, `start_demo`, `fake_server`, `hanging_server`,
`small_disk`, ...) live in tests/conftest.py and are asked for by name; nothing is imported from a conftest or from
another test module.
"""
from tests.support.images import png_base64, png_bytes
from tests.support.live import LiveApp, new_app
from tests.support.room import Voter, arena_round, open_to_room, voter_address
from tests.support.processes import ROOT, free_port, run_app_command, start_app_process, stop_process
from tests.support.v1 import kept, sdk
from tests.support.waiting import fill, wait_until

__all__ = ["LiveApp", "ROOT", "Voter", "arena_round", "fill", "free_port", "kept", "new_app", "open_to_room", "png_base64",
           "png_bytes", "run_app_command", "sdk", "start_app_process", "stop_process", "voter_address", "wait_until"]
