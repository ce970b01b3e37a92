"""The slideshow: a comparison, an arena round or a selection, one image at a time, filling the screen."""
from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, abort, render_template, request

from proofsheet.history.records import StoredGeneration
from proofsheet.web.context import arena_book, chosen_in_history, id_arg, ids_arg, store

present_pages = Blueprint("present", __name__)
MAX_SLIDES = 200
RUN_PAGE = re.compile(r"^/runs/[0-9]{1,18}$")  # the one place a selection's Esc may go back to, besides the History


@present_pages.get("/present")
@chosen_in_history
def present() -> str:
    """`?group=ID` (a comparison), `?round=ID` (an arena round: names hidden until its vote), or `?ids=1,2,3` / `?id=1&id=2`
    (a selection from the history; `back=/runs/ID` for a run's row). `?hide=1` leaves models and servers out of the captions."""
    hide = request.args.get("hide") == "1"
    generations, back = _chosen()
    slides = [_slide(generation, image, hide) for generation in generations for image in generation.shown_images]
    if not slides:
        abort(404, "There is no image to show: choose generations that have one.")
    return render_template("present.html", slides=slides[:MAX_SLIDES], back=back)


def _chosen() -> tuple[list[StoredGeneration], str]:
    """The generations to show, in order, and where Esc goes back to."""
    group_id, round_id = id_arg("group"), id_arg("round")
    if round_id:
        found = arena_book().get(round_id) or abort(404)
        if not found.voted:
            abort(403, "This round has no vote yet: present it after the vote, so that no name shows too soon.")
        group_id = found.group_id
    if group_id:
        group = store().group(group_id) or abort(404)
        return [g for g in (group.generation_at(p) for p in range(len(group.cells))) if g], f"/compare/{group_id}"
    back = request.args.get("back", "")
    return [g for g in map(store().get, ids_arg(MAX_SLIDES)) if g], back if RUN_PAGE.match(back) else "/generations"


def _slide(generation: StoredGeneration, image: Any, hide: bool) -> dict[str, Any]:
    who = None if hide else f"{generation.model} · {generation.server}"
    return {"src": image.src, "width": image.width, "height": image.height,
            "prompt": generation.prompt, "who": who, "id": generation.id}
