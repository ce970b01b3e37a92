"""The app built for a test, and the same app on a real socket (waitress on loopback), as a browser or SDK reaches it.

Tests ask for the `make_app` and `serve_app` fixtures, which close what they made; these are what they build.
"""
from __future__ import annotations

import threading
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from waitress.server import create_server

from app import WAITRESS_LOOKAHEAD, WAITRESS_OUTBUF, create_app


class BufferedClient(FlaskClient):
    """Reads every answer whole and closes it, so that files the app sends are closed too."""

    def open(self, *args: Any, **kwargs: Any):
        kwargs.setdefault("buffered", True)
        return super().open(*args, **kwargs)


def new_app(tmp_path, api_base: str, **config: Any) -> Flask:
    """An app with its data in `tmp_path / "data"`, talking to `api_base`; whoever makes it closes it (close_app)."""
    settings = {"TESTING": True, "DATA_DIR": str(tmp_path / "data"), "API_BASE": api_base, "TIMEOUT": 10,
                "WTF_CSRF_ENABLED": False, "SECRET_KEY": "test"}
    settings.update(config)
    app = create_app(settings)
    app.test_client_class = BufferedClient
    return app


class LiveApp:
    """The app on a real socket; `port` 0 takes a free one."""

    def __init__(self, app: Flask, port: int = 0) -> None:
        self.app = app
        self.server = create_server(app, host="127.0.0.1", port=port, threads=8, asyncore_use_poll=True,
                                    channel_request_lookahead=WAITRESS_LOOKAHEAD, **WAITRESS_OUTBUF)
        self.url = f"http://127.0.0.1:{self.server.effective_port}"
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.close()
        # Its threads end (a page still open ends its live stream within a second), and their database handles too.
        self.server.task_dispatcher.shutdown(timeout=0.5)
