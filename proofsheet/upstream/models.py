"""The image server's models, cached, with image-capable and recently used ones first."""
from __future__ import annotations

import re
import threading
import time
from typing import Any, Callable

from proofsheet.upstream.client import ImageServerClient
from proofsheet.results import Problem

CACHE_SECONDS = 300
LITELLM_MODE = "litellm_mode"  # added to a row of a LiteLLM proxy's list: its model_info.mode from /model/info
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

    def server_kind(self, ask: bool = False) -> str | None:
        """From the list already fetched, if any: asking the server here would slow every generation. With `ask`
        (a generation that names a gpt4free provider, whose route depends on it), a list never fetched is fetched."""
        if ask and self._rows is None:
            self._server_rows(refresh=False)
        return server_kind(self._rows or [])

    def _server_rows(self, refresh: bool) -> tuple[list[dict[str, Any]], Problem | None]:
        """A list that came back is kept for a while; a failure is never kept, so the next look asks again."""
        with self._lock:
            fresh = self._fetched_at is not None and self.clock() - self._fetched_at <= CACHE_SECONDS
            if refresh or not fresh:
                listed = self.client.list_models()
                if isinstance(listed, Problem):
                    return self._rows or [], listed
                self._rows, self._fetched_at = with_litellm_modes(self.client, listed), self.clock()
            return self._rows or [], None


def server_kind(rows: list[dict[str, Any]]) -> str | None:
    """gpt4free marks every row of its model list with a "provider" flag (true for its provider rows); a LiteLLM
    proxy describes its models at /model/info (see with_litellm_modes)."""
    if any(isinstance(row.get("provider"), bool) for row in rows):
        return "gpt4free"
    return "litellm" if any(LITELLM_MODE in row for row in rows) else None


def with_litellm_modes(client: ImageServerClient, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows, each with LiteLLM's own word on what it makes when the server is a LiteLLM proxy.

    LiteLLM lists an alias such as `painter` (for dall-e-2) like any chat model; only /model/info says
    `model_info.mode: "image_generation"`. Other servers answer that address 404, and their rows are left alone.
    """
    if server_kind(rows) == "gpt4free":
        return rows
    info = client.get_json(f"{client.api_base}/model/info", timeout=5.0)
    entries = info.get("data") if isinstance(info, dict) else None
    if not isinstance(entries, list):
        return rows
    modes: dict[str, str] = {}
    for entry in entries:
        if isinstance(entry, dict) and isinstance(entry.get("model_name"), str):
            details = entry.get("model_info") if isinstance(entry.get("model_info"), dict) else {}
            mode = details.get("mode")
            if isinstance(mode, str) and modes.get(entry["model_name"]) != "image_generation":  # any deployment's
                modes[entry["model_name"]] = mode
    return [{**row, LITELLM_MODE: modes[row["id"]]} if row["id"] in modes else row for row in rows]


def is_image_model(row: dict[str, Any]) -> bool:
    if LITELLM_MODE in row:  # the server's own word wins over a guess from the name
        return row[LITELLM_MODE] == "image_generation"
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
