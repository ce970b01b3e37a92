"""A prompt-set run against a demo server answering in 50 ms: how close to a bare thread pool, and do pages slow?

    python bench/runs.py               # 2,000 cells at concurrency 8
    python bench/runs.py --cells 200   # a quick check

Orchestration: the run's wall time, from POST /api/runs to the run's status `done`, through Proofsheet served by
waitress in its own process, against a bare pool of the same number of threads posting the same bodies straight to
the demo server with `requests` and keeping nothing (measured just before and just after the run: the baseline is
their mean). Goal: <= 1.2x.
Pages: the median latency of /, /generations, /runs/<id> and /api/runs/<id>, asked in turn, one every 0.1 s (--pace),
while the run goes, against the same pages idle, asked the same way before and after it. Goal: <= 1.3x.

Run it on a quiet machine, and not within five minutes of deleting thousands of files (an earlier run of this script
deletes its data folder as it ends): ext4 then looks over the inodes freed recently for each new file it makes, and
on this machine that was a third of the run workers' processor time (perf: recently_deleted, find_inode_bit).
"""
from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
from _common import app_server, demo_server

DELAY = "0.05"  # seconds the demo server takes for each image
TARGET = {"model": "flux", "response_format": "b64_json", "size": "256x256"}  # the image comes in the answer
IDLE_ROUNDS = 25  # times each page is asked idle, before and after the run
# Seconds between two pages asked, idle and during the run alike: ten a second, more than a room of people clicking
# around. `--pace 0` asks them back to back, which makes the asking itself a load on the machine's two cores.
PACE = 0.1
RUN_LIMIT = 600  # seconds: a run that has not ended by then is reported as such, and the script stops


def cpu_seconds(pid: int) -> float:
    """User and system CPU time a process has used (Linux), to say what each cell costs whatever the load."""
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children(pid: int) -> list[int]:
    """The processes `pid` started that are still running (Proofsheet's run workers)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(child) for child in (task / "children").read_text().split()]
    return found


def settle(pids: list[int], limit: float = 180.0) -> None:
    """Wait until these processes have used under 5% of a core for a second (Proofsheet makes a run's thumbnails
    once its calls are done, at a low priority): the next measurement does not share the machine with them."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        before = sum(map(cpu_seconds, pids))
        time.sleep(1.0)
        if sum(map(cpu_seconds, pids)) - before < 0.05:
            return


def prompts(count: int, word: str) -> list[str]:
    return [f"a {word} lighthouse, number {number}" for number in range(count)]


def bare_pool(api_base: str, bodies: list[dict], concurrency: int) -> float:
    """Seconds for a pool of `concurrency` threads, one session each, to post every body and keep nothing."""
    sessions = threading.local()

    def post(body: dict) -> None:
        session = getattr(sessions, "session", None) or requests.Session()
        sessions.session = session
        answer = session.post(api_base + "/images/generations", json=body, timeout=60)
        answer.raise_for_status()
        answer.content  # read whole, as Proofsheet reads it

    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(post, bodies))
    return time.perf_counter() - started


def ask_pages(session: requests.Session, url: str, pages: dict[str, str], times: dict[str, list[float]]) -> dict:
    """Each page once, one after another, its time added to `times`; returns the run's state from its API page."""
    state: dict = {}
    for name, path in pages.items():
        time.sleep(PACE)
        started = time.perf_counter()
        answer = session.get(url + path, timeout=30)
        times.setdefault(name, []).append(time.perf_counter() - started)
        assert answer.status_code == 200, (path, answer.status_code)
        if name == "/api/runs/<id>":
            state = answer.json()
    return state


def page_times(url: str, pages: dict[str, str], rounds: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {}
    with requests.Session() as session:
        for _ in range(rounds):
            ask_pages(session, url, pages, times)
    return times


def start_run(url: str, texts: list[str], concurrency: int) -> int:
    answer = requests.post(url + "/api/runs", json={"prompts": texts, "targets": [TARGET],
                                                    "concurrency": concurrency, "name": "bench"}, timeout=60)
    assert answer.status_code == 201, answer.text
    return answer.json()["id"]


def run_while_paging(url: str, texts: list[str], concurrency: int) -> tuple[float, dict, dict[str, list[float]]]:
    """Start a run and ask the pages in turn until it ends: its wall time, its last state, the pages' times."""
    started = time.perf_counter()
    run_id = start_run(url, texts, concurrency)
    times: dict[str, list[float]] = {}
    with requests.Session() as session:
        state = ask_pages(session, url, main_pages(run_id), times)
        while state["status"] == "running" and time.perf_counter() - started < RUN_LIMIT:
            state = ask_pages(session, url, main_pages(run_id), times)
    return time.perf_counter() - started, state, times


def main_pages(run_id: int) -> dict[str, str]:
    """The pages measured, by the name they are reported under."""
    return {"/": "/", "/generations": "/generations", "/runs/<id>": f"/runs/{run_id}",
            "/api/runs/<id>": f"/api/runs/{run_id}"}


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def report_pages(before: dict[str, list[float]], after: dict[str, list[float]],
                 during: dict[str, list[float]]) -> None:
    """Each page's median idle (before and after the run together) and during the run, and all pages' together."""
    idle = {name: before[name] + after[name] for name in before}
    for name, idle_times in idle.items():
        during_times = during[name]
        print(f"  {name:<16} idle median {ms(statistics.median(idle_times))}   during {len(during_times)} asks: "
              f"median {ms(statistics.median(during_times))} "
              f"({statistics.median(during_times) / statistics.median(idle_times):.2f}x), "
              f"slowest {ms(max(during_times))}")
    idle_all = statistics.median([t for times in idle.values() for t in times])
    during_all = statistics.median([t for times in during.values() for t in times])
    print(f"pages, asked one every {PACE:g} s: idle median {ms(idle_all)}   during the run {ms(during_all)}   -> ratio "
          f"{during_all / idle_all:.2f}x (goal <= 1.3x)")


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cells", type=int, default=2000, help="cells in the run (default 2000)")
    parser.add_argument("--concurrency", type=int, default=8, help="the run's concurrency and the pool's threads")
    parser.add_argument("--pace", type=float, default=PACE, help=f"seconds between pages asked (default {PACE})")
    return parser.parse_args()


def main() -> None:
    args = arguments()
    global PACE
    PACE = args.pace
    texts = prompts(args.cells, "stormy")
    bodies = [{"prompt": text, **TARGET} for text in texts]
    with demo_server("--delay", DELAY) as demo, tempfile.TemporaryDirectory() as data, \
            app_server(demo.url + "/v1", data) as app:
        warm_up = start_run(app.url, prompts(2 * args.concurrency, "calm"), args.concurrency)
        bare_pool(demo.url + "/v1", [{"prompt": text, **TARGET} for text in prompts(2 * args.concurrency, "calm")],
                  args.concurrency)
        while requests.get(f"{app.url}/api/runs/{warm_up}", timeout=30).json()["status"] == "running":
            time.sleep(0.1)
        workers = children(app.popen.pid)  # started by the warm-up run, and living as long as the app
        settle([app.popen.pid, *workers])
        idle_before = page_times(app.url, main_pages(warm_up), IDLE_ROUNDS)
        demo_cpu, pool_cpu = cpu_seconds(demo.popen.pid), time.process_time()
        bare_before = bare_pool(demo.url + "/v1", bodies, args.concurrency)
        bare_cpu = (cpu_seconds(demo.popen.pid) - demo_cpu, time.process_time() - pool_cpu)
        demo_cpu, app_cpu = cpu_seconds(demo.popen.pid), cpu_seconds(app.popen.pid)
        workers_cpu = sum(map(cpu_seconds, workers))
        run_seconds, state, during = run_while_paging(app.url, texts, args.concurrency)
        settle([app.popen.pid, *workers])  # the thumbnails made after the run count in its CPU
        run_cpu = (cpu_seconds(demo.popen.pid) - demo_cpu, cpu_seconds(app.popen.pid) - app_cpu,
                   sum(map(cpu_seconds, workers)) - workers_cpu)
        bare_after = bare_pool(demo.url + "/v1", bodies, args.concurrency)
        idle_after = page_times(app.url, main_pages(state["id"]), IDLE_ROUNDS)
    bare = (bare_before + bare_after) / 2
    print(f"{args.cells} cells, concurrency {args.concurrency}, demo server answering in {float(DELAY) * 1000:.0f} ms; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"  the run ended {state.get('status')}: {state.get('done')} done, {state.get('failed')} failed, "
          f"{state.get('pending')} left")
    print(f"orchestration: bare pool {bare_before:.2f} s before, {bare_after:.2f} s after (mean {bare:.2f} s)   "
          f"run {run_seconds:.2f} s   -> ratio {run_seconds / bare:.2f}x (goal <= 1.2x)")
    print(f"  CPU a cell: bare pool {ms(bare_cpu[1] / args.cells)} + demo server {ms(bare_cpu[0] / args.cells)}   "
          f"run: Proofsheet's run workers {ms(run_cpu[2] / args.cells)} (thumbnails included) + its web process {ms(run_cpu[1] / args.cells)} "
          f"(the pages asked meanwhile) + demo server {ms(run_cpu[0] / args.cells)}")
    report_pages(idle_before, idle_after, during)


if __name__ == "__main__":
    main()
