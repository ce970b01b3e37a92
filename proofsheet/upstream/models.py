"""The image server's models, cached, with image-capable and recently used ones first."""
from __future__ import annotations

import re
import threading
import time
from typing import Any, Callable

from proofsheet.upstream.client import ImageServerClient
from proofsheet.results import Problem

CACHE_SECONDS = 300
# Names known for images; gpt4free's own "image" flag is only set on provider rows, so it cannot be relied on.
IMAGE_NAMES = re.compile(r"flux|dall-?e|gpt-image|sdxl|stable-?diffusion|\bsd-?[0-9]|midjourney|imagen|playground|"
                         r"kandinsky|ideogram|recraft|hidream|seedream|qwen-image|image", re.I)


class ModelCatalog:
    def __init__(self, client: ImageServerClient, clock: Callable[[], float] = time.monotonic) -> None:
        self.client = client
        self.clock = clock
        self._lock = threading.Lock()
        self._rows: list[dict[str, Any]] | None = None
        self._fetched_at: float | None = None

    def models(self, recent: list[str], refresh: bool = False) -> dict[str, Any]:
        rows, error = self._server_rows(refresh)
        models = [row for row in rows if row.get("provider") is not True]
        return {"models": ordered_models(models, recent), "error": error.message if error else None,
                "server": self.client.api_base, "server_kind": server_kind(rows),
                "providers": sorted(row["id"] for row in rows if row.get("provider") is True)}

    def provider_models(self, provider: str) -> dict[str, Any]:
        """One gpt4free provider's models (not cached: picking a provider is rare and its list may change)."""
        listed = self.client.list_models(provider)
        if isinstance(listed, Problem):
            return {"models": [], "error": listed.message, "provider": provider}
        return {"models": ordered_models(listed, []), "error": None, "provider": provider}

    def server_kind(self) -> str | None:
        """From the list already fetched, if any: asking the server here would slow every generation."""
        return server_kind(self._rows or [])

    def _server_rows(self, refresh: bool) -> tuple[list[dict[str, Any]], Problem | None]:
        """A list that came back is kept for a while; a failure is never kept, so the next look asks again."""
        with self._lock:
            fresh = self._fetched_at is not None and self.clock() - self._fetched_at <= CACHE_SECONDS
            if refresh or not fresh:
                listed = self.client.list_models()
                if isinstance(listed, Problem):
                    return self._rows or [], listed
                self._rows, self._fetched_at = listed, self.clock()
            return self._rows or [], None


def server_kind(rows: list[dict[str, Any]]) -> str | None:
    """gpt4free marks every row of its model list with a "provider" flag (true for its provider rows)."""
    return "gpt4free" if any(isinstance(row.get("provider"), bool) for row in rows) else None


def is_image_model(row: dict[str, Any]) -> bool:
    return row.get("image") is True or row.get("type") == "image" or bool(IMAGE_NAMES.search(row["id"]))


def ordered_models(rows: list[dict[str, Any]], recent: list[str]) -> list[dict[str, Any]]:
    """Recently used first (in order of use), then image-capable ones, then the rest; none is hidden."""
    seen: dict[str, dict[str, Any]] = {}
    for row in rows:
        seen.setdefault(row["id"], {"id": row["id"], "image": is_image_model(row), "recent": False})
    for model in recent:
        seen.setdefault(model, {"id": model, "image": bool(IMAGE_NAMES.search(model)), "recent": False})
        seen[model]["recent"] = True
    rank = {model: position for position, model in enumerate(recent)}
    return sorted(seen.values(), key=lambda m: (not m["recent"], rank.get(m["id"], 0), not m["image"], m["id"].lower()))
