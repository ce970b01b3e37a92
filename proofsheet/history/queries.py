"""Reading the history: one generation whole, the gallery's pages and filters, the models and servers it holds, and
what it has cost. Every function takes the calling thread's connection; none writes.
"""
from __future__ import annotations

import json
import logging
import sqlite3
import threading
from typing import Any

from proofsheet.history.prices import PriceTable
from proofsheet.history.records import GalleryPage, StoredGeneration, StoredInput, generation_from_row, image_from_row

log = logging.getLogger(__name__)

MAX_ID = 2**63 - 1
# Generations a page load adds up to the spending itself; more are added up in the background (see Spending).
WAIT_FOR_AT_MOST = 20_000
GALLERY_ROW = (
    "SELECT g.id, g.created_at, g.status, g.prompt, g.model, g.response_format, g.elapsed, g.error_message, "
    "g.group_id, g.via, g.server, g.starred, "
    "(SELECT COUNT(*) FROM images i WHERE i.generation_id = g.id AND i.sha256 IS NOT NULL) AS image_count, "
    "(SELECT i.sha256 FROM images i WHERE i.generation_id = g.id AND i.sha256 IS NOT NULL "
    " ORDER BY i.position LIMIT 1) AS cover, "
    # A contender of a blind vote not yet judged: the history names neither its model nor its server until then.
    "(SELECT r.id FROM arena_rounds r WHERE r.group_id = g.group_id AND r.vote IS NULL) AS blind_round "
    "FROM generations g"
)
# A search walks the trigram index newest first and reads only the generations it names.
SEARCHED_ROWS = "FROM prompt_search s CROSS JOIN generations g ON g.id = s.rowid"
# A search's total is counted this far past the page's start (ten pages), then shown as "240+": a word in half of
# a million prompts would otherwise be counted one by one on every load.
COUNT_AHEAD = 240
# A search with filters that leave at most this many generations reads them all rather than the index.
FEW_TO_SEARCH = 2000
MOST_TRIGRAMS = 8  # of a long search, looked at to find the rarest (see _rarest)
RARE = 2000  # prompts: a rarer trigram is worth intersecting with
MOST_TERMS = 3
OUTCOME_FACETS = {"succeeded": "\ue003s\ue003", "failed": "\ue003f\ue003"}


def is_id(value: Any) -> bool:
    """A row id SQLite can hold: anything else (a 20-digit number from a URL) simply names nothing."""
    return isinstance(value, int) and 0 < value <= MAX_ID


def generation(db: sqlite3.Connection, generation_id: int) -> StoredGeneration | None:
    """One generation with its images, raw-body preview, inputs and edits, as its rows say."""
    row = db.execute("SELECT * FROM generations WHERE id=?", (generation_id,)).fetchone()
    if row is None:
        return None
    found = generation_from_row(row)
    found.images = [image_from_row(image) for image in db.execute(
        "SELECT * FROM images WHERE generation_id=? ORDER BY position", (generation_id,))]
    response = db.execute("SELECT preview, body_is_json, body_type FROM responses WHERE generation_id=?",
                          (generation_id,)).fetchone()
    if response:
        found.raw_preview, found.raw_is_json, found.body_type = response[0], bool(response[1]), response[2]
    found.inputs = [StoredInput(row["role"], row["position"], row["sha256"], row["format"], row["width"],
                                row["height"], row["bytes"]) for row in db.execute(
        "SELECT * FROM inputs WHERE generation_id=? ORDER BY role, position", (generation_id,))]
    found.edits = [row[0] for row in db.execute(
        "SELECT id FROM generations WHERE source_generation=? ORDER BY id", (generation_id,))]
    return found


def status(db: sqlite3.Connection, generation_id: int) -> str:
    row = db.execute("SELECT status FROM generations WHERE id=?", (generation_id,)).fetchone()
    return row["status"] if row else "deleted"


def image_row(db: sqlite3.Connection, sha256: str) -> sqlite3.Row | None:
    """The (sha256, format) of a kept image, made or sent as an edit's input; None when no row names it."""
    return db.execute("SELECT sha256, format FROM images WHERE sha256=? UNION ALL SELECT sha256, format FROM "
                      "inputs WHERE sha256=? LIMIT 1", (sha256, sha256)).fetchone()


def gallery(db: sqlite3.Connection, page: int = 1, per_page: int = 24, query: str = "", model: str = "",
            outcome: str = "", server: str = "", starred: bool = False) -> GalleryPage:
    """One page of the history, newest first, with how many generations match (for a search, counted up to
    COUNT_AHEAD past this page's start: then `more` says there are at least that many)."""
    offset = (page - 1) * per_page
    if query:
        return _search(db, page, per_page, query, (model, outcome, server, starred))
    where, params = _gallery_filter("", model, outcome, server, starred)
    rows = db.execute(f"{GALLERY_ROW} {where} ORDER BY g.id DESC LIMIT ? OFFSET ?",
                      (*params, per_page, offset)).fetchall()
    return GalleryPage([dict(row) for row in rows], _tally(db, model, outcome, server, starred), page, per_page)


def _search(db: sqlite3.Connection, page: int, per_page: int, query: str, filters: tuple[str, str, str, bool]
            ) -> GalleryPage:
    """A prompt search: the matching ids newest first, up to COUNT_AHEAD past the page (the count and the page in
    one pass), then the page's rows."""
    offset = (page - 1) * per_page
    rows_from, newest_first, where, params = _searched(db, query, *filters)
    limit = offset + COUNT_AHEAD
    ids = [row[0] for row in db.execute(f"SELECT g.id {rows_from} {where} ORDER BY {newest_first} LIMIT ?",
                                        (*params, limit))]
    shown = ids[offset:offset + per_page]
    rows = db.execute(f"{GALLERY_ROW} WHERE g.id IN ({', '.join('?' * len(shown))}) ORDER BY g.id DESC",
                      shown).fetchall()
    return GalleryPage([dict(row) for row in rows], len(ids), page, per_page, len(ids) >= limit)


def gallery_row(db: sqlite3.Connection, generation_id: int) -> dict[str, Any] | None:
    """One generation as the gallery lists it, for a page that shows the history live."""
    if not is_id(generation_id):
        return None
    row = db.execute(f"{GALLERY_ROW} WHERE g.id = ? AND g.via <> 'run'", (generation_id,)).fetchone()
    return dict(row) if row else None


def models(db: sqlite3.Connection) -> list[str]:
    return [row[0] for row in db.execute("SELECT DISTINCT model FROM tallies ORDER BY model")]


def servers(db: sqlite3.Connection) -> list[str]:
    """The names of the servers the history holds generations from."""
    return [row[0] for row in db.execute("SELECT DISTINCT server FROM tallies ORDER BY server")]


def recent_models(db: sqlite3.Connection, limit: int = 8, server: str | None = None) -> list[str]:
    """Models that gave an image lately (on that server): a typo that failed is not offered again.

    Each tally's newest generation is one step down its index, so this costs the number of models, not of
    generations."""
    return [row[0] for row in db.execute(
        "SELECT t.model FROM tallies t WHERE t.outcome = 'succeeded' AND (? IS NULL OR t.server = ?) "
        "GROUP BY t.model ORDER BY MAX((SELECT g.id FROM generations g WHERE (g.model, g.server, g.outcome, "
        "g.starred) = (t.model, t.server, t.outcome, t.starred) ORDER BY g.id DESC LIMIT 1)) DESC LIMIT ?",
        (server, server, limit))]


class Spending:
    """The estimated cost of the whole history, and how many generations it could price.

    Every gallery page shows it, and a million generations take half a minute to price, so each is priced once:
    the sum covers every generation up to `_settled` (none of them still running when summed), and each load adds
    the ones that settled since. A deleted generation is taken off (forget); a change the sum cannot follow (the
    price table edited, a generation gone without forget) has it worked out again from the start. More than
    WAIT_FOR_AT_MOST to add up (a large history after a start) is added up in the background: until then the
    spending is (0.0, 0) and the page does not show it.
    """

    def __init__(self, prices: PriceTable, database: Any = None) -> None:
        self.prices = prices
        self._database = database  # its .connection and .release_connection(), for the background; None: never
        self._lock = threading.Lock()  # pages load on several threads; each span must be added once
        self._version: float | None = None
        self._settled = 0  # every generation up to this id is in the sum
        self._settled_succeeded = 0  # how many of those succeeded: the tallies say when one went unnoticed
        self._usd, self._priced = 0.0, 0
        self._catching_up = False

    def total(self, db: sqlite3.Connection) -> tuple[float, int]:
        with self._lock:
            if self._catching_up:
                return 0.0, 0
            if self.prices.version() != self._version or (
                    self._settled and self._succeeded_up_to(db, self._settled) != self._settled_succeeded):
                self._version, self._settled, self._settled_succeeded = self.prices.version(), 0, 0
                self._usd, self._priced = 0.0, 0
            newest, settled = self._edges(db)
            if settled - self._settled > WAIT_FOR_AT_MOST and self._database is not None:
                self._catching_up = True
                threading.Thread(target=self._catch_up, name="spending", daemon=True).start()
                return 0.0, 0
            self._add_settled(db, self._settled, settled)
            # Finished after one that is still running: added up again on each load until that one settles.
            usd, priced, _ = self._add_up(db, self._settled, newest)
            return self._usd + usd, self._priced + priced

    def forget(self, db: sqlite3.Connection, generation_id: int) -> None:
        """Take a generation about to be deleted off the sum."""
        with self._lock:
            if generation_id <= self._settled:
                usd, priced, succeeded = self._add_up(db, generation_id - 1, generation_id)
                self._usd, self._priced = self._usd - usd, self._priced - priced
                self._settled_succeeded -= succeeded

    def _catch_up(self) -> None:
        """Add up the settled generations a span at a time, on a thread of its own."""
        db = self._database.connection
        try:
            while True:
                with self._lock:
                    start, (_, settled) = self._settled, self._edges(db)
                if settled - start <= WAIT_FOR_AT_MOST:
                    return  # the rest: on the next load
                end = start + WAIT_FOR_AT_MOST
                usd, priced, succeeded = self._add_up(db, start, end)
                with self._lock:
                    if self._settled == start:  # nothing was added or started again meanwhile
                        self._usd, self._priced = self._usd + usd, self._priced + priced
                        self._settled, self._settled_succeeded = end, self._settled_succeeded + succeeded
        except sqlite3.Error as exc:  # the history closed meanwhile: the next start adds up again
            log.info("The spending was not worked out (%s).", exc)
        finally:
            with self._lock:
                self._catching_up = False
            self._database.release_connection()

    def _edges(self, db: sqlite3.Connection) -> tuple[int, int]:
        """(the newest id, the newest id before the oldest generation still running)."""
        newest, oldest_running = db.execute(
            "SELECT MAX(id), (SELECT MIN(id) FROM generations WHERE outcome = 'running') FROM generations").fetchone()
        return newest or 0, (oldest_running - 1) if oldest_running else (newest or 0)

    def _add_settled(self, db: sqlite3.Connection, start: int, settled: int) -> None:
        if settled > start:
            usd, priced, succeeded = self._add_up(db, start, settled)
            self._usd, self._priced = self._usd + usd, self._priced + priced
            self._settled, self._settled_succeeded = settled, self._settled_succeeded + succeeded

    def _succeeded_up_to(self, db: sqlite3.Connection, last: int) -> int:
        return db.execute("SELECT (SELECT COALESCE(SUM(count), 0) FROM tallies WHERE outcome = 'succeeded') - "
                          "(SELECT COUNT(*) FROM generations WHERE id > ? AND outcome = 'succeeded' AND via <> 'run')",
                          (last,)).fetchone()[0]

    def _add_up(self, db: sqlite3.Connection, after: int, last: int) -> tuple[float, int, int]:
        """(dollars, generations priced, generations that succeeded and are tallied: a run's are priced, not
        tallied) for the ids after `after` up to `last`."""
        usd, priced, succeeded = 0.0, 0, 0
        for row in db.execute(
                "SELECT g.model, g.request_json, g.usage_json, (SELECT COUNT(*) FROM images i WHERE "
                "i.generation_id = g.id AND i.sha256 IS NOT NULL) AS shown, g.via FROM generations g "
                "WHERE g.id > ? AND g.id <= ? AND g.outcome = 'succeeded'", (after, last)):
            cost = self.prices.estimate(row[0], json.loads(row[1]), json.loads(row[2]) if row[2] else None, row[3])
            succeeded += row[4] != "run"
            if cost:
                usd, priced = usd + cost.usd, priced + 1
        return usd, priced, succeeded


def _gallery_filter(query: str, model: str, outcome: str, server: str = "", starred: bool = False
                    ) -> tuple[str, list[Any]]:
    # A run's generations are listed as the run (see the migration that keeps them `via` 'run').
    clauses, params = ["g.via <> 'run'", *(["g.starred = 1"] if starred else [])], []
    if server:
        clauses.append("g.server = ?")
        params.append(server)
    if query:  # a substring, as typed: % and _ are themselves, ASCII letters in either case
        clauses.append("g.prompt LIKE ? ESCAPE '\\'")
        params.append("%" + query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%")
    if model:
        clauses.append("g.model = ?")
        params.append(model)
    if outcome in ("succeeded", "failed"):
        clauses.append("g.outcome = ?")
        params.append(outcome)
    return "WHERE " + " AND ".join(clauses), params


def _searched(db: sqlite3.Connection, query: str, model: str, outcome: str, server: str, starred: bool
              ) -> tuple[str, str, str, list[Any]]:
    """(FROM, newest first, WHERE, parameters) of a prompt search, each prompt checked with the same LIKE as
    before the index: among the few generations the filters leave, else through the trigram index when the words
    are long enough to have a trigram."""
    if (model or outcome or server or starred) and _tally(db, model, outcome, server, starred) <= FEW_TO_SEARCH:
        # Each tally's generations are one stretch of an index: read exactly those, whatever the filters.
        where, params = _gallery_filter(query, "", "", "", False)
        return ("FROM generations g", "g.id DESC", f"{where} AND (g.model, g.server, g.outcome, g.starred) IN "
                "(SELECT model, server, outcome, starred FROM tallies t WHERE " + _tally_filter() + ")",
                [*params, *_tally_params(model, outcome, server, starred)])
    where, params = _gallery_filter(query, model, outcome, server, starred)
    trigrams = _rarest(db, search_trigrams(query), _facets(model, outcome, server, starred))
    if not trigrams:
        return "FROM generations g", "g.id DESC", where, params
    # The index's own order (its rowid is the generation's id): SQLite then reads it newest first and stops.
    return SEARCHED_ROWS, "s.rowid DESC", f"{where} AND s.prompt_search MATCH ?", [*params, trigrams]


def _facets(model: str, outcome: str, server: str, starred: bool) -> list[str]:
    """The filters as the index holds them (the `facets` column of the last migration), one trigram each: the
    value's last two characters and its mark, the outcome by its first letter between marks, the star as three
    marks."""
    facets = [f"\ue001{model}\ue001"[-3:] if model else "", f"\ue002{server}\ue002"[-3:] if server else "",
              OUTCOME_FACETS.get(outcome, ""), "\ue004" * 3 if starred else ""]
    return [_quoted(facet) for facet in facets if facet and "\0" not in facet]


def search_trigrams(query: str) -> list[str]:
    """Trigrams of `query` that every prompt holding it holds, each a quoted string (so that quotes, *, -, NEAR or
    AND typed by a person are only characters): none for fewer than three characters."""
    # SQLite reads both the FTS5 query and LIKE's pattern as C text, which ends at a NUL: search what LIKE sees.
    query = query.split("\0", 1)[0]
    starts = list(range(0, len(query) - 2, 3))
    if starts and starts[-1] != len(query) - 3:
        starts.append(len(query) - 3)  # the last characters too, overlapping
    if len(starts) > MOST_TRIGRAMS:
        starts = [starts[round(n * (len(starts) - 1) / (MOST_TRIGRAMS - 1))] for n in range(MOST_TRIGRAMS)]
    return list(dict.fromkeys(_quoted(query[start:start + 3]) for start in starts))


def _rarest(db: sqlite3.Connection, trigrams: list[str], facets: list[str]) -> str:
    """The FTS5 query of the terms that narrow most: those held by fewer than RARE prompts when there are some
    (each counted only that far to know), else the search's first and last trigram and the filters. Each term
    costs as much to intersect as it is common, and every prompt found is checked whole anyway."""
    counted = [(db.execute("SELECT COUNT(*) FROM (SELECT 1 FROM prompt_search WHERE prompt_search MATCH ? LIMIT ?)",
                           (term, RARE)).fetchone()[0], term) for term in trigrams + facets]
    rare = [term for count, term in sorted(counted) if count < RARE]
    return " AND ".join(rare[:MOST_TERMS] or dict.fromkeys(trigrams[:1] + trigrams[-1:] + facets))


def _quoted(trigram: str) -> str:
    """A string in FTS5's syntax: whatever it holds is only characters."""
    return '"' + trigram.replace('"', '""') + '"'


def _tally(db: sqlite3.Connection, model: str, outcome: str, server: str, starred: bool) -> int:
    """How many generations the filters match, from the tallies the triggers keep (no search)."""
    return db.execute(f"SELECT COALESCE(SUM(count), 0) FROM tallies t WHERE {_tally_filter()}",
                      _tally_params(model, outcome, server, starred)).fetchone()[0]


def _tally_filter() -> str:
    return ("(? = '' OR t.model = ?) AND (? = '' OR t.server = ?) AND (? NOT IN ('succeeded', 'failed') OR "
            "t.outcome = ?) AND (NOT ? OR t.starred = 1)")


def _tally_params(model: str, outcome: str, server: str, starred: bool) -> tuple[Any, ...]:
    return model, model, server, server, outcome, outcome, starred
