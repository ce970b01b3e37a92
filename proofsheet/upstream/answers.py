"""Normalising an image server's answer: a JSON `data` list or a stream of events, read into a `GenerationResult`
(its images decoded or fetched and verified); whatever is wrong with it becomes a `Problem` on the result."""
from __future__ import annotations

import time
from typing import Any, Callable

from proofsheet import images
from proofsheet.results import ECHO_FIELDS, GenerationResult, ImageItem, Note, Problem, VerifiedImage, counts_any
from proofsheet.upstream import messages, sse
from proofsheet.upstream.reading import Body

MAX_ITEMS = 16  # n is at most 10; a server that sends more gets the rest ignored, with a note
FetchImage = Callable[[str, float], "bytes | Problem"]  # an image URL and the deadline for every image of the answer
PartialListener = Callable[[int, VerifiedImage], None]


def read_answer(body: Body, result: GenerationResult, fetch_image: FetchImage, image_timeout: float) -> None:
    """Fill `result` from the answer: raw body, usage and echo, the images, or the error."""
    result.status = body.status
    if body.is_event_stream and body.status < 400:
        _read_stream(body, result, fetch_image, image_timeout)
        return
    result.raw_body = body.data
    result.raw_is_json = body.is_json
    result.raw = body.parsed if body.is_json else body.data.decode("utf-8", "replace")
    if body.status >= 400:
        result.error = messages.http_error(body)
    elif not body.is_json:
        result.error = Problem("bad_response", f"The image server answered {body.status} but not with JSON: "
                                               f"{messages.describe_text(body.data)}")
    else:
        result.read_answer_facts()
        _read_items(body.parsed, result, fetch_image, image_timeout)


def _read_stream(body: Body, result: GenerationResult, fetch_image: FetchImage, image_timeout: float) -> None:
    """A streamed answer: the completed events are the images; the partials were shown on the way."""
    events = [event.json() for event in sse.read_all(body.data)]
    events = [event for event in events if isinstance(event, dict)]
    result.raw_body, result.raw, result.raw_is_json, result.body_type = body.data, events, True, "event-stream"
    completed = [event for event in events if str(event.get("type", "")).endswith(".completed")]
    failed = next((event for event in events if "error" in event), None)
    if failed and not completed:
        result.error = Problem("http_error", f"The image server reported an error: {messages.error_text(failed)}")
        return
    if not completed:
        result.error = Problem("no_images", f"The stream ended without a completed image ({len(events)} events, "
                                            f"{sum('partial' in str(e.get('type')) for e in events)} partial).")
        return
    result.echo = {name: completed[-1][name] for name in ECHO_FIELDS if isinstance(completed[-1].get(name), str)}
    usages = [event["usage"] for event in completed if isinstance(event.get("usage"), dict)]
    result.usage = sum_usage(usages) if usages and any(map(counts_any, usages)) else None
    _read_items({"data": [{"b64_json": event.get("b64_json")} for event in completed]}, result, fetch_image,
                image_timeout)


def _read_items(parsed: Any, result: GenerationResult, fetch_image: FetchImage, image_timeout: float) -> None:
    if isinstance(parsed, dict) and "error" in parsed and not parsed.get("data"):
        result.error = Problem("http_error", f"The image server reported an error: {messages.error_text(parsed)}")
        return
    if not isinstance(parsed, dict) or not isinstance(parsed.get("data"), list):
        result.error = Problem("bad_response", "The image server's JSON has no \"data\" list of images "
                                               f"(got {messages.shape(parsed)}).")
        return
    if not parsed["data"]:
        result.error = Problem("no_images", "The image server answered without any image: \"data\" is empty.")
        return
    deadline = time.monotonic() + image_timeout  # one budget for fetching every image of this answer
    entries = parsed["data"][:MAX_ITEMS]
    result.items = [_read_item(index, entry, fetch_image, deadline) for index, entry in enumerate(entries)]
    if len(parsed["data"]) > MAX_ITEMS:
        result.notes.append(Note(f"The server sent {len(parsed['data'])} images; only the first {MAX_ITEMS} "
                                 "were read."))
    if not result.images:
        reasons = "; ".join(f"image {item.index + 1}: {item.problem.message}" for item in result.items)
        result.error = Problem("no_usable_images", f"No image could be shown. {reasons}")


def _read_item(index: int, entry: Any, fetch_image: FetchImage, deadline: float) -> ImageItem:
    if not isinstance(entry, dict):
        return ImageItem(index, "none", problem=Problem("bad_item", f"The entry is {messages.shape(entry)}, "
                                                                    "not an object."))
    revised = entry.get("revised_prompt") if isinstance(entry.get("revised_prompt"), str) else None
    b64, url = entry.get("b64_json"), entry.get("url")
    if isinstance(b64, str) and b64:
        item = ImageItem(index, "b64_json", revised_prompt=revised)
        data = images.decode_base64(b64)
    elif isinstance(url, str) and url:
        item = ImageItem(index, "data_uri" if images.is_data_uri(url) else "url", revised_prompt=revised)
        item.original_url = None if item.source == "data_uri" else url
        data = fetch_image(url, deadline)
    else:
        return ImageItem(index, "none", revised_prompt=revised,
                         problem=Problem("bad_item", "The entry has neither a \"url\" nor a \"b64_json\"."))
    verified = images.verify_image(data) if isinstance(data, bytes) else data
    if isinstance(verified, Problem):
        item.problem = verified
    else:
        item.image = verified
    return item


class PartialRelay:
    """Reads events as the bytes arrive and hands each partial image, verified, to the listener at once."""

    def __init__(self, listener: PartialListener) -> None:
        self.listener = listener
        self.reader = sse.EventReader()
        self.count = 0

    def feed(self, chunk: bytes) -> None:
        for event in self.reader.feed(chunk):
            payload = event.json()
            if not isinstance(payload, dict) or not str(payload.get("type", event.name)).endswith("partial_image"):
                continue
            data = images.decode_base64(payload.get("b64_json") or "")
            verified = images.verify_image(data) if isinstance(data, bytes) else data
            if isinstance(verified, VerifiedImage):
                index = payload.get("partial_image_index")
                self.listener(index if isinstance(index, int) else self.count, verified)
                self.count += 1


def sum_usage(usages: list[dict[str, Any]]) -> dict[str, Any]:
    """One usage for several completed events (one per image): every count added up, details included."""
    def add(total: dict[str, Any], part: dict[str, Any]) -> dict[str, Any]:
        for key, value in part.items():
            if isinstance(value, dict):
                total[key] = add(dict(total.get(key) or {}), value)
            elif isinstance(value, int) and not isinstance(value, bool):
                total[key] = total.get(key, 0) + value
        return total
    summed: dict[str, Any] = {}
    for usage in usages:
        summed = add(summed, usage)
    return summed
