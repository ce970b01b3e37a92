"""The room votes: throughput and latency of the voters' listener for 200 and 1,000 simulated phones, against a
static file from the same listener in the same run, and the presenter's page while they vote.

    python bench/room.py

The demo server and `python app.py --room 127.0.0.2:PORT` run in their own processes. Each phone is a session of
its own (its cookie) sending from a loopback address of its own, as phones on a room's Wi-Fi do: it opens the
voting page, then votes with the plain form (a POST and the page it redirects to). "At once" sends every phone
through 32 connections as fast as they go; "over 10 s" lets 200 phones arrive at an even pace, as a room scanning
the code does. Latencies are per request (to the answer's headers).
"""
from __future__ import annotations

import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import requests

from _common import ROOT, Process, demo_server, free_port

sys.path.insert(0, str(ROOT))

from tests.support.room import Voter, voter_address  # noqa: E402

CONNECTIONS = 32


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def described(timings: list[float]) -> str:
    return (f"median {statistics.median(timings) * 1000:.1f} ms, p95 {percentile(timings, .95) * 1000:.1f} ms, "
            f"max {max(timings) * 1000:.1f} ms")


def vote_round(app: Process) -> tuple[int, str]:
    """A new blind round, opened to the room: its id and the phones' URL."""
    round_id = requests.post(app.url + "/api/arena", timeout=60, json={
        "prompt": "a lighthouse at dusk", "contenders": [{"model": "flux"}, {"model": "sdxl-turbo"}]}).json()["id"]
    return round_id, requests.post(f"{app.url}/api/arena/{round_id}/room", timeout=10).json()["url"]


def phones(url: str, count: int, first: int, pace: float = 0.0) -> tuple[float, list[float], int]:
    """(seconds, every request's latency, votes answered 200) for `count` phones; `pace` seconds between arrivals."""
    timings: list[float] = []
    started = time.monotonic()

    def phone(index: int) -> int:
        time.sleep(max(0.0, started + index * pace - time.monotonic()))
        voter = Voter(voter_address(first + index))
        timings.append(voter.open(url).elapsed.total_seconds())
        answer = voter.vote(url, "AB"[index % 2])
        timings.extend(step.elapsed.total_seconds() for step in (*answer.history, answer))
        voter.close()
        return answer.status_code

    with ThreadPoolExecutor(CONNECTIONS) as pool:
        statuses = list(pool.map(phone, range(count)))
    return time.monotonic() - started, timings, statuses.count(200)


def static_file(base: str, count: int, pace: float = 0.0) -> list[float]:
    """The baseline: the stylesheet from the same listener, as many requests at the same pace, through as many
    connections."""
    started = time.monotonic()

    def fetch(index: int) -> float:
        time.sleep(max(0.0, started + index * pace - time.monotonic()))
        return Voter(voter_address(2000 + index)).session.get(base + "/s/proofsheet.css",
                                                              timeout=10).elapsed.total_seconds()

    with ThreadPoolExecutor(CONNECTIONS) as pool:
        return list(pool.map(fetch, range(count)))


def presenter_page(url: str, stop: threading.Event) -> list[float]:
    timings = []
    with requests.Session() as session:
        while not stop.is_set():
            timings.append(session.get(url, timeout=10).elapsed.total_seconds())
            time.sleep(0.05)
    return timings


def main() -> None:
    room_port = free_port()
    with demo_server() as demo, tempfile.TemporaryDirectory() as data:
        app = Process(["app.py", "--api-base", demo.url + "/v1", "--room", f"127.0.0.2:{room_port}"], "/generations",
                      env={"PROOFSHEET_DATA": data})
        try:
            run(app, f"http://127.0.0.2:{room_port}")
        finally:
            app.stop()


def run(app: Process, base: str) -> None:
    round_id, _ = vote_round(app)
    idle = [requests.get(f"{app.url}/arena/{round_id}", timeout=10).elapsed.total_seconds() for _ in range(30)]
    print(f"presenter's round page (open to the room), idle: {described(idle)}")
    first = 0
    for count, pace in ((200, 0.0), (1000, 0.0), (200, 0.05)):
        round_id, url = vote_round(app)
        baseline = static_file(base, count * 3, pace / 3)
        stop = threading.Event()
        watcher = ThreadPoolExecutor(1)
        watched = watcher.submit(presenter_page, f"{app.url}/arena/{round_id}", stop)
        seconds, timings, counted = phones(url, count, first, pace)
        stop.set()
        during = watched.result()
        watcher.shutdown()
        first += count
        voters = requests.get(f"{app.url}/api/arena/{round_id}/tally", timeout=5).json()["voters"]
        how = "at once" if not pace else f"over {count * pace:.0f} s"
        print(f"\n{count} phones {how}: {counted} votes answered, {voters} in the tally, in {seconds:.2f} s "
              f"({count / seconds:.0f} votes/s, {len(timings) / seconds:.0f} requests/s)")
        print(f"  voters' requests (page, vote, page again): {described(timings)}")
        print(f"  the stylesheet from the same listener (baseline): {described(baseline)}")
        print(f"  ratio: median {statistics.median(timings) / statistics.median(baseline):.2f}x, "
              f"p95 {percentile(timings, .95) / percentile(baseline, .95):.2f}x")
        print(f"  presenter's round page meanwhile: {described(during)} "
              f"({statistics.median(during) / statistics.median(idle):.2f}x idle)")


if __name__ == "__main__":
    main()
