"""A zip of chosen generations: their images plus a manifest of requests and responses, for sharing a demo's results.

It sits beside tools.py (check and backup): both read a history and write something outside it.
"""
from __future__ import annotations

import json
import zipfile
from typing import TYPE_CHECKING, BinaryIO, Iterable

from proofsheet.history.records import EXTENSIONS

if TYPE_CHECKING:
    from proofsheet.history.store import Store


def export_zip(store: "Store", generation_ids: Iterable[int], out: BinaryIO) -> None:
    """Images plus a manifest of requests and responses; ids that name nothing are left out."""
    manifest = []
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for generation_id in dict.fromkeys(generation_ids):
            generation = store.get(generation_id)
            if generation is None:
                continue
            entry = generation.to_dict()
            for image, facts in zip(generation.images, entry["images"]):
                if image.sha256:
                    name = f"images/{generation.id}-{image.position + 1}.{EXTENSIONS[image.format]}"
                    archive.write(store.images_dir / image.file_name, name, compress_type=zipfile.ZIP_STORED)
                    facts["file"] = name
            raw = store.raw_body(generation.id)
            if raw is not None:
                entry["response_file"] = f"responses/{generation.id}.json"
                archive.writestr(entry["response_file"], raw)
            manifest.append(entry)
        archive.writestr("manifest.json", json.dumps({"generations": manifest}, indent=2, ensure_ascii=False))
