"""What a person asks for: reading it from a form or a JSON body, checking it, and the body sent upstream."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Mapping

DEFAULT_MODEL = "flux"
RESPONSE_FORMATS = {"": None, "url": "url", "b64_json": "b64_json"}
MAX_PROMPT_CHARS = 4000
MAX_MODEL_CHARS = 200
MAX_IMAGES = 10
MIN_EDGE, MAX_EDGE = 64, 4096
MAX_SEED = 2**63 - 1
_SIZE = re.compile(r"^\s*(\d{1,5})\s*[x×]\s*(\d{1,5})\s*$", re.I)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")


@dataclass(frozen=True)
class GenerationRequest:
    prompt: str
    model: str = DEFAULT_MODEL
    response_format: str | None = None
    n: int | None = None
    size: str | None = None
    seed: int | None = None
    negative_prompt: str | None = None

    def to_body(self) -> dict[str, Any]:
        """The upstream body: the three fields of the original request always, the rest only when set."""
        body: dict[str, Any] = {"model": self.model, "prompt": self.prompt, "response_format": self.response_format}
        for name in ("n", "size", "seed", "negative_prompt"):
            value = getattr(self, name)
            if value is not None:
                body[name] = value
        return body

    @property
    def asked_size(self) -> tuple[int, int] | None:
        match = _SIZE.match(self.size or "")
        return (int(match[1]), int(match[2])) if match else None


class RequestErrors(dict):
    """Field name → message, for the form and the JSON API alike."""

    def summary(self) -> str:
        return " ".join(self.values())


def parse_request(fields: Mapping[str, Any]) -> GenerationRequest | RequestErrors:
    """Read and check a form or a JSON object; never raises on bad input."""
    errors = RequestErrors()
    values: dict[str, Any] = {}
    for name, check in _CHECKS.items():
        try:
            values[name] = check(fields.get(name))
        except ValueError as exc:
            errors[name] = str(exc)
    if errors:
        return errors
    return GenerationRequest(**values)


def _text(value: Any, label: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValueError(f"{label} must be text.")
    if _SURROGATE.search(value):
        raise ValueError(f"{label} contains a lone UTF-16 surrogate, which is not a character.")
    return value.strip()


def has_lone_surrogate(value: Any) -> bool:
    """Anywhere in a JSON value, keys included: such text cannot be stored or sent on."""
    if isinstance(value, str):
        return bool(_SURROGATE.search(value))
    if isinstance(value, list):
        return any(has_lone_surrogate(entry) for entry in value)
    if isinstance(value, dict):
        return any(has_lone_surrogate(key) or has_lone_surrogate(entry) for key, entry in value.items())
    return False


def _prompt(value: Any) -> str:
    prompt = _text(value, "The prompt")
    if not prompt:
        raise ValueError("Write a prompt: it cannot be blank.")
    if len(prompt) > MAX_PROMPT_CHARS:
        raise ValueError(f"The prompt is {len(prompt):,} characters; at most {MAX_PROMPT_CHARS:,} are allowed.")
    if _CONTROL.search(prompt):
        raise ValueError("The prompt contains control characters; remove them.")
    return prompt


def _model(value: Any) -> str:
    model = _text(value, "The model") or DEFAULT_MODEL
    if len(model) > MAX_MODEL_CHARS or _CONTROL.search(model) or "\n" in model:
        raise ValueError(f"The model must be one line of at most {MAX_MODEL_CHARS} characters.")
    return model


def _response_format(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or value.strip().lower() not in RESPONSE_FORMATS:
        raise ValueError('The response format must be none, "url" or "b64_json".')
    return RESPONSE_FORMATS[value.strip().lower()]


def _whole_number(value: Any, label: str, low: int, high: int) -> int | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool) or isinstance(value, float) and not value.is_integer():
        raise ValueError(f"{label} must be a whole number.")
    try:
        number = int(value.strip()) if isinstance(value, str) else int(value)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"{label} must be a whole number.") from None
    if not low <= number <= high:
        raise ValueError(f"{label} must be between {low} and {high:,}.")
    return number


def _n(value: Any) -> int | None:
    return _whole_number(value, "The number of images", 1, MAX_IMAGES)


def _seed(value: Any) -> int | None:
    return _whole_number(value, "The seed", 0, MAX_SEED)


def _size(value: Any) -> str | None:
    size = _text(value, "The size")
    if not size:
        return None
    match = _SIZE.match(size)
    if not match:
        raise ValueError('The size must look like "1024x1024" (width x height).')
    width, height = int(match[1]), int(match[2])
    if not (MIN_EDGE <= width <= MAX_EDGE and MIN_EDGE <= height <= MAX_EDGE):
        raise ValueError(f"Width and height must each be between {MIN_EDGE} and {MAX_EDGE} pixels.")
    return f"{width}x{height}"


def _negative_prompt(value: Any) -> str | None:
    text = _text(value, "The negative prompt")
    if len(text) > MAX_PROMPT_CHARS:
        raise ValueError(f"The negative prompt is at most {MAX_PROMPT_CHARS:,} characters.")
    return text or None


_CHECKS = {
    "prompt": _prompt,
    "model": _model,
    "response_format": _response_format,
    "n": _n,
    "size": _size,
    "seed": _seed,
    "negative_prompt": _negative_prompt,
}


MAX_CELLS = 8
MAX_LISTED = 64


@dataclass(frozen=True)
class CompareRequest:
    """One prompt sent to several models, or one model with several seeds (or both): one request a cell."""

    prompt: str
    cells: list[GenerationRequest]


def parse_compare(fields: Mapping[str, Any]) -> CompareRequest | RequestErrors:
    errors = RequestErrors()
    models = _list(fields.get("models"))
    seeds = _list(fields.get("seeds")) or [None]
    if not models:
        errors["models"] = "Name at least one model."
    elif len(models) * len(seeds) > MAX_CELLS:
        errors["models"] = f"At most {MAX_CELLS} images side by side: {len(models)} models × {len(seeds)} seeds is " \
                           f"{len(models) * len(seeds)}."
    elif len(models) * len(seeds) < 2:
        errors["models"] = "Name at least two models, or one model and two seeds."
    shared = {name: fields.get(name) for name in ("prompt", "response_format", "n", "size", "negative_prompt")}
    cells = []
    for model in models or [DEFAULT_MODEL]:
        for seed in seeds:
            parsed = parse_request({**shared, "model": model, "seed": seed})
            if isinstance(parsed, RequestErrors):
                errors.update({("models" if name == "model" else "seeds" if name == "seed" else name): message
                               for name, message in parsed.items()})
            else:
                cells.append(parsed)
    if errors:
        return errors
    return CompareRequest(cells[0].prompt, cells)


def _list(value: Any) -> list[Any]:
    """A JSON list, or text separated by commas or new lines, without blanks or repeats."""
    if value is None:
        return []
    if isinstance(value, str):
        value = re.split(r"[,\n]", value)
    if not isinstance(value, list):
        return [value]
    unique: list[Any] = []
    for item in value[:MAX_LISTED]:  # anything past these is refused below as too many cells anyway
        item = item.strip() if isinstance(item, str) else item
        if item not in ("", None) and item not in unique:  # by equality: items may be lists, from a JSON body
            unique.append(item)
    return unique + value[MAX_LISTED:]
