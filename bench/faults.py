"""Load and faults: pages while 64 slow generations wait, then cancels and clients that walk away.

    python bench/faults.py

The baseline, measured in the same run, is the same page loads against the idle app. Prints the page latency under
load as a ratio to idle (goal: every page under 1 s), how long each Cancel takes to answer, and how many upstream
connections the app still holds for generations that were cancelled or abandoned (goal: 0).
"""
from __future__ import annotations

import json
import os
import socket
import statistics
import tempfile
import time
from pathlib import Path

import requests
from _common import app_server, demo_server

IN_FLIGHT = 64
CANCELLED = 16
ABANDONED = 16
PAGES = ["/", "/generations", "/healthz", "/static/proofsheet.css", "/api/generations", "/compare"]
ROUNDS = 10


def page_timings(url: str) -> list[float]:
    session = requests.Session()
    timings = []
    for _ in range(ROUNDS):
        for path in PAGES:
            started = time.perf_counter()
            assert session.get(url + path, timeout=10).status_code == 200, path
            timings.append(time.perf_counter() - started)
    return timings


def raw_generate(port: int, number: int) -> socket.socket:
    body = json.dumps({"prompt": f"slow {number}", "client_ref": f"bench-{number}"}).encode()
    sock = socket.create_connection(("127.0.0.1", port), timeout=60)
    sock.sendall(b"POST /api/generate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                 b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
    return sock


def upstream_connections(pid: int, upstream_port: int) -> int:
    """Established TCP connections from the process `pid` to `upstream_port` (read from /proc, Linux)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    count = 0
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            remote_port = int(fields[2].rsplit(":", 1)[1], 16)
            if fields[3] == "01" and remote_port == upstream_port and fields[9] in inodes:  # 01: ESTABLISHED
                count += 1
    return count


def wait_for(condition, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def describe(label: str, timings: list[float]) -> str:
    ordered = sorted(timings)
    p95 = ordered[int(len(ordered) * 0.95) - 1]
    return (f"{label}: median {statistics.median(timings) * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms, "
            f"max {max(timings) * 1000:.1f} ms")


def main() -> None:
    with demo_server("--delay", "120") as demo, tempfile.TemporaryDirectory() as data, \
            app_server(demo.url + "/v1", data) as app:
        demo_port, app_port = demo.port, app.port
        page_timings(app.url)  # warm up
        idle = page_timings(app.url)
        pooled = upstream_connections(app.popen.pid, demo_port)  # kept alive by /healthz, not by generations

        sockets = [raw_generate(app_port, number) for number in range(IN_FLIGHT)]
        assert wait_for(lambda: upstream_connections(app.popen.pid, demo_port) >= IN_FLIGHT, 30), \
            upstream_connections(app.popen.pid, demo_port)
        loaded = page_timings(app.url)

        cancel_times = []
        for number in range(CANCELLED):
            started = time.perf_counter()
            assert requests.post(app.url + "/api/cancel", json={"client_ref": f"bench-{number}"},
                                 timeout=10).status_code == 200
            cancel_times.append(time.perf_counter() - started)
        for sock in sockets[CANCELLED:CANCELLED + ABANDONED]:
            sock.close()
        still_waiting = IN_FLIGHT - CANCELLED - ABANDONED
        started = time.perf_counter()
        settled = wait_for(lambda: upstream_connections(app.popen.pid, demo_port) <= still_waiting + pooled, 10)
        settle_time = time.perf_counter() - started
        left_open = max(0, upstream_connections(app.popen.pid, demo_port) - still_waiting - pooled)
        for sock in sockets:
            sock.close()

    print(describe("idle pages          ", idle))
    print(describe(f"with {IN_FLIGHT} in flight ", loaded))
    print(f"-> median ratio {statistics.median(loaded) / statistics.median(idle):.2f}x, "
          f"slowest page {max(loaded) * 1000:.0f} ms (goal < 1000 ms)")
    print(f"{CANCELLED} cancels answered in median {statistics.median(cancel_times) * 1000:.1f} ms, "
          f"max {max(cancel_times) * 1000:.1f} ms")
    print(f"upstream connections left open after {CANCELLED} cancels and {ABANDONED} walk-aways: {left_open} "
          f"(all closed within {settle_time:.2f} s{'' if settled else ', NOT settled'}; goal 0)")


if __name__ == "__main__":
    main()
