"""The blind vote (arena): one prompt, two to four contenders behind letters; the audience votes, then the names show.

Before the vote, nothing the page shows or fetches names a model or a server: images are addressed by their content
hash, failures are told without their message (it may name the model), and links to the generations come with the
reveal.
"""
from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, jsonify, redirect, render_template, request, url_for

from proofsheet.asking.compare import parse_arena
from proofsheet.asking.generation import RequestErrors
from proofsheet.history.arena import ArenaRound
from proofsheet.results import Problem
from proofsheet.web.context import (arena_book, asker_gone, id_arg, json_body, on_named_server, runner, store,
                                    unknown_server, valid)
from proofsheet.web.errors import api_error, refusal, status_of
from proofsheet.web.forms import compare_fields
from proofsheet.web.guards import csrf_exempt, json_api_paths_only
from proofsheet.web.voting import cast_vote as _vote, round_and_group as _round  # shared with a run's tournament

arena = Blueprint("arena", __name__)


arena.before_request(json_api_paths_only)  # no CSRF token on /api/: JSON only, never from a foreign page


@arena.get("/arena")
def arena_form() -> str:
    values: dict[str, Any] = {"targets": []}
    earlier = arena_book().get(id_arg("from"))
    group = store().group(earlier.group_id) if earlier and earlier.voted else None
    if earlier and group:  # the same contenders again; only after the vote, so that no name shows before one
        values = {"prompt": group.prompt, "category": earlier.category or "",
                  "targets": [{"server": c.server, "model": c.model} for c in sorted(earlier.contenders,
                                                                                     key=lambda c: c.position)]}
    return render_template("arena.html", values=values, errors={})


@arena.post("/arena")
def arena_start() -> Any:
    fields = compare_fields(request.form)
    parsed = parse_arena(on_named_server(fields), from_form=True)
    problem = None if isinstance(parsed, RequestErrors) else unknown_server(*parsed.compare.cells)
    if isinstance(parsed, RequestErrors) or problem:
        errors = parsed if isinstance(parsed, RequestErrors) else {"targets": problem.message}
        return render_template("arena.html", values=fields, errors=errors), 400
    started = _run(parsed)
    if isinstance(started, Problem):
        return render_template("arena.html", values=fields, errors={"form": started.message}), \
            status_of(started.kind)
    return redirect(url_for("arena.round_page", round_id=started.id), code=303)


@arena.get("/arena/<id:round_id>")
def round_page(round_id: int) -> str:
    found, group = _round(round_id)
    return render_template("arena_round.html", round=found, group=group,
                           shown=found.reveal(group) if found.voted else found.blind(group))


@arena.post("/arena/<id:round_id>/vote")
def vote_form(round_id: int) -> Any:
    problem = _vote(*_round(round_id), request.form.get("winner"))
    if problem and problem[0] != 409:  # already judged, or still running: the round's page says which
        abort(problem[0], problem[2])
    return redirect(url_for("arena.round_page", round_id=round_id), code=303)


@arena.get("/arena/leaderboard")
def leaderboard_page() -> str:
    category = request.args.get("category", "").strip()[:60] or None
    return render_template("leaderboard.html", standings=arena_book().leaderboard(category), category=category,
                           categories=arena_book().categories())


@arena.post("/api/arena")
@csrf_exempt
def api_arena() -> Any:
    body = json_body()
    parsed = valid(parse_arena(on_named_server(body)))
    started = _run(parsed)
    if isinstance(started, Problem):
        return refusal(started)
    _, group = _round(started.id)
    return jsonify(started.blind(group)), 201


@arena.get("/api/arena/<id:round_id>")
def api_round(round_id: int) -> Any:
    found, group = _round(round_id)
    return jsonify(found.reveal(group) if found.voted else found.blind(group))


@arena.post("/api/arena/<id:round_id>/vote")
@csrf_exempt
def api_vote(round_id: int) -> Any:
    problem = _vote(*_round(round_id), json_body().get("winner"))
    if problem:
        return api_error(*problem)
    found, group = _round(round_id)
    return jsonify(found.reveal(group))


@arena.get("/api/arena/leaderboard")
def api_leaderboard() -> Any:
    category = request.args.get("category", "").strip()[:60] or None
    return jsonify({"category": category, "standings": [s.to_dict() for s in arena_book().leaderboard(category)],
                    "categories": arena_book().categories()})


def _run(parsed: Any) -> ArenaRound | Problem:
    rounds: list[ArenaRound] = []
    cells = [cell.to_cell() for cell in parsed.compare.cells]
    group = runner().compare(parsed.compare, gone=asker_gone(),  # the round first: no name shows while they run
                             on_start=lambda group_id: rounds.append(arena_book().start(group_id, cells,
                                                                                         parsed.category)))
    return group if isinstance(group, Problem) else rounds[0]
