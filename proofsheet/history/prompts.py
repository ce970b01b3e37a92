"""Saved prompts: the ones a presenter reuses, by name, kept beside the history."""
from __future__ import annotations

import time
from typing import Any

from proofsheet.history.store import Store


class PromptBook:
    def __init__(self, store: Store) -> None:
        self.store = store

    def all(self) -> list[dict[str, Any]]:
        return [dict(row) for row in self.store.db.execute(
            "SELECT id, name, prompt, created_at FROM prompts ORDER BY name COLLATE NOCASE")]

    def save(self, name: str, prompt: str) -> tuple[dict[str, Any], bool]:
        """Keep a prompt under a name (a name already used gets the new prompt): the entry, and whether it is new."""
        with self.store.writing():
            existing = self.store.db.execute("SELECT id FROM prompts WHERE name=?", (name,)).fetchone()
            if existing:
                self.store.db.execute("UPDATE prompts SET prompt=? WHERE id=?", (prompt, existing[0]))
            else:
                self.store.db.execute("INSERT INTO prompts (name, prompt, created_at) VALUES (?, ?, ?)",
                                      (name, prompt, time.time()))
        row = self.store.db.execute("SELECT id, name, prompt, created_at FROM prompts WHERE name=?", (name,)).fetchone()
        return dict(row), existing is None

    def delete(self, prompt_id: int) -> bool:
        with self.store.writing():
            return self.store.db.execute("DELETE FROM prompts WHERE id=?", (prompt_id,)).rowcount == 1
