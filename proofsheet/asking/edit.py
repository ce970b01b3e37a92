"""What a person asks an edit for: the fields of /v1/images/edits, the images (uploaded or kept) and the mask,
each image verified by Pillow before anything is sent."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from proofsheet import images
from proofsheet.asking.generation import GenerationRequest, RequestErrors, parse_request
from proofsheet.results import Problem, VerifiedImage

DEFAULT_EDIT_MODEL = "gpt-image-1"
MAX_INPUTS = 16
EDIT_FORMATS = ("PNG", "WEBP", "JPEG")


@dataclass(frozen=True)
class EditRequest:
    request: GenerationRequest
    images: list[VerifiedImage]
    mask: VerifiedImage | None = None
    source: tuple[int, int] | None = None  # (generation id, image index) when it starts from a kept image


def parse_edit(fields: Mapping[str, Any], uploads: list[tuple[str, bytes]], mask: tuple[str, bytes] | None,
               kept: tuple[tuple[int, int], bytes] | Problem | None = None) -> EditRequest | RequestErrors:
    """`uploads` are (file name, bytes); `kept` is the kept image to start from, (source, bytes), if one was named."""
    body = {name: fields.get(name) for name in fields.keys()}
    body["model"] = body.get("model") or DEFAULT_EDIT_MODEL
    parsed = parse_request(body, from_form=True)
    errors = parsed if isinstance(parsed, RequestErrors) else RequestErrors()
    inputs: list[VerifiedImage] = []
    if isinstance(kept, Problem):
        errors["image"] = kept.message
    elif kept is not None:
        inputs.append(_verified_input(kept[1], "the kept image", errors))
    for number, (name, data) in enumerate(uploads, start=len(inputs) + 1):
        inputs.append(_verified_input(data, f"image {number} ({name or 'no name'})", errors))
    if not inputs and "image" not in errors:
        errors["image"] = "Choose an image to edit (upload one, drop or paste it, or start from a kept image)."
    if len(inputs) > MAX_INPUTS:
        errors["image"] = f"At most {MAX_INPUTS} images can be sent to an edit; {len(inputs)} were given."
    checked_mask = _verified_mask(mask, inputs[0] if inputs and inputs[0] else None, errors) if mask else None
    if errors:
        return errors
    return EditRequest(parsed, [image for image in inputs if image], checked_mask,
                       kept[0] if isinstance(kept, tuple) else None)


def _verified_input(data: bytes, what: str, errors: RequestErrors) -> VerifiedImage | None:
    verified = images.verify_image(data)
    if isinstance(verified, Problem):
        errors["image"] = f"{what[0].upper()}{what[1:]} is not an image that can be sent: {verified.message}"
        return None
    if verified.format not in EDIT_FORMATS:
        errors["image"] = f"{what[0].upper()}{what[1:]} is {verified.format}; edits take PNG, WebP or JPEG."
        return None
    return verified


def _verified_mask(mask: tuple[str, bytes], first: VerifiedImage | None, errors: RequestErrors
                   ) -> VerifiedImage | None:
    verified = images.verify_image(mask[1])
    if isinstance(verified, Problem):
        errors["mask"] = f"The mask is not an image: {verified.message}"
        return None
    if verified.format != "PNG":
        errors["mask"] = f"The mask must be a PNG (with transparency where to edit), not {verified.format}."
        return None
    if first and (verified.width, verified.height) != (first.width, first.height):
        errors["mask"] = (f"The mask is {verified.width}×{verified.height} but the image is {first.width}×"
                          f"{first.height}; they must be the same size.")
        return None
    if not verified.has_alpha:
        errors["mask"] = "The mask has no transparency: its fully transparent pixels mark where to edit."
        return None
    return verified
