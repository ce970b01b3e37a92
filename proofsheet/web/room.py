"""The presenter's side of the room vote: open an arena round to the room (a QR code and a short URL on the voters'
listener), follow its tally, close it. The voters' own pages are a separate app on their own listener
(proofsheet/web/voters.py); nothing here is reachable from there.
"""
from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, get_flashed_messages, jsonify, redirect, request, url_for

from proofsheet.history.arena import ArenaRound
from proofsheet.web.context import arena_book, room, store, tournament_book
from proofsheet.web.errors import api_error
from proofsheet.web.guards import csrf_exempt, json_api_paths_only

room_pages = Blueprint("room", __name__)
room_pages.before_request(json_api_paths_only)  # no CSRF token on /api/: JSON only, never from a foreign page

NOT_LISTENING = ("No voters' listener is running, so the room could not reach a vote. Start Proofsheet with "
                 "--room ADDRESS:PORT (for example --room 0.0.0.0:5001) and open the round again.")
ROOM_NOTICE = "room"  # the flashed messages' category: what the room could not do, said on the page it was asked from


@room_pages.app_context_processor
def room_helpers() -> dict[str, Any]:
    return {"room_of": room_view, "room_notices": lambda: get_flashed_messages(category_filter=[ROOM_NOTICE])}


@room_pages.post("/api/arena/<id:round_id>/room")
@csrf_exempt
def api_open(round_id: int) -> Any:
    problem = _open_problem(_round(round_id))
    if problem:
        return api_error(*problem)
    opened = room().open(_round(round_id))
    return jsonify({"url": room().url_of(opened), "qr": room().qr_of(opened)}), 201


@room_pages.get("/api/arena/<id:round_id>/tally")
def api_tally(round_id: int) -> Any:
    return jsonify(room().book.tally(_round(round_id)).to_dict())


@room_pages.post("/api/arena/<id:round_id>/room/close")
@csrf_exempt
def api_close(round_id: int) -> Any:
    found = _round(round_id)
    if room().book.get(round_id) is None:
        return api_error(409, "not_open", "This round was never opened to the room.")
    tally = room().close(found)
    return jsonify({**tally.to_dict(), "vote": arena_book().get(round_id).vote})  # type: ignore[union-attr]


@room_pages.post("/arena/<id:round_id>/room")
def open_form(round_id: int) -> Any:
    """Without JavaScript: the round's page with the QR code; when the room cannot be opened, back to the page the
    button was on (the round's, or the run's tournament) saying why."""
    problem = _open_problem(_round(round_id))
    if problem:
        flash(problem[2], ROOM_NOTICE)
        return redirect(_asked_from(round_id), code=303)
    room().open(_round(round_id))
    return redirect(url_for("arena.round_page", round_id=round_id), code=303)


@room_pages.post("/arena/<id:round_id>/room/close")
def close_form(round_id: int) -> Any:
    found = _round(round_id)
    if room().book.get(round_id) is not None:
        room().close(found)
    return redirect(url_for("arena.round_page", round_id=round_id), code=303)


def room_view(found: ArenaRound) -> dict[str, Any]:
    """What the round's page shows of the room: whether it can be opened, its URL and QR code, the tally."""
    kept = room().book.get(found.id)
    view: dict[str, Any] = {"listening": room().base_url is not None, "opened": kept is not None,
                            "note": room().address_note, "tally": room().book.tally(found)}
    if kept is not None and view["tally"].open and view["listening"]:
        view.update(url=room().url_of(kept), qr=room().qr_of(kept))
    return view


def _open_problem(found: ArenaRound) -> tuple[int, str, str] | None:
    """(status, kind, message) when the round cannot be opened to the room, else None."""
    if room().base_url is None:
        return 409, "no_room_listener", NOT_LISTENING
    if found.voted:
        return 409, "already_voted", "This round already has its vote."
    group = store().group(found.group_id)
    if group is None or found.waiting(group):
        return 409, "still_running", "Some contenders are still being made: open the round once every image is back."
    kept = room().book.get(found.id)
    if kept is not None and kept.closed:
        return 409, "closed", "The room's vote on this round is closed."
    return None


def _asked_from(round_id: int) -> str:
    """The page the room was asked for from: a run's tournament (said by the form, and only for one of its pairs),
    else the round's own page."""
    run_id = tournament_book().run_of(round_id) if request.form.get("from") == "tournament" else None
    if run_id is not None:
        return url_for("tournament.tournament_page", run_id=run_id)
    return url_for("arena.round_page", round_id=round_id)


def _round(round_id: int) -> ArenaRound:
    found = arena_book().get(round_id)
    return found if found is not None else abort(404)
