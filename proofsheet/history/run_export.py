"""A run as a zip: every image it made, plus cells.csv and cells.jsonl with one line per cell (done, failed or still
to come), for a spreadsheet or a script.

The cells are read a batch at a time and their lines written to temporary files on disk, then added to the zip: a run
of 10,000 cells never sits in memory. No key is written: a cell keeps only the body it sends and its server's name.
"""
from __future__ import annotations

import csv
import io
import json
import tempfile
import zipfile
from typing import TYPE_CHECKING, Any, BinaryIO

from proofsheet.history.records import EXTENSIONS
from proofsheet.history.run_grid import every_cell

if TYPE_CHECKING:
    from proofsheet.history.runs import Run
    from proofsheet.history.store import Store

COLUMNS = ("position", "prompt_index", "prompt", "category", "target_index", "server", "model", "repeat", "status",
           "retried", "elapsed_ms", "cost_usd", "generation_id", "image_files", "error_kind", "error_message")


def export_run(store: "Store", run: "Run", out: BinaryIO) -> None:
    """The run's images under images/, and cells.csv, cells.jsonl and run.json beside them."""
    with tempfile.TemporaryFile("w+", encoding="utf-8", newline="") as table, \
            tempfile.TemporaryFile("w+", encoding="utf-8") as lines, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        writer = csv.writer(table)
        writer.writerow(COLUMNS)
        for cell in every_cell(store.db, run.id):
            entry = _entry(cell, _add_images(store, archive, cell))
            writer.writerow(["; ".join(value) if isinstance(value, list) else value for value in entry.values()])
            lines.write(json.dumps(entry, ensure_ascii=False) + "\n")
        for name, spooled in (("cells.csv", table), ("cells.jsonl", lines)):
            spooled.seek(0)
            with archive.open(name, "w") as member, io.TextIOWrapper(member, "utf-8", newline="") as text:
                for chunk in iter(lambda: spooled.read(1 << 16), ""):
                    text.write(chunk)
        archive.writestr("run.json", json.dumps(run.to_dict(), indent=2, ensure_ascii=False))


def _add_images(store: "Store", archive: zipfile.ZipFile, cell: dict[str, Any]) -> list[str]:
    """The cell's kept images, written into the zip; their names there."""
    if not cell["generation_id"]:
        return []
    names = []
    for sha256, position, kind in store.db.execute(
            "SELECT sha256, position, format FROM images WHERE generation_id = ? AND sha256 IS NOT NULL "
            "ORDER BY position", (cell["generation_id"],)):
        path = store.images_dir / f"{sha256}.{EXTENSIONS[kind]}"
        if not path.exists():
            continue  # gone from the data folder (--check says so); the cell still has its line
        name = (f"images/p{cell['prompt_index'] + 1:05d}-t{cell['target_index'] + 1:02d}-r{cell['repeat'] + 1:03d}"
                f"-{position + 1}.{EXTENSIONS[kind]}")
        archive.write(path, name, compress_type=zipfile.ZIP_STORED)  # images are compressed already
        names.append(name)
    return names


def _entry(cell: dict[str, Any], files: list[str]) -> dict[str, Any]:
    error = cell["error"] or {}
    return {"position": cell["position"], "prompt_index": cell["prompt_index"], "prompt": cell["prompt"],
            "category": cell["category"], "target_index": cell["target_index"], "server": cell["server"],
            "model": cell["model"], "repeat": cell["repeat"], "status": cell["status"], "retried": cell["retried"],
            "elapsed_ms": cell["elapsed_ms"], "cost_usd": cell["cost_usd"], "generation_id": cell["generation_id"],
            "image_files": files, "error_kind": error.get("kind"), "error_message": error.get("message")}
