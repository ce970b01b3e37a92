"""Edits as /v1/images/edits takes them: a multipart form of fields, one or more images and an optional mask."""
from __future__ import annotations

import json
from typing import Any

from proofsheet.results import VerifiedImage

EXTENSIONS = {"PNG": "png", "JPEG": "jpg", "WEBP": "webp", "GIF": "gif"}
EDIT_FILES = ("image", "image[]", "mask")  # the keys a kept edit request uses to describe its files


def multipart(body: dict[str, Any], inputs: list[VerifiedImage], mask: VerifiedImage | None
              ) -> tuple[list[tuple[str, str]], list[tuple[str, tuple[str, bytes, str]]]]:
    """Form fields as text (true/false, numbers as digits, objects as JSON; null fields left out), and the files.

    One image goes as `image`; several as `image[]`, as the OpenAI SDK sends them.
    """
    fields = [(name, _as_text(value)) for name, value in body.items() if value is not None]
    name = "image" if len(inputs) == 1 else "image[]"
    files = [(name, (f"image-{index + 1}.{EXTENSIONS[image.format]}", image.data, image.mime))
             for index, image in enumerate(inputs)]
    if mask is not None:
        files.append(("mask", ("mask.png", mask.data, mask.mime)))
    return fields, files


def kept_request(body: dict[str, Any], inputs: list[VerifiedImage], mask: VerifiedImage | None) -> dict[str, Any]:
    """The request as the history keeps it: the fields, and what the files were (they are kept as images beside)."""
    kept: dict[str, Any] = {**body, ("image" if len(inputs) == 1 else "image[]"): [_describe(image) for image in inputs]}
    if mask is not None:
        kept["mask"] = _describe(mask)
    return kept


def _describe(image: VerifiedImage) -> str:
    return f"<{image.format} file, {image.width}×{image.height}, {image.byte_count:,} bytes>"


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)
