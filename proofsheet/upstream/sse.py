"""Server-Sent Events: reading them as they arrive (bytes in, whole events out), and writing one.

OpenAI streams partial images as `event: image_generation.partial_image` + `data: {json}` blocks separated by a blank
line; some servers end with `data: [DONE]`. Comments, ids and retry hints are read past.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

DONE = "[DONE]"


@dataclass(frozen=True)
class Event:
    name: str
    data: str

    def json(self) -> Any:
        """The data as JSON, or None when it is not (or is the closing [DONE])."""
        if self.data == DONE:
            return None
        try:
            return json.loads(self.data)
        except ValueError:
            return None


class EventReader:
    def __init__(self) -> None:
        self._pending = bytearray()

    def feed(self, chunk: bytes | bytearray) -> list[Event]:
        """The events completed by this chunk, in order."""
        self._pending += chunk
        events = []
        while True:
            end, separator = _block_end(self._pending)
            if end < 0:
                return events
            block = bytes(self._pending[:end])
            del self._pending[:end + separator]
            event = _parse(block)
            if event is not None:
                events.append(event)

    def close(self) -> list[Event]:
        """A last event the stream ended without a blank line after."""
        block, self._pending = bytes(self._pending), bytearray()
        event = _parse(block) if block.strip() else None
        return [event] if event else []


def encode(name: str, data: Any) -> bytes:
    """One event, as Proofsheet sends its own: a name and one line of JSON."""
    return f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n".encode()


def read_all(data: bytes | bytearray) -> list[Event]:
    reader = EventReader()
    return reader.feed(data) + reader.close()


def _block_end(buffer: bytearray) -> tuple[int, int]:
    """Where the first blank line is, and its length (\\n\\n, \\r\\n\\r\\n or \\r\\r)."""
    found = [(buffer.find(separator), len(separator)) for separator in (b"\r\n\r\n", b"\n\n", b"\r\r")]
    found = [(index, length) for index, length in found if index >= 0]
    return min(found) if found else (-1, 0)


def _parse(block: bytes) -> Event | None:
    name, data = "message", []
    for line in block.decode("utf-8", "replace").splitlines():
        if not line or line.startswith(":"):
            continue
        field, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if field == "event":
            name = value
        elif field == "data":
            data.append(value)
    return Event(name, "\n".join(data)) if data else None
