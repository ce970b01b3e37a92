"""A run's blind tournament: pairs of its targets on the same prompt, one after another in the arena's voting view,
and the run's leaderboard (Bradley–Terry standings with intervals, and a win-rate matrix).

Each pair is an arena round whose category is the run's name: it is voted as any round is (the keys of arena.js,
`POST /api/arena/<id>/vote`), and its vote counts in the arena's leaderboard too. Before its vote nothing a pair's
page or JSON shows names a target: images by their content hash, letters in random order.
"""
from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, jsonify, redirect, render_template, request, url_for

from proofsheet.history.runs import Run
from proofsheet.history.tournament import run_standings, target_name, win_matrix
from proofsheet.results import Problem
from proofsheet.web.context import id_arg, run_book, tournament_book
from proofsheet.web.errors import api_error
from proofsheet.web.guards import csrf_exempt, json_api_paths_only
from proofsheet.web.voting import cast_vote, round_and_group

tournament = Blueprint("tournament", __name__)
tournament.before_request(json_api_paths_only)  # no CSRF token on /api/: JSON only, never from a foreign page


@tournament.app_context_processor
def tournament_helpers() -> dict[str, Any]:
    """For the arena's round page: the run a pair belongs to, so its reveal leads on to the run's next pair."""
    return {"tournament_run_of": lambda found: tournament_book().run_of(found.id)}


@tournament.get("/runs/<id:run_id>/tournament")
def tournament_page(run_id: int) -> str:
    """The pair to judge (the open one, or one drawn now), and the reveal of the pair judged just before."""
    run = run_book().get(run_id) or abort(404)
    drawn = tournament_book().next_round(run)
    shown: dict[str, Any] = {"round": None, "problem": drawn} if isinstance(drawn, Problem) else _blind(drawn.id)
    return render_template("tournament.html", run=run, last=_last_reveal(run_id), **shown,
                           votes=len(tournament_book().judged(run_id)))


@tournament.post("/runs/<id:run_id>/tournament/<id:round_id>/vote")
def vote_form(run_id: int, round_id: int) -> Any:
    """Without JavaScript: the vote, then the next pair (with this one's reveal)."""
    if tournament_book().round_of(run_id, round_id) is None:
        abort(404)
    problem = cast_vote(*round_and_group(round_id), request.form.get("winner"))
    if problem and problem[0] != 409:  # already judged: the next pair is what the person wants anyway
        abort(problem[0], problem[2])
    return redirect(url_for("tournament.tournament_page", run_id=run_id, last=round_id), code=303)


@tournament.get("/runs/<id:run_id>/leaderboard")
def leaderboard_page(run_id: int) -> str:
    run = run_book().get(run_id) or abort(404)
    return render_template("run_leaderboard.html", run=run, **_results(run))


@tournament.post("/api/runs/<id:run_id>/tournament/next")
@csrf_exempt
def api_next(run_id: int) -> Any:
    """The pair to judge, blind, as the arena answers a round; 409 saying why when there is none."""
    run = run_book().get(run_id)
    if run is None:
        return api_error(404, "not_found", f"There is no run {run_id}.")
    drawn = tournament_book().next_round(run)
    if isinstance(drawn, Problem):
        return api_error(409, drawn.kind, drawn.message)
    found, group = round_and_group(drawn.id)
    return jsonify({**found.blind(group), "run": run_id})


@tournament.get("/api/runs/<id:run_id>/leaderboard")
def api_leaderboard(run_id: int) -> Any:
    run = run_book().get(run_id)
    if run is None:
        return api_error(404, "not_found", f"There is no run {run_id}.")
    results = _results(run)
    names = results["names"]
    return jsonify({"run": run_id, "category": run.name, "votes": results["votes"], "targets": names,
                    "standings": [standing.to_dict() for standing in results["standings"]],
                    "matrix": [{"target": names[row], "against": [{"opponent": names[column], **record.to_dict()}
                                                                  for column, record in enumerate(records) if record]}
                               for row, records in enumerate(results["matrix"])],
                    "arena_leaderboard": url_for("arena.leaderboard_page", category=run.name)})


def _blind(round_id: int) -> dict[str, Any]:
    found, group = round_and_group(round_id)
    return {"round": found, "shown": found.blind(group), "problem": None}


def _last_reveal(run_id: int) -> dict[str, Any] | None:
    """The pair named by ?last=, after its vote only (never a name before one), if it is one of this run's."""
    found = tournament_book().round_of(run_id, id_arg("last"))
    if found is None or not found.voted:
        return None
    found, group = round_and_group(found.id)
    return {"round": found, "shown": found.reveal(group)}


def _results(run: Run) -> dict[str, Any]:
    judged = tournament_book().judged(run.id)
    return {"votes": len(judged), "names": [target_name(target) for target in run.targets],
            "standings": run_standings(run.targets, judged), "matrix": win_matrix(run.targets, judged)}
