"""The values that travel from the image server client to the store, the pages and the JSON API."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Mapping


@dataclass(frozen=True)
class Problem:
    """Something that went wrong, as a kind a program can test and a message a person can read."""

    kind: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "message": self.message}

    @classmethod
    def rate_limited(cls, seconds: int, words: str) -> Problem:
        """The server takes no more requests for now; `words` are its own."""
        return cls("rate_limited", f"Rate limited — try again in {seconds} s. {words}")

    @property
    def retry_after(self) -> int | None:
        """A rate limit's wait in seconds, read back from its message (the message is what the history keeps)."""
        said = _RETRY_AFTER.match(self.message) if self.kind == "rate_limited" else None
        return int(said[1]) if said else None


_RETRY_AFTER = re.compile(r"Rate limited — try again in (\d+) s\.")


@dataclass(frozen=True)
class Note:
    """A difference between what was asked and what came back; about one image, or about the whole answer."""

    message: str
    image: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"message": self.message, "image": self.image}


@dataclass(frozen=True)
class VerifiedImage:
    """Image bytes Pillow has identified and checked as a browser-safe raster image, with the facts it found."""

    data: bytes
    format: str
    mime: str
    width: int
    height: int
    has_alpha: bool = False  # an alpha channel or a transparent colour: what "background: transparent" asks for

    @property
    def byte_count(self) -> int:
        return len(self.data)


@dataclass
class ImageItem:
    """One entry of the server's `data[]`: where it came from and, when it verified, the image."""

    index: int
    source: str  # "b64_json", "url" or "data_uri"
    original_url: str | None = None
    revised_prompt: str | None = None
    image: VerifiedImage | None = None
    problem: Problem | None = None
    sha256: str | None = None  # set by the store once the file is kept


@dataclass
class GenerationResult:
    """Everything one request to the image server produced, failure included."""

    request: dict[str, Any]
    endpoint: str
    status: int | None = None
    elapsed: float = 0.0
    raw: Any = None  # the parsed JSON, or the text when the body was not JSON
    raw_body: bytes | bytearray = b""  # the body exactly as received
    raw_is_json: bool = False
    items: list[ImageItem] = field(default_factory=list)
    error: Problem | None = None
    notes: list[Note] = field(default_factory=list)
    usage: dict[str, Any] | None = None  # tokens, as gpt-image models report them
    echo: dict[str, Any] = field(default_factory=dict)  # what the server says it made: background, format, quality...
    body_type: str = "json"  # "json", "text" or "event-stream": how the raw body is to be read

    @property
    def images(self) -> list[ImageItem]:
        return [item for item in self.items if item.image is not None]

    @property
    def item_problems(self) -> list[ImageItem]:
        return [item for item in self.items if item.problem is not None]

    def read_answer_facts(self) -> None:
        """usage and the echo fields, from a JSON answer (or the last streamed event that had them)."""
        if not isinstance(self.raw, dict):
            return
        if isinstance(self.raw.get("usage"), dict) and counts_any(self.raw["usage"]):
            self.usage = self.raw["usage"]
        self.echo = {name: self.raw[name] for name in ECHO_FIELDS if isinstance(self.raw.get(name), str)}

    @property
    def provider(self) -> str | None:
        if isinstance(self.raw, dict) and isinstance(self.raw.get("provider"), str):
            return self.raw["provider"]
        return None


ECHO_FIELDS = ("background", "output_format", "quality", "size")


def counts_any(usage: Mapping[str, Any]) -> bool:
    """Whether a usage counts anything: LiteLLM adds one of zeros to DALL·E's answers, which is no token count."""
    return any(counts_any(value) if isinstance(value, Mapping) else
               isinstance(value, (int, float)) and not isinstance(value, bool) and value != 0
               for value in usage.values())

LONG_STRING = 160  # longer strings in the JSON view are base64 or data: URIs, shown shortened
LONG_TEXT = 32_000  # prose (a prompt, a revised prompt, an error message) is shown whole up to this length


def shorten_long_strings(value: Any) -> Any:
    """The same JSON with long strings (base64, data: URIs) cut to a stub that says how long they were; prose is
    kept whole, up to the longest prompt a model takes."""
    if isinstance(value, str) and len(value) > LONG_STRING and (len(value) > LONG_TEXT or not _is_prose(value)):
        return _stub(value)
    if isinstance(value, list):
        return [shorten_long_strings(entry) for entry in value]
    if isinstance(value, dict):
        return {key: shorten_long_strings(entry) for key, entry in value.items()}
    return value


def _is_prose(text: str) -> bool:
    """Words with spaces between them: base64 has none, and a data: URI is not read."""
    return " " in text and not text.startswith("data:")


def _stub(text: str) -> str:
    return f"{text[:60]}… [{len(text):,} characters]"


def preview_json(raw: Any, is_json: bool = True) -> str:
    """Pretty, shortened JSON for reading; a body that was not JSON is shown as (shortened) text."""
    if not is_json:
        return (_stub(raw) if len(raw) > LONG_STRING else raw) if raw else "(empty body)"
    return json.dumps(shorten_long_strings(raw), indent=2, ensure_ascii=False)


def target_label(target: Mapping[str, Any], with_server: bool) -> str:
    """A (server, model) as headings name it. A target without a server went to the default one, which comparisons
    from before servers had names called "default"; the web layer names the server on every new one."""
    return f"{target.get('server') or 'default'} · {target['model']}" if with_server else str(target["model"])


def json_shape(value: Any) -> str:
    """What a JSON value is, in words, for a message about a value of the wrong kind ("a number", "a list")."""
    if isinstance(value, bool):
        return "true or false"
    return {dict: "an object", list: "a list", str: "text", type(None): "null"}.get(type(value), "a number")
