"""The history's schema, one step a version: the app applies the missing ones on start."""

MIGRATIONS = [
    """
    CREATE TABLE generations (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        created_at REAL NOT NULL,
        status TEXT NOT NULL,
        prompt TEXT NOT NULL,
        model TEXT NOT NULL,
        response_format TEXT,
        request_json TEXT NOT NULL,
        endpoint TEXT NOT NULL,
        upstream_status INTEGER,
        provider TEXT,
        elapsed REAL,
        error_kind TEXT,
        error_message TEXT,
        notes_json TEXT NOT NULL DEFAULT '[]',
        client_ref TEXT
    );
    CREATE INDEX generations_model ON generations(model);
    CREATE INDEX generations_client_ref ON generations(client_ref);
    CREATE TABLE images (
        generation_id INTEGER NOT NULL REFERENCES generations(id) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        source TEXT NOT NULL,
        original_url TEXT,
        revised_prompt TEXT,
        sha256 TEXT,
        format TEXT,
        width INTEGER,
        height INTEGER,
        bytes INTEGER,
        error_kind TEXT,
        error_message TEXT,
        PRIMARY KEY (generation_id, position)
    );
    CREATE INDEX images_sha256 ON images(sha256);
    -- The body itself is the file responses/<generation_id>.body, written before this row is committed.
    CREATE TABLE responses (
        generation_id INTEGER PRIMARY KEY REFERENCES generations(id) ON DELETE CASCADE,
        body_is_json INTEGER NOT NULL,
        preview TEXT NOT NULL
    );
    """,
    """
    CREATE TABLE groups (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        created_at REAL NOT NULL,
        prompt TEXT NOT NULL,
        cells_json TEXT NOT NULL
    );
    ALTER TABLE generations ADD COLUMN group_id INTEGER REFERENCES groups(id) ON DELETE SET NULL;
    ALTER TABLE generations ADD COLUMN group_position INTEGER;
    CREATE INDEX generations_group ON generations(group_id, group_position);
    """,
    # The history's identity, also written to the folder (FOLDER_MARK): files are swept only by the database
    # that owns them, never by a new or substituted one.
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    """,
    # Usage and what the server says it made; edits: where they came from and the images they started from.
    """
    ALTER TABLE generations ADD COLUMN usage_json TEXT;
    ALTER TABLE generations ADD COLUMN echo_json TEXT NOT NULL DEFAULT '{}';
    ALTER TABLE generations ADD COLUMN kind TEXT NOT NULL DEFAULT 'generation';
    ALTER TABLE generations ADD COLUMN source_generation INTEGER REFERENCES generations(id) ON DELETE SET NULL;
    ALTER TABLE generations ADD COLUMN source_image INTEGER;
    CREATE INDEX generations_source ON generations(source_generation);
    ALTER TABLE responses ADD COLUMN body_type TEXT NOT NULL DEFAULT 'json';
    UPDATE responses SET body_type = CASE WHEN body_is_json THEN 'json' ELSE 'text' END;
    CREATE TABLE inputs (
        generation_id INTEGER NOT NULL REFERENCES generations(id) ON DELETE CASCADE,
        role TEXT NOT NULL,
        position INTEGER NOT NULL,
        sha256 TEXT NOT NULL,
        format TEXT NOT NULL,
        width INTEGER NOT NULL,
        height INTEGER NOT NULL,
        bytes INTEGER NOT NULL,
        PRIMARY KEY (generation_id, role, position)
    );
    CREATE INDEX inputs_sha256 ON inputs(sha256);
    """,
    # Where a generation came from: Proofsheet's own pages and API, or a program through its /v1 endpoint.
    """
    ALTER TABLE generations ADD COLUMN via TEXT NOT NULL DEFAULT 'proofsheet';
    """,
    # Which named image server made it (generations made before servers had names came from the default one).
    """
    ALTER TABLE generations ADD COLUMN server TEXT NOT NULL DEFAULT 'default';
    CREATE INDEX generations_server ON generations(server);
    """,
    # For an audience: stars, saved prompts, X/Y grid layouts, and blind votes (arena rounds) with their reveal.
    """
    ALTER TABLE generations ADD COLUMN starred INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX generations_starred ON generations(starred);
    CREATE TABLE prompts (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        name TEXT NOT NULL UNIQUE,
        prompt TEXT NOT NULL,
        created_at REAL NOT NULL
    );
    ALTER TABLE groups ADD COLUMN layout_json TEXT;
    -- A round's contenders (label, grid position, server, model) are kept here, not only in the generations,
    -- so that the leaderboard keeps its votes when a generation is deleted.
    CREATE TABLE arena_rounds (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        group_id INTEGER NOT NULL REFERENCES groups(id),
        created_at REAL NOT NULL,
        category TEXT,
        contenders_json TEXT NOT NULL,
        vote TEXT,
        voted_at REAL
    );
    CREATE INDEX arena_rounds_voted ON arena_rounds(voted_at);
    """,
    # Every gallery row asks whether its comparison is a blind vote still to be judged (its names hidden till then).
    """
    CREATE INDEX arena_rounds_group ON arena_rounds(group_id);
    """,
    # Prompt-set runs (prompts × targets × repeats): each cell a row of a durable queue, linked to the generation
    # it made. A run's name can serve as a category (the arena's leaderboard), and a cell's own category is kept.
    """
    CREATE TABLE runs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        created_at REAL NOT NULL,
        name TEXT NOT NULL,
        status TEXT NOT NULL,
        reason TEXT,
        targets_json TEXT NOT NULL,
        repeats INTEGER NOT NULL,
        concurrency INTEGER NOT NULL,
        total INTEGER NOT NULL,
        finished_at REAL
    );
    CREATE INDEX runs_status ON runs(status);
    CREATE TABLE run_cells (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        prompt_index INTEGER NOT NULL,
        target_index INTEGER NOT NULL,
        repeat INTEGER NOT NULL,
        server TEXT NOT NULL,
        fields_json TEXT NOT NULL,
        category TEXT,
        status TEXT NOT NULL DEFAULT 'pending',
        attempts INTEGER NOT NULL DEFAULT 0,
        retried INTEGER NOT NULL DEFAULT 0,
        generation_id INTEGER REFERENCES generations(id) ON DELETE SET NULL,
        error_kind TEXT,
        error_message TEXT,
        cost_usd REAL,
        finished_at REAL
    );
    CREATE INDEX run_cells_queue ON run_cells(run_id, status, server, position);
    CREATE INDEX run_cells_target ON run_cells(run_id, target_index, position);
    CREATE INDEX run_cells_generation ON run_cells(generation_id);
    """,
    # A history of a million generations: prompt search through a trigram index (substrings, as LIKE found them), the
    # gallery's counts and the forms' model and server lists from a small table of tallies, and the outcome filter and
    # the recent models from indexes. Triggers keep both in step with every insert, change and delete.
    # `facets` puts a generation's model, server, outcome and star in the search index too, each between marks from
    # Unicode's private use area (U+E001-E004) that no prompt holds, so that a search with filters is one lookup; the
    # outcome by its first letter, one trigram of its own (s, f or r).
    """
    ALTER TABLE generations ADD COLUMN outcome TEXT GENERATED ALWAYS AS (
        CASE WHEN status IN ('ok', 'partial') THEN 'succeeded' WHEN status = 'running' THEN 'running'
        ELSE 'failed' END) VIRTUAL;
    CREATE INDEX generations_outcome ON generations(outcome);
    ALTER TABLE generations ADD COLUMN facets TEXT GENERATED ALWAYS AS (
        char(57345) || model || char(57345) || ' ' || char(57346) || server || char(57346) || ' ' ||
        char(57347, unicode(outcome), 57347) || CASE WHEN starred THEN ' ' || char(57348, 57348, 57348) ELSE ''
        END) VIRTUAL;
    -- One entry per tally: the tallies are counted from it in order, and each one's newest generation found.
    CREATE INDEX generations_tallied ON generations(model, server, outcome, starred);
    -- detail='none': no positions, a third of the size; a search checks each candidate's prompt itself.
    CREATE VIRTUAL TABLE prompt_search USING fts5(prompt, facets, content='generations', content_rowid='id',
                                                  tokenize='trigram', detail='none');
    -- A larger buffer while the index is first built (a million prompts in 20 s, not 25), then the default again.
    INSERT INTO prompt_search (prompt_search, rank) VALUES ('hashsize', 67108864);
    INSERT INTO prompt_search (prompt_search) VALUES ('rebuild');
    INSERT INTO prompt_search (prompt_search, rank) VALUES ('hashsize', 1048576);
    CREATE TABLE tallies (
        model TEXT NOT NULL,
        server TEXT NOT NULL,
        outcome TEXT NOT NULL,
        starred INTEGER NOT NULL,
        count INTEGER NOT NULL,
        PRIMARY KEY (model, server, outcome, starred)
    ) WITHOUT ROWID;
    INSERT INTO tallies SELECT model, server, outcome, starred, COUNT(*) FROM generations GROUP BY 1, 2, 3, 4;
    CREATE TRIGGER generations_added AFTER INSERT ON generations BEGIN
        INSERT INTO tallies VALUES (new.model, new.server, new.outcome, new.starred, 1)
            ON CONFLICT DO UPDATE SET count = count + 1;
        INSERT INTO prompt_search (rowid, prompt, facets) VALUES (new.id, new.prompt, new.facets);
    END;
    CREATE TRIGGER generations_removed AFTER DELETE ON generations BEGIN
        UPDATE tallies SET count = count - 1 WHERE (model, server, outcome, starred)
            = (old.model, old.server, old.outcome, old.starred);
        DELETE FROM tallies WHERE count <= 0;
        INSERT INTO prompt_search (prompt_search, rowid, prompt, facets) VALUES ('delete', old.id, old.prompt,
                                                                                  old.facets);
    END;
    CREATE TRIGGER generations_retallied AFTER UPDATE OF model, server, status, starred ON generations BEGIN
        UPDATE tallies SET count = count - 1 WHERE (model, server, outcome, starred)
            = (old.model, old.server, old.outcome, old.starred);
        DELETE FROM tallies WHERE count <= 0;
        INSERT INTO tallies VALUES (new.model, new.server, new.outcome, new.starred, 1)
            ON CONFLICT DO UPDATE SET count = count + 1;
    END;
    CREATE TRIGGER generations_reindexed AFTER UPDATE OF prompt, model, server, status, starred ON generations
    BEGIN
        INSERT INTO prompt_search (prompt_search, rowid, prompt, facets) VALUES ('delete', old.id, old.prompt,
                                                                                  old.facets);
        INSERT INTO prompt_search (rowid, prompt, facets) VALUES (new.id, new.prompt, new.facets);
    END;
    """,
    # 11. A run's blind tournament: each pair is an arena round (its category the run's name) over two of the run's
    # cells on the same prompt. The round's comparison names the two generations the run made (its cells'
    # "generation_id") instead of making new ones; this table says which targets, prompt and repeat each round
    # compared, for drawing the next pair evenly and for the run's win-rate matrix.
    """
    CREATE TABLE tournament_rounds (
        round_id INTEGER PRIMARY KEY REFERENCES arena_rounds(id) ON DELETE CASCADE,
        run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        target_a INTEGER NOT NULL,
        target_b INTEGER NOT NULL,
        prompt_index INTEGER NOT NULL,
        repeat INTEGER NOT NULL
    );
    CREATE INDEX tournament_rounds_run ON tournament_rounds(run_id);
    """,
    # 12. A run is one entry in the History, not its thousands of generations: those it makes are kept `via` 'run', and
    # neither counted in the tallies nor put in the search index (the History's counts, filters and search are of the
    # generations listed). Generations of runs from before this step are marked and taken out too.
    """
    DROP TRIGGER generations_added;
    DROP TRIGGER generations_removed;
    DROP TRIGGER generations_retallied;
    DROP TRIGGER generations_reindexed;
    INSERT INTO prompt_search (prompt_search, rowid, prompt, facets)
        SELECT 'delete', g.id, g.prompt, g.facets FROM generations g
        WHERE g.via <> 'run' AND g.id IN (SELECT generation_id FROM run_cells WHERE generation_id IS NOT NULL);
    UPDATE generations SET via = 'run' WHERE via <> 'run'
        AND id IN (SELECT generation_id FROM run_cells WHERE generation_id IS NOT NULL);
    DELETE FROM tallies WHERE EXISTS (SELECT 1 FROM generations WHERE via = 'run');
    INSERT OR IGNORE INTO tallies SELECT model, server, outcome, starred, COUNT(*) FROM generations
        WHERE via <> 'run' AND EXISTS (SELECT 1 FROM generations WHERE via = 'run') GROUP BY 1, 2, 3, 4;
    CREATE TRIGGER generations_added AFTER INSERT ON generations WHEN new.via <> 'run' BEGIN
        INSERT INTO tallies VALUES (new.model, new.server, new.outcome, new.starred, 1)
            ON CONFLICT DO UPDATE SET count = count + 1;
        INSERT INTO prompt_search (rowid, prompt, facets) VALUES (new.id, new.prompt, new.facets);
    END;
    CREATE TRIGGER generations_removed AFTER DELETE ON generations WHEN old.via <> 'run' BEGIN
        UPDATE tallies SET count = count - 1 WHERE (model, server, outcome, starred)
            = (old.model, old.server, old.outcome, old.starred);
        DELETE FROM tallies WHERE count <= 0;
        INSERT INTO prompt_search (prompt_search, rowid, prompt, facets) VALUES ('delete', old.id, old.prompt,
                                                                                  old.facets);
    END;
    CREATE TRIGGER generations_retallied AFTER UPDATE OF model, server, status, starred ON generations
    WHEN new.via <> 'run' BEGIN
        UPDATE tallies SET count = count - 1 WHERE (model, server, outcome, starred)
            = (old.model, old.server, old.outcome, old.starred);
        DELETE FROM tallies WHERE count <= 0;
        INSERT INTO tallies VALUES (new.model, new.server, new.outcome, new.starred, 1)
            ON CONFLICT DO UPDATE SET count = count + 1;
    END;
    CREATE TRIGGER generations_reindexed AFTER UPDATE OF prompt, model, server, status, starred ON generations
    WHEN new.via <> 'run' BEGIN
        INSERT INTO prompt_search (prompt_search, rowid, prompt, facets) VALUES ('delete', old.id, old.prompt,
                                                                                  old.facets);
        INSERT INTO prompt_search (rowid, prompt, facets) VALUES (new.id, new.prompt, new.facets);
    END;
    -- A run's grid, a page of prompts at a time with its filters, its categories, its cost and rate, and its export
    -- in order, read from indexes: a run of 10,000 cells is not read row by row on each page.
    CREATE INDEX run_cells_grid ON run_cells(run_id, prompt_index, status, target_index, category);
    CREATE INDEX run_cells_category ON run_cells(run_id, category);
    CREATE INDEX run_cells_cost ON run_cells(run_id, cost_usd);
    CREATE INDEX run_cells_finished ON run_cells(run_id, finished_at, status);
    CREATE UNIQUE INDEX run_cells_position ON run_cells(run_id, position);
    """,
    # 13. The room votes: a round opened to the room has a short random token (its voters' URL) and, once closed, the
    # time; each device's last choice is one row (a second vote replaces the first).
    """
    CREATE TABLE room_rounds (
        round_id INTEGER PRIMARY KEY REFERENCES arena_rounds(id) ON DELETE CASCADE,
        token TEXT NOT NULL UNIQUE,
        opened_at REAL NOT NULL,
        closed_at REAL
    );
    CREATE TABLE room_votes (
        round_id INTEGER NOT NULL REFERENCES arena_rounds(id) ON DELETE CASCADE,
        device TEXT NOT NULL,
        choice TEXT NOT NULL,
        voted_at REAL NOT NULL,
        PRIMARY KEY (round_id, device)
    ) WITHOUT ROWID;
    """,
    # 14. When a run last began running (started, resumed, or taken up again after a restart): its rate is the cells
    # finished since then (within the last minutes) over the time since then, not over the spread of their finishing
    # times, which two cells finishing together made near zero.
    """
    ALTER TABLE runs ADD COLUMN running_since REAL;
    UPDATE runs SET running_since = created_at;
    """,
]
