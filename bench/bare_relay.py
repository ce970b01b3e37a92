"""The floor for bench/v1_relay.py: the least a relay on Proofsheet's stack can do — Flask on waitress (with
Proofsheet's settings), passing an image server's answer on chunk by chunk with requests, keeping nothing.

    python bench/bare_relay.py --port PORT --upstream URL

Started by v1_relay.py in its own process, as a baseline measured in the same run.
"""
from __future__ import annotations

import argparse

import requests
from _common import ROOT  # (and the project on the path)
from flask import Flask, Response, request
from waitress.server import create_server

from app import WAITRESS_LOOKAHEAD, WAITRESS_OUTBUF


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--upstream", required=True)
    args = parser.parse_args()
    app, session = Flask(__name__, root_path=str(ROOT)), requests.Session()

    @app.get("/ready")
    def ready() -> str:
        return "ok"

    @app.post("/v1/images/generations")
    def relay() -> Response:
        answer = session.post(args.upstream + "/images/generations", data=request.get_data(), stream=True,
                              headers={"Content-Type": request.content_type or "application/json"})

        def chunks():
            with answer:
                while chunk := answer.raw.read1(1024 * 1024):
                    yield chunk

        return Response(chunks(), status=answer.status_code, content_type=answer.headers.get("Content-Type"),
                        headers={"Content-Length": answer.headers["Content-Length"]})

    create_server(app, host="127.0.0.1", port=args.port, threads=8, asyncore_use_poll=True,
                  channel_request_lookahead=WAITRESS_LOOKAHEAD, **WAITRESS_OUTBUF).run()


if __name__ == "__main__":
    main()
