"""The room votes: a presenter opens a blind round to the room, phones vote on the voters' listener (a real waitress
on 127.0.0.2), the projector's page follows the tally, and closing reveals the names with the room's split."""
import ipaddress
import re
import socket
import statistics
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from proofsheet import settings
from proofsheet.web.voters import room_host
from tests.support import (Voter, arena_round, open_to_room, start_app_process, stop_process, free_port,
                           run_app_command, voter_address)


def test_opening_without_a_voters_listener_says_how_to_start_one(client):
    round_id = arena_round(client)
    answer = client.post(f"/api/arena/{round_id}/room")
    assert answer.status_code == 409
    assert "--room ADDRESS:PORT" in answer.get_json()["error"]["message"]
    assert "Needs the voters' listener" in client.get(f"/arena/{round_id}").get_data(as_text=True)


def test_without_a_voters_listener_the_open_buttons_are_off_and_say_how_to_start_one(client):
    from tests.support.tournament import finished_run
    round_id = arena_round(client)
    run = finished_run(client, [{"model": "flux"}, {"model": "sdxl-turbo"}])
    for path in (f"/arena/{round_id}", f"/runs/{run['id']}/tournament"):
        page = client.get(path).get_data(as_text=True)
        button = re.search(r'<button type="submit" id="room-open"[^>]*>', page).group(0)
        assert " disabled" in button, path
        assert "start Proofsheet with <code>--room 0.0.0.0:5001</code>" in page, path


def test_a_room_that_cannot_open_brings_the_person_back_to_the_page_they_were_on_saying_why(client):
    from tests.support.tournament import finished_run
    run = finished_run(client, [{"model": "flux"}, {"model": "sdxl-turbo"}])
    pair = client.post(f"/api/runs/{run['id']}/tournament/next").get_json()
    answer = client.post(f"/arena/{pair['id']}/room", data={"from": "tournament"})
    assert answer.status_code == 303 and answer.location.endswith(f"/runs/{run['id']}/tournament")
    page = client.get(answer.location)
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "No voters&#39; listener is running" in text and "--room 0.0.0.0:5001" in text
    assert "Something went wrong" not in text and f'data-round-id="{pair["id"]}"' in text  # the same pair, to vote
    assert "No voters&#39; listener" not in client.get(answer.location).get_data(as_text=True)  # said once

    round_id = arena_round(client)  # from the arena's own round page, back to it
    answer = client.post(f"/arena/{round_id}/room")
    assert answer.status_code == 303 and answer.location.endswith(f"/arena/{round_id}")
    assert "No voters&#39; listener is running" in client.get(answer.location).get_data(as_text=True)


def test_a_judged_round_opened_from_its_page_comes_back_to_it_saying_so(presenter):
    round_id = arena_round(presenter)
    presenter.post(f"/api/arena/{round_id}/vote", json={"winner": "A"})
    answer = presenter.post(f"/arena/{round_id}/room", follow_redirects=True)
    assert answer.status_code == 200 and answer.request.path == f"/arena/{round_id}"
    assert "This round already has its vote." in answer.get_data(as_text=True)


def test_opening_gives_a_short_url_on_the_voters_listener_and_a_qr_code(presenter):
    round_id = arena_round(presenter)
    answer = presenter.post(f"/api/arena/{round_id}/room").get_json()
    base, token = answer["url"].rsplit("/r/", 1)
    assert base.startswith("http://127.0.0.2:") and len(token) == 8 and token != str(round_id)
    assert answer["qr"].startswith("data:image/svg+xml")
    assert presenter.post(f"/api/arena/{round_id}/room").get_json()["url"] == answer["url"]  # pressed twice


def test_a_phone_votes_with_a_plain_form_and_may_change_its_mind(presenter):
    round_id = arena_round(presenter)
    url = open_to_room(presenter, round_id)
    phone = Voter()
    page = phone.open(url)
    assert page.status_code == 200 and "HttpOnly" in page.headers["Set-Cookie"]
    assert "SameSite=Lax" in page.headers["Set-Cookie"]
    voted = phone.vote(url, "A")
    assert voted.history[0].status_code == 303 and "Your vote: A." in voted.text
    phone.vote(url, "tie")
    assert presenter.get(f"/api/arena/{round_id}/tally").get_json() == {
        "open": True, "voters": 1, "votes": {"A": 0, "B": 0, "tie": 1, "both_bad": 0}}


def test_nothing_on_the_phone_names_a_contender_until_the_vote_closes(presenter, room_app):
    round_id = arena_round(presenter)
    url = open_to_room(presenter, round_id)
    phone = Voter()
    before = phone.open(url).text
    group = room_app.extensions["store"].group(room_app.extensions["arena"].get(round_id).group_id)
    secrets_ = ["flux", "sdxl-turbo", "default", "/images/", "/generations/", f"/arena/{round_id}"]
    secrets_ += [image.sha256 for generation in group.generations for image in generation.shown_images]
    assert [word for word in secrets_ if word in before] == []
    for label in "AB":
        image = phone.session.get(f"{url}/{label}")
        assert image.headers["Content-Type"] == "image/png" and "Content-Disposition" not in image.headers
    phone.vote(url, "B")
    presenter.post(f"/api/arena/{round_id}/room/close")
    after = phone.open(url).text
    assert "The vote is closed" in after and "flux" in after and "sdxl-turbo" in after and "B won" in after


@pytest.mark.parametrize("votes, outcome", [
    (["A", "A", "B"], "A"),
    (["A", "B"], "tie"),  # a tie of the room is a tie
    (["both_bad", "both_bad", "A"], "both_bad"),
    (["tie"], "tie"),
])
def test_closing_makes_the_rooms_majority_the_rounds_one_vote(presenter, votes, outcome):
    round_id = arena_round(presenter)
    url = open_to_room(presenter, round_id)
    for choice in votes:
        assert Voter().vote(url, choice).status_code == 200
    closed = presenter.post(f"/api/arena/{round_id}/room/close").get_json()
    assert closed["open"] is False and closed["vote"] == outcome and closed["voters"] == len(votes)
    standings = presenter.get("/api/arena/leaderboard").get_json()["standings"]
    assert {standing["votes"] for standing in standings} == {1}  # one round, one comparison, however many phones


def test_the_projector_shows_the_code_the_bars_and_then_the_reveal_with_the_split(presenter):
    round_id = arena_round(presenter)
    presenter.post(f"/arena/{round_id}/room")
    page = presenter.get(f"/arena/{round_id}").get_data(as_text=True)
    assert 'class="room-qr" src="data:image/svg+xml' in page and "http://127.0.0.2:" in page
    assert page.count("<progress") == 4 and 'name="winner"' not in page  # the room votes, not the laptop
    url = open_to_room(presenter, round_id)  # the same URL again
    for choice in ("A", "A", "B"):
        Voter().vote(url, choice)
    presenter.post(f"/arena/{round_id}/room/close")
    reveal = presenter.get(f"/arena/{round_id}").get_data(as_text=True)
    assert "The room's split" in reveal and "A won" in reveal and "67</span>%" in reveal
    assert "flux" in reveal and "sdxl-turbo" in reveal and "room-qr" not in reveal


def test_closing_with_no_votes_leaves_the_round_to_the_laptop(presenter):
    round_id = arena_round(presenter)
    open_to_room(presenter, round_id)
    presenter.post(f"/arena/{round_id}/room/close")
    page = presenter.get(f"/arena/{round_id}").get_data(as_text=True)
    assert "no one voted" in page and 'name="winner"' in page
    assert presenter.post(f"/api/arena/{round_id}/vote", json={"winner": "B"}).status_code == 200


def test_a_judged_round_cannot_be_opened(presenter):
    round_id = arena_round(presenter)
    presenter.post(f"/api/arena/{round_id}/vote", json={"winner": "A"})
    answer = presenter.post(f"/api/arena/{round_id}/room")
    assert answer.status_code == 409 and answer.get_json()["error"]["kind"] == "already_voted"


def test_the_tally_is_told_on_the_events_stream_throttled_and_the_last_vote_always(presenter, room_app):
    round_id = arena_round(presenter)
    url = open_to_room(presenter, round_id)
    listener = room_app.extensions["runner"].events.subscribe()
    try:
        for _ in range(30):
            Voter().vote(url, "A")
        time.sleep(0.6)
        told = []
        while (event := listener.next(timeout=0.05)) is not None:
            if event["type"] == "room":
                told.append(event)
    finally:
        listener.close()
    assert 1 <= len(told) < 30
    assert told[-1] == {"type": "room", "id": round_id, "open": True, "voters": 30,
                        "votes": {"A": 30, "B": 0, "tie": 0, "both_bad": 0}}


@pytest.fixture
def room_process(tmp_path, demo_server):
    """`python app.py --room 127.0.0.2:PORT` in its own process (so the phones' threads here do not share its
    interpreter): (presenter's URL, a round open to the room, its voters' URL)."""
    port = free_port()
    process, url = start_app_process(tmp_path / "data", demo_server.api_base, "--room", f"127.0.0.2:{port}")
    try:
        round_id = requests.post(url + "/api/arena", timeout=30, json={
            "prompt": "a fox", "contenders": [{"model": "flux"}, {"model": "sdxl-turbo"}]}).json()["id"]
        room_url = requests.post(f"{url}/api/arena/{round_id}/room", timeout=10).json()["url"]
        yield url, round_id, room_url
    finally:
        stop_process(process)


def _paced(action, count: int, pace: float) -> list:
    """`action(index)` for `count` indexes, each started `pace` seconds after the last, 32 at most at once."""
    started = time.monotonic()

    def at_its_time(index: int):
        time.sleep(max(0.0, started + index * pace - time.monotonic()))
        return action(index)

    with ThreadPoolExecutor(32) as pool:
        return list(pool.map(at_its_time, range(count)))


def _p95(timings: list[float]) -> float:
    return statistics.quantiles(timings, n=20)[-1]


def test_two_hundred_phones_voting_within_ten_seconds_are_all_counted_and_answered_quickly(room_process):
    presenter_url, round_id, url = room_process
    timings = []  # each request's own time, to its answer's headers (requests' `elapsed`)

    def phone(index: int) -> int:
        voter = Voter(voter_address(index))
        timings.append(voter.open(url).elapsed.total_seconds())
        answer = voter.vote(url, "AB"[index % 2])
        timings.extend(step.elapsed.total_seconds() for step in (*answer.history, answer))
        voter.close()
        return answer.status_code

    started = time.monotonic()
    statuses = _paced(phone, 200, 0.04)  # arriving over 8 s, as a room scans the code
    assert time.monotonic() - started < 10
    assert statuses == [200] * 200
    tally = requests.get(f"{presenter_url}/api/arena/{round_id}/tally", timeout=10).json()
    assert tally["voters"] == 200 and tally["votes"]["A"] == tally["votes"]["B"] == 100
    # The goal is 200 ms. A machine too busy to serve even a static file from the same listener that fast, at the
    # same pace, in this same run, is held to twice that file's figure instead: the tail is then the machine's.
    stylesheet = _paced(lambda index: Voter(voter_address(500 + index)).session.get(
        url.split("/r/")[0] + "/s/proofsheet.css", timeout=10).elapsed.total_seconds(), 600, 0.04 / 3)
    assert _p95(timings) <= max(0.2, 2 * _p95(stylesheet)), \
        f"p95 {_p95(timings):.3f} s; the stylesheet's in this run: {_p95(stylesheet):.3f} s"


def test_the_room_starts_from_the_command_line_on_its_own_address(room_process):
    presenter_url, round_id, url = room_process
    assert url.startswith("http://127.0.0.2:")
    assert Voter().vote(url, "B").status_code == 200
    voters_base = url.split("/r/")[0]
    assert requests.get(f"{voters_base}/api/arena/{round_id}/tally", timeout=5).status_code == 404
    assert requests.get(f"{presenter_url}/api/arena/{round_id}/tally", timeout=5).json()["voters"] == 1


@pytest.mark.parametrize("given", ["5001", "0.0.0.0", "host:port", "127.0.0.2:70000"])
def test_a_room_address_that_is_not_address_and_port_stops_start_up_in_one_line(given):
    status, output = run_app_command("--room", given)
    assert status != 0 and "must be ADDRESS:PORT" in output and "Traceback" not in output


def test_a_room_port_in_use_stops_start_up_in_one_line(tmp_path, demo_server):
    with socket.socket() as taken:  # a port taken by someone else: start-up says so in one line
        taken.bind(("127.0.0.2", 0))
        taken.listen()
        status, output = run_app_command("--api-base", demo_server.api_base, "--port", str(free_port()),
                                         "--room", f"127.0.0.2:{taken.getsockname()[1]}",
                                         env={"PROOFSHEET_DATA": str(tmp_path / "data")})
    assert status == 2 and "already in use" in output and "--room" in output and "Traceback" not in output


def test_the_room_can_be_set_in_the_environment_too():
    assert settings.from_environment({"PROOFSHEET_ROOM": "[::1]:5001"})["ROOM"] == ("::1", 5001)
    assert "PROOFSHEET_ROOM" in settings.VARIABLES  # so --help lists it


def test_the_address_phones_are_given_is_this_machines_on_the_network_when_listening_on_every_one():
    assert room_host("127.0.0.2") == ("127.0.0.2", None)
    shown, note = room_host("0.0.0.0")
    assert shown != "0.0.0.0"
    assert (note is None) != ipaddress.ip_address(shown).is_loopback  # a loopback address comes with a warning


def test_a_runs_tournament_pair_opened_to_the_room_counts_the_rooms_majority_and_leads_on_to_the_next_pair(presenter):
    from tests.support.tournament import finished_run
    run = finished_run(presenter, [{"model": "flux"}, {"model": "sdxl-turbo"}])
    pair = presenter.post(f"/api/runs/{run['id']}/tournament/next").get_json()
    assert "Open this pair to the room" in presenter.get(f"/runs/{run['id']}/tournament").get_data(as_text=True)
    url = open_to_room(presenter, pair["id"])
    for choice in ("B", "B", "A"):
        Voter().vote(url, choice)
    presenter.post(f"/api/arena/{pair['id']}/room/close")
    board = presenter.get(f"/api/runs/{run['id']}/leaderboard").get_json()
    assert board["votes"] == 1
    page = presenter.get(f"/arena/{pair['id']}").get_data(as_text=True)
    assert "Next pair of the run" in page and f"/runs/{run['id']}/tournament" in page


def test_while_the_room_votes_the_laptop_cannot_vote_the_round_too(presenter):
    round_id = arena_round(presenter)
    url = open_to_room(presenter, round_id)
    answer = presenter.post(f"/api/arena/{round_id}/vote", json={"winner": "A"})
    assert answer.status_code == 409 and "The room is voting" in answer.get_json()["error"]["message"]
    Voter().vote(url, "B")
    presenter.post(f"/api/arena/{round_id}/room/close")
    assert presenter.get(f"/api/arena/{round_id}").get_json()["vote"] == "B"  # the room's, counted once
