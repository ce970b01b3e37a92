"""Which fields each family of image models takes: the one table behind the form, the checks and the body sent.

A model's dialect comes from its name (gpt-image-*, dall-e-3, dall-e-2) or, for any other model, from the server
(gpt4free reads its own extra fields). Fields a dialect does not list are still sent when a person adds them as
Extra fields: the table decides what the form offers and which values are checked, never what may be sent.
"""
from __future__ import annotations

import re
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

GPT_IMAGE_QUALITIES = ("low", "medium", "high", "auto")


@dataclass(frozen=True)
class Dialect:
    name: str
    label: str
    pattern: str  # a model name matching this (case-insensitive) speaks this dialect; "" matches by server only
    fields: tuple[str, ...]  # the form's controls beyond prompt, model, response format, n, size, seed, negative
    choices: dict[str, tuple[str, ...]] = field(default_factory=dict)  # values checked before sending
    response_format_default: str = "null"  # "null": send null as the seed script does; "omit": send no key
    always_base64: bool = False
    max_n: int = 10
    max_prompt: int = 4000
    sizes: tuple[str, ...] = ()  # suggested in the form; any WxH is still allowed
    streams: bool = False
    note: str = ""

    def matches(self, model: str) -> bool:
        return bool(self.pattern) and re.search(self.pattern, model, re.I) is not None

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "label": self.label, "pattern": self.pattern, "fields": list(self.fields),
                "choices": {key: list(values) for key, values in self.choices.items()},
                "response_format_default": self.response_format_default, "always_base64": self.always_base64,
                "max_n": self.max_n, "max_prompt": self.max_prompt, "sizes": list(self.sizes),
                "streams": self.streams, "note": self.note}


GPT_IMAGE = Dialect(
    "gpt-image", "GPT image models", r"^(gpt-image|chatgpt-image)",
    fields=("quality", "background", "output_format", "output_compression", "moderation", "stream",
            "partial_images", "input_fidelity", "user"),
    choices={"quality": GPT_IMAGE_QUALITIES, "background": ("transparent", "opaque", "auto"),
             "output_format": ("png", "jpeg", "webp"), "moderation": ("low", "auto"),
             "input_fidelity": ("high", "low")},
    response_format_default="omit", always_base64=True, max_prompt=32000,
    sizes=("auto", "1024x1024", "1536x1024", "1024x1536"), streams=True,
    note="These models always answer base64 (b64_json) and refuse a response_format; none is sent unless you pick "
         "one.",
)
DALL_E_3 = Dialect(
    "dall-e-3", "DALL·E 3", r"^dall-?e-?3",
    fields=("quality", "style", "user"), choices={"quality": ("standard", "hd"), "style": ("vivid", "natural")},
    max_n=1, sizes=("1024x1024", "1792x1024", "1024x1792"), note="DALL·E 3 makes one image per request.",
)
DALL_E_2 = Dialect(
    "dall-e-2", "DALL·E 2", r"^dall-?e-?2", fields=("user",), choices={"quality": ("standard",)}, max_prompt=1000,
    sizes=("256x256", "512x512", "1024x1024"),
)
GPT4FREE = Dialect(
    "gpt4free", "gpt4free", "",
    fields=("provider", "aspect_ratio", "width", "height", "num_inference_steps", "guidance_scale", "resolution",
            "download_media"),
    note="gpt4free reads these fields and silently drops any other.",
)
GENERIC = Dialect("generic", "OpenAI-compatible", "", fields=())

BY_NAME = (GPT_IMAGE, DALL_E_3, DALL_E_2)
DIALECTS = (*BY_NAME, GPT4FREE, GENERIC)


def dialect_for(model: str, server_kind: str | None = None) -> Dialect:
    """The model's own family first (OpenAI's rules follow the model), then what the server is."""
    for dialect in BY_NAME:
        if dialect.matches(model):
            return dialect
    return GPT4FREE if server_kind == "gpt4free" else GENERIC


def table() -> dict[str, Any]:
    """The whole table, for the form's script: it shows the controls of the model typed."""
    return {"dialects": [dialect.to_dict() for dialect in DIALECTS]}


# gpt4free answers 500 to any /v1/images/generations body that names a provider (its own bug in 8.8: the field
# reaches its client twice); its per-provider route, beside /v1 at the server's root, takes the same body without it.
_PROVIDER_ROUTE = re.compile(r"/api/([^/]+)/images/generations$")


def provider_route(generations_url: str, body: dict[str, Any], server_kind: str | None) -> tuple[str, dict[str, Any]]:
    """Where a generation goes and what it carries: a gpt4free provider moves from the body into the path."""
    provider = body.get("provider")
    if server_kind != "gpt4free" or not isinstance(provider, str) or not provider:
        return generations_url, body
    root = generations_url.removesuffix("/images/generations").rsplit("/v1", 1)[0]
    sent = {name: value for name, value in body.items() if name != "provider"}
    return f"{root}/api/{urllib.parse.quote(provider, safe='')}/images/generations", sent


def asked_body(body: dict[str, Any], endpoint: str) -> dict[str, Any]:
    """A kept body as the person asked for it: a provider sent in gpt4free's path goes back in (form, Run again)."""
    routed = _PROVIDER_ROUTE.search(urllib.parse.urlsplit(endpoint).path)
    if routed is None or "provider" in body:
        return body
    return {**body, "provider": urllib.parse.unquote(routed.group(1))}
