"""Judging an arena round, for every page that takes a vote (the arena, a run's tournament): the round with its
comparison, and the vote kept or the reason it was not."""
from __future__ import annotations

from typing import Any

from flask import abort

from proofsheet.history.arena import LABELS, VOTES, ArenaRound
from proofsheet.history.records import Group
from proofsheet.web.context import arena_book, room, store


def round_and_group(round_id: int) -> tuple[ArenaRound, Group]:
    """The round and the comparison it shows, or a 404."""
    found = arena_book().get(round_id)
    group = store().group(found.group_id) if found else None
    if found is None or group is None:
        abort(404)
    return found, group


def cast_vote(found: ArenaRound, group: Group, winner: Any) -> tuple[int, str, str] | None:
    """Keep the vote, or (status, kind, message) saying why not."""
    allowed = [c.label for c in found.contenders] + list(VOTES)
    if winner not in allowed:
        return 400, "bad_request", f"Vote for {', '.join(LABELS[:len(found.contenders)])}, \"tie\" or \"both_bad\"."
    if found.waiting(group):
        return 409, "still_running", "Some contenders are still being made: vote once every image is back."
    opened = room().book.get(found.id)
    if opened is not None and not opened.closed:  # the room's majority will be the vote: one vote, not two
        return 409, "room_voting", "The room is voting on this round: close the room's vote to count it."
    if not arena_book().vote(found.id, winner):
        return 409, "already_voted", "This round already has its vote."
    return None
