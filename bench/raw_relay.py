"""The lowest floor for bench/v1_relay.py: a relay with no HTTP stack at all — each connection's bytes copied to the
image server and back by two threads, 1 MB at a time. What any relay costs on this machine, before Flask, waitress
and requests add theirs.

    python bench/raw_relay.py --port PORT --upstream URL

Started by v1_relay.py in its own process, as a baseline measured in the same run.
"""
from __future__ import annotations

import argparse
import socket
import threading
import urllib.parse


def pipe(source: socket.socket, target: socket.socket) -> None:
    buffer = bytearray(1024 * 1024)
    view = memoryview(buffer)
    try:
        while count := source.recv_into(buffer):
            target.sendall(view[:count])
    except OSError:
        pass
    finally:
        try:
            target.shutdown(socket.SHUT_WR)
        except OSError:
            pass


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--upstream", required=True)
    args = parser.parse_args()
    upstream = urllib.parse.urlsplit(args.upstream)
    listener = socket.create_server(("127.0.0.1", args.port))
    while True:
        caller, _ = listener.accept()
        server = socket.create_connection((upstream.hostname, upstream.port))
        for sock in (caller, server):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        threading.Thread(target=pipe, args=(server, caller), daemon=True).start()
        threading.Thread(target=pipe, args=(caller, server), daemon=True).start()


if __name__ == "__main__":
    main()
