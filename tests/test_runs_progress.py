"""How far a run is, counted in one pass over its cells: by status, the cost of those done, the rate over the last
minutes and the time left; and the thumbnails' thread, which gives way to a run's workers and the pages."""
import os
import sys
import threading
import time

import pytest

from proofsheet.history.files import THUMBNAIL_NICENESS
from proofsheet.history.runs import RATE_WINDOW, PlannedCell, RunBook
from proofsheet.history.store import Store
from proofsheet.running.runs import progress


@pytest.fixture
def book(tmp_path):
    store = Store(tmp_path)
    yield RunBook(store)
    store.close()


def planned(count):
    return [PlannedCell(number, 0, 0, "default", {"model": "flux", "prompt": f"a kite {number}"})
            for number in range(count)]


def finish_next(book, run_id, status, cost=None, finished_at=None):
    cell = book.claim(run_id, "default")
    book.finish(cell.id, status, None, ("refused", "No.") if status == "failed" else None, cost)
    if finished_at is not None:
        book.store.db.execute("UPDATE run_cells SET finished_at=? WHERE id=?", (finished_at, cell.id))


def test_progress_counts_the_cells_by_status_and_the_cost_of_those_priced(book):
    run_id = book.create("kites", [{"model": "flux", "server": "default"}], 1, 2, planned(6))
    finish_next(book, run_id, "done", cost=0.04)
    finish_next(book, run_id, "done", cost=0.04)
    finish_next(book, run_id, "done")  # no price known for it
    finish_next(book, run_id, "failed")
    book.claim(run_id, "default")  # in flight
    shown = progress(book, run_id)
    assert (shown["done"], shown["failed"], shown["sending"], shown["pending"]) == (3, 1, 1, 2)
    assert (shown["cost_usd"], shown["priced_cells"]) == (0.08, 2)


def test_the_rate_is_measured_over_the_last_minutes_and_gives_the_time_left(book):
    run_id = book.create("kites", [{"model": "flux", "server": "default"}], 1, 2, planned(10))
    now = time.time()
    finish_next(book, run_id, "done", finished_at=now - RATE_WINDOW - 60)  # too long ago to count in the rate
    for seconds_ago in (30, 20, 10):
        finish_next(book, run_id, "done", finished_at=now - seconds_ago)
    finish_next(book, run_id, "failed", finished_at=now)
    shown = progress(book, run_id)
    assert shown["rate_per_minute"] == 6.0  # 4 finished in the 30 s from the first of them to the last: 3 in 30 s
    assert shown["eta_s"] == 50  # 5 left at one every 10 s


def test_a_run_with_nothing_finished_yet_has_no_rate_and_no_time_left(book):
    run_id = book.create("kites", [{"model": "flux", "server": "default"}], 1, 2, planned(3))
    shown = progress(book, run_id)
    assert (shown["pending"], shown["rate_per_minute"], shown["eta_s"], shown["cost_usd"]) == (3, None, None, 0)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a thread's own niceness is Linux's")
def test_thumbnails_are_made_on_a_thread_that_gives_way_to_the_rest(book):
    own = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    thumbnails = book.store.files.thumbnailer.submit(
        lambda: os.getpriority(os.PRIO_PROCESS, threading.get_native_id())).result(timeout=10)
    assert thumbnails == min(19, own + THUMBNAIL_NICENESS)
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == own  # the rest of Proofsheet is left as it was
