"""What a generation probably cost: an editable price table in the data folder (prices.json), read when it changes.

Token-priced models (gpt-image) are estimated from the answer's `usage`; image-priced ones (DALL·E) from the number
of images, their quality and size. Every estimate says how it was reached; a model with no price gets none.

The table is the person's to edit, so it is read defensively: an entry of the wrong shape (a number where an object
belongs, a price of 1e400) is skipped with one warning naming the file and the entry, and no page fails because of it.
"""
from __future__ import annotations

import json
import logging
import math
import shutil
import threading
from pathlib import Path
from typing import Any

from proofsheet.history.records import Cost
from proofsheet.results import json_shape

log = logging.getLogger(__name__)
DEFAULT_TABLE = Path(__file__).with_name("prices.default.json")
FILE_NAME = "prices.json"
PRICE_KINDS = ("per_million_tokens", "per_image")
MAX_PRICE = 1_000_000  # dollars per image or per million tokens: anything above is a slip, not a price
MAX_COUNT = 10 ** 12  # tokens or images: a server's usage beyond this is no count it means


class PriceTable:
    def __init__(self, folder: Path) -> None:
        self.path = folder / FILE_NAME
        self.problem: str | None = None  # why the table could not be read, for the gallery to say
        self._lock = threading.Lock()
        self._seen: float | None = None
        self._models: dict[str, Any] = {}
        if not self.path.exists():
            try:
                shutil.copyfile(DEFAULT_TABLE, self.path)  # seeded once; the person's edits are never overwritten
            except OSError as exc:
                log.warning("Could not write the price table %s: %s", self.path, exc)

    def estimate(self, model: str, request: dict[str, Any], usage: dict[str, Any] | None,
                 image_count: int) -> Cost | None:
        entry = self._entry(model)
        if not entry:
            return None
        if "per_million_tokens" in entry and usage:
            return _by_tokens(entry["per_million_tokens"], usage, model)
        if "per_image" in entry and image_count:
            return _by_image(entry["per_image"], request, image_count, model)
        return None

    def version(self) -> float | None:
        """Changes whenever the table does (its file's modification time, once read)."""
        self._current()
        return self._seen

    def _entry(self, model: str) -> dict[str, Any] | None:
        models = self._current()
        if model in models:
            return models[model]
        prefixes = [name for name in models if model.startswith(name + "-")]  # dated versions: gpt-image-1-2025-...
        return models[max(prefixes, key=len)] if prefixes else None

    def _current(self) -> dict[str, Any]:
        with self._lock:
            try:
                mtime = self.path.stat().st_mtime
            except OSError:
                return self._models
            if mtime != self._seen:
                self._seen = mtime
                self._models, self.problem = self._read()
                if self.problem:
                    log.warning(self.problem)
            return self._models

    def _read(self) -> tuple[dict[str, Any], str | None]:
        """The usable entries of the table, and why there are none when the table itself cannot be read."""
        try:
            table = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError, RecursionError) as exc:
            return {}, f"The price table {self.path} could not be read ({exc}); no costs are estimated."
        models = table.get("models", {}) if isinstance(table, dict) else None
        if not isinstance(models, dict):
            return {}, (f"The price table {self.path} should hold an object with \"models\" (an object of prices by "
                        f"model), not {json_shape(table if models is None else models)}; no costs are estimated.")
        usable = {}
        for model, entry in models.items():
            why = _entry_problem(entry)
            if why:
                log.warning("Skipped the price of %s in %s: %s", json.dumps(model), self.path, why)
            else:
                usable[model] = entry
        return usable, None


def _entry_problem(entry: Any) -> str | None:
    """What is wrong with one model's entry, if anything."""
    if not isinstance(entry, dict):
        return f'it is {json_shape(entry)}, not an object such as {{"per_image": {{"1024x1024": 0.04}}}}.'
    for kind in PRICE_KINDS:
        prices = entry.get(kind, {})
        if not isinstance(prices, dict):
            return f"its {kind} is {json_shape(prices)}, not an object of prices."
        for label, price in prices.items():
            if price is not None and not _is_price(price):
                shown = repr(price) if isinstance(price, (int, float)) else json_shape(price)
                return (f"its {kind} price {json.dumps(label)} is {shown}; a price is a number of dollars from 0 to "
                        f"{MAX_PRICE:,}, or null.")
    return None


def _is_price(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) \
        and 0 <= value <= MAX_PRICE


def _by_tokens(prices: dict[str, Any], usage: dict[str, Any], model: str) -> Cost | None:
    details = usage.get("input_tokens_details") if isinstance(usage.get("input_tokens_details"), dict) else {}
    output_details = usage.get("output_tokens_details") if isinstance(usage.get("output_tokens_details"), dict) else {}
    text_in = _count(details.get("text_tokens", usage.get("input_tokens") if not details else 0))
    image_in = _count(details.get("image_tokens", 0))
    text_out = _count(output_details.get("text_tokens", 0))
    image_out = _count(output_details.get("image_tokens", _count(usage.get("output_tokens")) - text_out))
    parts = [(text_in, prices.get("text_input")), (image_in, prices.get("image_input")),
             (image_out, prices.get("image_output")), (text_out, prices.get("text_output", prices.get("text_input")))]
    if any(count and not isinstance(price, (int, float)) for count, price in parts):
        return None
    usd = sum(count * price for count, price in parts if count) / 1_000_000
    return Cost(usd, f"{text_in:,} text + {image_in:,} image input tokens, {image_out + text_out:,} output tokens "
                     f"at {model} prices")


def _by_image(prices: dict[str, Any], request: dict[str, Any], count: int, model: str) -> Cost | None:
    size = request.get("size") if request.get("size") not in (None, "auto") else "1024x1024"
    quality = request.get("quality") or "standard"
    if not isinstance(size, str) or not isinstance(quality, str):  # a /v1 caller's body may hold anything
        return None
    price = prices.get(f"{quality} {size}", prices.get(size))
    if not isinstance(price, (int, float)):
        return None
    return Cost(price * count, f"{count} image{'s' * (count != 1)} at {quality} {size}, ${price:g} each")


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_COUNT else 0
