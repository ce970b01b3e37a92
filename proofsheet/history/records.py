"""What the history hands out: a kept generation, its images, a comparison, a gallery page, read from rows."""
from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from typing import Any

from proofsheet.results import Note, Problem, target_label

EXTENSIONS = {"PNG": "png", "JPEG": "jpg", "WEBP": "webp", "GIF": "gif"}
MIMES = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp", "GIF": "image/gif"}


@dataclass
class StoredImage:
    position: int
    source: str
    original_url: str | None
    revised_prompt: str | None
    sha256: str | None
    format: str | None
    width: int | None
    height: int | None
    bytes: int | None
    error: Problem | None

    @property
    def file_name(self) -> str | None:
        return f"{self.sha256}.{EXTENSIONS[self.format]}" if self.sha256 else None

    @property
    def src(self) -> str | None:
        """Where Proofsheet serves the kept file (named by its content, so it reveals nothing else)."""
        return f"/images/{self.file_name}" if self.sha256 else None

    def to_dict(self) -> dict[str, Any]:
        facts = {
            "index": self.position, "source": self.source, "original_url": self.original_url,
            "revised_prompt": self.revised_prompt, "error": self.error.to_dict() if self.error else None,
        }
        if self.sha256:
            facts.update(src=self.src, thumbnail=f"/thumbnails/{self.sha256}.webp",
                         format=self.format, width=self.width, height=self.height, bytes=self.bytes)
        return facts


@dataclass
class StoredGeneration:
    id: int
    created_at: float
    status: str
    prompt: str
    model: str
    response_format: str | None
    request: dict[str, Any]
    endpoint: str
    upstream_status: int | None
    provider: str | None
    elapsed: float | None
    error: Problem | None
    notes: list[Note]
    images: list[StoredImage] = field(default_factory=list)
    raw_preview: str = ""
    raw_is_json: bool = False
    group_id: int | None = None
    group_position: int | None = None
    usage: dict[str, Any] | None = None
    echo: dict[str, Any] = field(default_factory=dict)
    kind: str = "generation"  # or "edit"
    source_generation: int | None = None  # an edit: the kept generation it started from, and which image
    source_image: int | None = None
    body_type: str = "json"
    inputs: list["StoredInput"] = field(default_factory=list)  # an edit's images and mask, as sent
    edits: list[int] = field(default_factory=list)  # generations edited from this one
    cost: "Cost | None" = None  # estimated from the price table in the data folder
    via: str = "proofsheet"  # or "v1": a program's call through Proofsheet's /v1 endpoint
    server: str = "default"  # the named image server asked
    starred: bool = False

    @property
    def api_base(self) -> str:
        """The server's base URL, as it was when asked (the endpoint without its path)."""
        return self.endpoint.rsplit("/images/", 1)[0]

    @property
    def shown_images(self) -> list[StoredImage]:
        return [image for image in self.images if image.sha256]

    @property
    def general_notes(self) -> list[Note]:
        return [note for note in self.notes if note.image is None]

    def notes_for(self, position: int) -> list[Note]:
        return [note for note in self.notes if note.image == position]

    @property
    def image_problems(self) -> list[StoredImage]:
        return [image for image in self.images if image.error]

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "created_at": self.created_at, "status": self.status, "request": self.request,
            "endpoint": self.endpoint, "upstream_status": self.upstream_status, "provider": self.provider,
            "elapsed": self.elapsed, "error": self.error.to_dict() if self.error else None,
            "notes": [note.to_dict() for note in self.notes],
            "images": [image.to_dict() for image in self.images], "permalink": f"/generations/{self.id}",
            "group_id": self.group_id, "raw": json.loads(self.raw_preview) if self.raw_is_json else (self.raw_preview or None),
            "raw_url": f"/generations/{self.id}/raw.json", "usage": self.usage, "echo": self.echo,
            "cost": self.cost.to_dict() if self.cost else None, "kind": self.kind,
            "source": {"generation": self.source_generation, "image": self.source_image,
                       "permalink": f"/generations/{self.source_generation}"} if self.source_generation else None,
            "inputs": [item.to_dict() for item in self.inputs], "edits": self.edits, "via": self.via,
            "server": {"name": self.server, "api_base": self.api_base}, "starred": self.starred,
        }


@dataclass
class StoredInput:
    """An image (or the mask) an edit was sent, kept as a file like any other image."""

    role: str  # "image" or "mask"
    position: int
    sha256: str
    format: str
    width: int
    height: int
    bytes: int

    @property
    def file_name(self) -> str:
        return f"{self.sha256}.{EXTENSIONS[self.format]}"

    @property
    def src(self) -> str:
        return f"/images/{self.file_name}"

    def to_dict(self) -> dict[str, Any]:
        return {"role": self.role, "index": self.position, "src": self.src, "format": self.format,
                "width": self.width, "height": self.height, "bytes": self.bytes}


@dataclass(frozen=True)
class Cost:
    """An estimate in US dollars, and how it was reached (shown beside it)."""

    usd: float
    basis: str

    def to_dict(self) -> dict[str, Any]:
        return {"usd": round(self.usd, 6), "basis": self.basis, "estimate": True}



@dataclass
class Group:
    """A comparison grid: the cells asked for, and the generations made for them so far."""

    id: int
    created_at: float
    prompt: str
    cells: list[dict[str, Any]]
    generations: list[StoredGeneration]
    layout: dict[str, Any] | None = None  # an X/Y grid's column and row labels; None: one row of cells

    @property
    def columns(self) -> list[str]:
        """The grid's column labels: the layout's, else one column a cell."""
        if self.layout:
            return self.layout["columns"]
        many = len({cell.get("server") or "" for cell in self.cells}) > 1
        return [cell_label(cell, many) for cell in self.cells]

    @property
    def rows(self) -> list[str]:
        return self.layout["rows"] if self.layout else []

    def label_of(self, position: int) -> str:
        """A cell's caption: its column, and its row when the grid has rows."""
        columns = self.columns
        if not self.rows:
            return columns[position] if position < len(columns) else ""
        return f"{columns[position % len(columns)]} · {self.rows[position // len(columns)]}"

    def generation_at(self, position: int) -> StoredGeneration | None:
        return next((g for g in self.generations if g.group_position == position), None)

    @property
    def cost(self) -> Cost | None:
        """The comparison's estimated cost: the sum over the cells whose cost is known."""
        known = [generation.cost for generation in self.generations if generation.cost]
        return Cost(sum(cost.usd for cost in known), f"{len(known)} of {len(self.generations)} cells priced") \
            if known else None

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "prompt": self.prompt, "cells": self.cells, "permalink": f"/compare/{self.id}",
                "columns": self.columns, "rows": self.rows,
                "results": [generation.to_dict() for generation in self.generations],
                "cost": self.cost.to_dict() if self.cost else None}


def cell_label(cell: dict[str, Any], with_server: bool) -> str:
    """A comparison cell as its heading names it: (server ·) model, and its seed when it has one."""
    label = target_label(cell, with_server)
    return f"{label} · seed {cell['seed']}" if cell.get("seed") is not None else label


@dataclass
class GalleryPage:
    rows: list[dict[str, Any]]
    total: int
    page: int
    per_page: int
    more: bool = False  # a search's total was counted only this far: there are more

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))



def generation_from_row(row: sqlite3.Row) -> StoredGeneration:
    return StoredGeneration(
        id=row["id"], created_at=row["created_at"], status=row["status"], prompt=row["prompt"], model=row["model"],
        response_format=row["response_format"], request=json.loads(row["request_json"]), endpoint=row["endpoint"],
        upstream_status=row["upstream_status"], provider=row["provider"], elapsed=row["elapsed"],
        error=Problem(row["error_kind"], row["error_message"]) if row["error_kind"] else None,
        notes=[Note(**note) for note in json.loads(row["notes_json"])],
        group_id=row["group_id"], group_position=row["group_position"],
        usage=json.loads(row["usage_json"]) if row["usage_json"] else None, echo=json.loads(row["echo_json"]),
        kind=row["kind"], source_generation=row["source_generation"], source_image=row["source_image"],
        via=row["via"], server=row["server"], starred=bool(row["starred"]),
    )


def image_from_row(row: sqlite3.Row) -> StoredImage:
    return StoredImage(
        position=row["position"], source=row["source"], original_url=row["original_url"],
        revised_prompt=row["revised_prompt"], sha256=row["sha256"], format=row["format"], width=row["width"],
        height=row["height"], bytes=row["bytes"],
        error=Problem(row["error_kind"], row["error_message"]) if row["error_kind"] else None,
    )

