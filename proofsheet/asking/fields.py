"""The fields a person fills in: each one's check (with the message that says what to write), the options
Proofsheet knows, and the fields it keeps for itself."""
from __future__ import annotations

import re
from typing import Any

from proofsheet.asking.bodies import SURROGATE, json_problem
from proofsheet.upstream.dialects import Dialect

DEFAULT_MODEL = "flux"
RESPONSE_FORMATS = {"": None, "url": "url", "b64_json": "b64_json"}  # "": the server's default
MAX_PROMPT_CHARS = 4000  # unless the model's dialect says otherwise
MAX_ANY_PROMPT = 32000
MAX_MODEL_CHARS = 200
MAX_IMAGES = 10
MIN_EDGE, MAX_EDGE = 64, 4096
MAX_SEED = 2**63 - 1
SIZE = re.compile(r"^\s*(\d{1,5})\s*[x×]\s*(\d{1,5})\s*$", re.I)
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


LEAVE_OUT = object()


def check_option(name: str, value: Any, dialect: Dialect, from_form: bool) -> Any:
    """A known option, checked (LEAVE_OUT for a blank form field, or null); any other field, as it was given
    (unless it is JSON that cannot be kept or sent, such as 1e400)."""
    if name not in OPTION_CHECKS:
        problem = json_problem(value)
        if problem:
            raise ValueError(f"\"{name}\" {problem}")
        return value
    if value is None or (from_form and blank(value)):
        return LEAVE_OUT
    label, check = OPTION_CHECKS[name]
    checked = check(value, label, from_form)
    allowed = dialect.choices.get(name)
    if allowed and checked not in allowed:
        raise ValueError(f"{dialect.label} take {label.lower()} {_alternatives(allowed)}, not {checked!r}.")
    return checked


def _alternatives(values: tuple[str, ...]) -> str:
    return ", ".join(values[:-1]) + f" or {values[-1]}" if len(values) > 1 else values[0]


def _choice(value: Any, label: str, from_form: bool) -> str:
    text = text_field(value, label)
    if not text or len(text) > 100:
        raise ValueError(f"{label} must be a short word.")
    return text


def _short_text(value: Any, label: str, from_form: bool) -> str:
    text = text_field(value, label)
    if len(text) > 500 or CONTROL.search(text):
        raise ValueError(f"{label} must be one line of at most 500 characters.")
    return text


def _flag(value: Any, label: str, from_form: bool) -> bool:
    if isinstance(value, bool):
        return value
    if from_form and isinstance(value, str) and value.strip().lower() in ("on", "true", "1", "yes", "false", "0",
                                                                             "no", "off"):
        return value.strip().lower() in ("on", "true", "1", "yes")
    raise ValueError(f"{label} must be true or false.")


def _ranged(low: int, high: int) -> Any:
    def check(value: Any, label: str, from_form: bool) -> int:
        number = _whole_number(value, label, low, high)
        if number is None:
            raise ValueError(f"{label} must be a whole number.")
        return number
    return check


def _decimal(value: Any, label: str, from_form: bool) -> float | int:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError(f"{label} must be a number.")
    try:
        number = float(value) if isinstance(value, str) else value
    except ValueError:
        raise ValueError(f"{label} must be a number, like 7.5.") from None
    if not 0 <= number <= 100:
        raise ValueError(f"{label} must be between 0 and 100.")
    return int(number) if float(number).is_integer() else number


# Options Proofsheet knows: (label, check). Which values each model family takes is in the dialect table.
OPTION_CHECKS: dict[str, tuple[str, Any]] = {
    "quality": ("Quality", _choice),
    "style": ("Style", _choice),
    "background": ("Background", _choice),
    "output_format": ("Output format", _choice),
    "output_compression": ("Output compression", _ranged(0, 100)),
    "moderation": ("Moderation", _choice),
    "input_fidelity": ("Input fidelity", _choice),
    "stream": ("Stream", _flag),
    "partial_images": ("Partial images", _ranged(0, 3)),
    "user": ("User", _short_text),
    "provider": ("Provider", _short_text),
    "aspect_ratio": ("Aspect ratio", _short_text),
    "width": ("Width", _ranged(MIN_EDGE, 8192)),
    "height": ("Height", _ranged(MIN_EDGE, 8192)),
    "num_inference_steps": ("Steps", _ranged(1, 500)),
    "guidance_scale": ("Guidance", _decimal),
    "resolution": ("Resolution", _short_text),
    "download_media": ("Download media", _flag),
}
# Proofsheet's own fields: read by Proofsheet, never sent upstream.
PROOFSHEET_FIELDS = frozenset({"client_ref", "group_id", "group_position", "extra_fields", "csrf_token",
                               "source_generation", "source_image", "server"})


def text_field(value: Any, label: str) -> str:
    """A text field, stripped; "" when it is missing."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValueError(f"{label} must be text.")
    if SURROGATE.search(value):
        raise ValueError(f"{label} contains a lone UTF-16 surrogate, which is not a character.")
    return value.strip()


def has_lone_surrogate(value: Any) -> bool:
    """Anywhere in a JSON value, keys included: such text cannot be stored or sent on."""
    if isinstance(value, str):
        return bool(SURROGATE.search(value))
    if isinstance(value, list):
        return any(has_lone_surrogate(entry) for entry in value)
    if isinstance(value, dict):
        return any(has_lone_surrogate(key) or has_lone_surrogate(entry) for key, entry in value.items())
    return False


def _prompt(value: Any) -> str:
    prompt = text_field(value, "The prompt")
    if not prompt:
        raise ValueError("Write a prompt: it cannot be blank.")
    if len(prompt) > MAX_ANY_PROMPT:
        raise ValueError(f"The prompt is {len(prompt):,} characters; at most {MAX_ANY_PROMPT:,} are allowed.")
    if CONTROL.search(prompt):
        raise ValueError("The prompt contains control characters; remove them.")
    return prompt


def _model(value: Any) -> str:
    model = text_field(value, "The model") or DEFAULT_MODEL
    if len(model) > MAX_MODEL_CHARS or CONTROL.search(model) or "\n" in model:
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
    size = text_field(value, "The size")
    if not size:
        return None
    if size.lower() == "auto":
        return "auto"
    match = SIZE.match(size)
    if not match:
        raise ValueError('The size must look like "1024x1024" (width x height), or be "auto".')
    width, height = int(match[1]), int(match[2])
    if not (MIN_EDGE <= width <= MAX_EDGE and MIN_EDGE <= height <= MAX_EDGE):
        raise ValueError(f"Width and height must each be between {MIN_EDGE} and {MAX_EDGE} pixels.")
    return f"{width}x{height}"


def _negative_prompt(value: Any) -> str | None:
    text = text_field(value, "The negative prompt")
    if len(text) > MAX_PROMPT_CHARS:
        raise ValueError(f"The negative prompt is at most {MAX_PROMPT_CHARS:,} characters.")
    return text or None


# The common fields of every request, each with its check.
COMMON_CHECKS = {
    "prompt": _prompt,
    "model": _model,
    "response_format": _response_format,
    "n": _n,
    "size": _size,
    "seed": _seed,
    "negative_prompt": _negative_prompt,
}
