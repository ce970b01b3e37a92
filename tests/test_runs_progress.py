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
from proofsheet.web.templating import per_minute, time_left


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


def running_since(book, run_id, seconds_ago):
    book.store.db.execute("UPDATE runs SET running_since=? WHERE id=?", (time.time() - seconds_ago, run_id))


def test_the_rate_is_measured_over_the_last_minutes_and_gives_the_time_left(book):
    run_id = book.create("kites", [{"model": "flux", "server": "default"}], 1, 2, planned(10))
    running_since(book, run_id, RATE_WINDOW + 120)
    now = time.time()
    finish_next(book, run_id, "done", finished_at=now - RATE_WINDOW - 60)  # too long ago to count in the rate
    for seconds_ago in (200, 100, 50, 20, 10):
        finish_next(book, run_id, "done", finished_at=now - seconds_ago)
    shown = progress(book, run_id)
    assert shown["rate_per_minute"] == 1.0  # 5 finished in the last 300 s
    assert 235 <= shown["eta_s"] <= 245  # 4 left at one a minute


def test_the_rate_counts_from_when_the_run_began_running_not_from_its_first_cell(book):
    run_id = book.create("kites", [{"model": "flux", "server": "default"}], 1, 8, planned(10))
    running_since(book, run_id, 40)
    now = time.time()
    for _ in range(3):  # three cells finishing together, as a run sending several at once finishes them
        finish_next(book, run_id, "done", finished_at=now - 0.001)
    finish_next(book, run_id, "failed", finished_at=now)
    shown = progress(book, run_id)
    assert 5.9 <= shown["rate_per_minute"] <= 6.0  # 4 in the 40 s since it began, not 3 in a thousandth of a second
    assert 59 <= shown["eta_s"] <= 61  # 6 left at one every 10 s


def test_a_resumed_run_counts_its_rate_from_the_resume(book):
    run_id = book.create("kites", [{"model": "flux", "server": "default"}], 1, 2, planned(10))
    running_since(book, run_id, 200)
    finish_next(book, run_id, "done", finished_at=time.time() - 190)
    assert book.set_status(run_id, "paused") and book.set_status(run_id, "running")
    assert progress(book, run_id)["rate_per_minute"] is None  # nothing finished since the resume, a moment ago
    assert book.get(run_id).running_since >= time.time() - 1


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


@pytest.mark.parametrize("rate, shown", [
    (15499.06, "15,499 a minute"), (59.67, "60 a minute"), (4.5, "4.5 a minute"), (6.0, "6 a minute"),
    (0.25, "one every 4 min")])
def test_the_rate_reads_as_a_person_would_say_it(rate, shown):
    assert per_minute(rate) == shown


@pytest.mark.parametrize("seconds, shown", [
    (2, "about 2 s left"), (42, "about 40 s left"), (58, "about 1 min left"), (754, "about 13 min left"),
    (3600, "about 1 h left"), (12_000, "about 3 h 20 min left")])
def test_the_time_left_never_reads_as_zero_minutes_or_tenths(seconds, shown):
    assert time_left(seconds) == shown
