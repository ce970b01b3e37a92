"""Where an answer differs from what was asked: the only proof of what a server did with the request.

Read from a request as Proofsheet reads one and the result the image server gave; the runner notes them on what it
asked, the recorder on what a /v1 caller asked.
"""
from __future__ import annotations

from proofsheet.asking.generation import GenerationRequest
from proofsheet.results import GenerationResult, ImageItem, Note

FORMAT_NAMES = {"png": "PNG", "jpeg": "JPEG", "jpg": "JPEG", "webp": "WEBP", "gif": "GIF"}


def asked_vs_got(request: GenerationRequest, result: GenerationResult) -> list[Note]:
    """Every difference between the request and the answer, about the whole answer first, then image by image."""
    notes = []
    asked_n = request.n or 1
    if result.items and len(result.items) != asked_n:
        notes.append(Note(f"Asked for {asked_n} image{'s' * (asked_n != 1)}, got {len(result.items)}."))
    answered_model = result.raw.get("model") if isinstance(result.raw, dict) else None
    if result.items and isinstance(answered_model, str) and answered_model and answered_model != request.model:
        notes.append(Note(f"Asked for model {request.model}, the server answered as {answered_model}."))
    notes.extend(_echo_notes(request, result))
    for item in result.items:
        notes.extend(_item_notes(request, item))
    return notes


def _echo_notes(request: GenerationRequest, result: GenerationResult) -> list[Note]:
    """What the server says it made (gpt-image's echo fields), against what was asked."""
    notes = []
    for name, label in (("quality", "quality"), ("background", "background"), ("output_format", "format")):
        asked, said = request.option(name), result.echo.get(name)
        if asked and said and asked != "auto" and said != asked:
            notes.append(Note(f"Asked {label} {asked}, the server answered {said}."))
    asked_size, said_size = request.size, result.echo.get("size")
    if asked_size and asked_size != "auto" and said_size and said_size != asked_size:
        notes.append(Note(f"Asked size {asked_size}, the server says it made {said_size}."))
    if request.streams and result.body_type != "event-stream" and result.images:
        notes.append(Note("Asked for a stream of partial images; the server answered all at once."))
    return notes


def _item_notes(request: GenerationRequest, item: ImageItem) -> list[Note]:
    notes = []
    if request.response_format == "b64_json" and item.source in ("url", "data_uri"):
        notes.append(Note("Asked for b64_json, came as a url.", item.index))
    if request.response_format == "url" and item.source == "data_uri":  # gpt4free does, for some providers
        notes.append(Note("Asked for a url, came as a data: URI (the image itself, not a link).", item.index))
    asked_size = request.asked_size
    if item.image and asked_size and (item.image.width, item.image.height) != asked_size:
        notes.append(Note(f"Asked {asked_size[0]}×{asked_size[1]}, got {item.image.width}×{item.image.height}.",
                          item.index))
    if item.revised_prompt and item.revised_prompt.strip() != request.prompt:
        notes.append(Note("The server rewrote the prompt.", item.index))
    if item.image:
        notes.extend(_image_notes(request, item))
    return notes


def _image_notes(request: GenerationRequest, item: ImageItem) -> list[Note]:
    """From the image itself, whatever the server said: its real format, and whether it has any transparency."""
    notes = []
    asked_format = FORMAT_NAMES.get(str(request.option("output_format") or "").lower())
    if asked_format and item.image.format != asked_format:
        notes.append(Note(f"Asked {asked_format}, got {item.image.format}.", item.index))
    if request.option("background") == "transparent" and not item.image.has_alpha:
        notes.append(Note("Asked a transparent background, got an opaque image (no alpha channel).", item.index))
    return notes
