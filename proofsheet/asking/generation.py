"""What a person asks for: reading it from a form or a JSON body, checking it, and the body sent upstream."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Mapping

from proofsheet.results import target_label
from proofsheet.upstream.dialects import Dialect, dialect_for

DEFAULT_MODEL = "flux"
RESPONSE_FORMATS = {"": None, "url": "url", "b64_json": "b64_json"}  # "": the server's default
MAX_PROMPT_CHARS = 4000  # unless the model's dialect says otherwise
MAX_ANY_PROMPT = 32000
MAX_MODEL_CHARS = 200
MAX_IMAGES = 10
MIN_EDGE, MAX_EDGE = 64, 4096
MAX_SEED = 2**63 - 1
_SIZE = re.compile(r"^\s*(\d{1,5})\s*[x×]\s*(\d{1,5})\s*$", re.I)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")


@dataclass(frozen=True)
class GenerationRequest:
    """What is sent upstream: the checked common fields, then every other field in the order it was given."""

    prompt: str
    model: str = DEFAULT_MODEL
    response_format: str | None = None
    n: int | None = None
    size: str | None = None
    seed: int | None = None
    negative_prompt: str | None = None
    options: tuple[tuple[str, Any], ...] = ()  # quality, background, provider, ... and fields Proofsheet does not know
    send_response_format: bool = True  # False for models that refuse the key (gpt-image) unless one was picked
    server: str | None = None  # the named image server to ask; None: the default one. Never sent upstream.

    def to_body(self) -> dict[str, Any]:
        """The upstream body: model and prompt always, response_format as the dialect wants, the rest when set."""
        body: dict[str, Any] = {"model": self.model, "prompt": self.prompt}
        if self.send_response_format:
            body["response_format"] = self.response_format
        for name in ("n", "size", "seed", "negative_prompt"):
            value = getattr(self, name)
            if value is not None:
                body[name] = value
        body.update(self.options)
        return body

    def to_cell(self) -> dict[str, Any]:
        """A comparison's cell: the body, and the server it goes to when that is not the default one."""
        return {**self.to_body(), "server": self.server} if self.server else self.to_body()

    def option(self, name: str) -> Any:
        return dict(self.options).get(name)

    @property
    def streams(self) -> bool:
        return self.option("stream") is True

    @property
    def asked_size(self) -> tuple[int, int] | None:
        match = _SIZE.match(self.size or "")
        return (int(match[1]), int(match[2])) if match else None


class RequestErrors(dict):
    """Field name → message, for the form and the JSON API alike."""

    def summary(self) -> str:
        return " ".join(self.values())


def parse_request(fields: Mapping[str, Any], from_form: bool = False) -> GenerationRequest | RequestErrors:
    """Read and check a form or a JSON object; never raises on bad input.

    The common fields are checked and normalised; the options a dialect knows are checked when present; every other
    field is passed on untouched. A form's "Extra fields (JSON)" box is merged in as if its fields had been sent.
    """
    errors = RequestErrors()
    values: dict[str, Any] = {}
    for name, check in _CHECKS.items():
        try:
            values[name] = check(fields.get(name))
        except ValueError as exc:
            errors[name] = str(exc)
    dialect = dialect_for(values.get("model") or DEFAULT_MODEL)
    given = _given_options(fields, from_form, errors)
    options = []
    for name, value in given:
        try:
            checked = check_option(name, value, dialect, from_form)
        except ValueError as exc:
            errors[name if name in OPTION_CHECKS and not _from_extras(fields, name) else "extra_fields"] = str(exc)
            continue
        if checked is not LEAVE_OUT:
            options.append((name, checked))
    _check_together(values, dict(options), dialect, errors)
    server = _server_name(fields.get("server"), errors)
    if errors:
        return errors
    picked = fields.get("response_format")
    send = dialect.response_format_default == "null" or bool(picked)
    return GenerationRequest(**values, options=tuple(options), send_response_format=send, server=server)


def _server_name(value: Any, errors: RequestErrors) -> str | None:
    """Which named server to ask (whether it exists is for the caller to say: it knows the servers)."""
    try:
        name = _text(value, "The server")
    except ValueError as exc:
        errors["server"] = str(exc)
        return None
    if len(name) > 40 or _CONTROL.search(name):
        errors["server"] = "The server must be named by its short name, as on the Servers page."
        return None
    return name or None


def _given_options(fields: Mapping[str, Any], from_form: bool, errors: RequestErrors) -> list[tuple[str, Any]]:
    """Every field that is not a common one or Proofsheet's own, then the Extra fields box's."""
    given = [(name, fields.get(name)) for name in fields.keys()
             if name not in _CHECKS and name not in PROOFSHEET_FIELDS]
    extras = _extra_fields(fields.get("extra_fields"), errors)
    taken = {name for name, _ in given if not (from_form and _blank(fields.get(name)))}
    for name, value in extras.items():
        if name in _CHECKS or name in PROOFSHEET_FIELDS:
            errors["extra_fields"] = f"\"{name}\" has its own field in the form; remove it from Extra fields."
        elif name in taken:
            errors["extra_fields"] = f"\"{name}\" is set both in its own field and in Extra fields; keep one."
        else:
            given.append((name, value))
    return given


def _from_extras(fields: Mapping[str, Any], name: str) -> bool:
    text = fields.get("extra_fields")
    return isinstance(text, str) and f'"{name}"' in text and name not in fields


def _extra_fields(text: Any, errors: RequestErrors) -> dict[str, Any]:
    if text is None or (isinstance(text, str) and not text.strip()):
        return {}
    if isinstance(text, dict):
        return text
    if not isinstance(text, str):
        errors["extra_fields"] = "Extra fields must be a JSON object, like {\"steps\": 30}."
        return {}
    try:
        extras = json.loads(text)
    except json.JSONDecodeError as exc:
        errors["extra_fields"] = (f"Extra fields are not valid JSON: {exc.msg} (line {exc.lineno}, column "
                                  f"{exc.colno}). Write a JSON object, like {{\"steps\": 30}}.")
        return {}
    except RecursionError:
        errors["extra_fields"] = "Extra fields are nested too deeply."
        return {}
    if not isinstance(extras, dict):
        errors["extra_fields"] = "Extra fields must be a JSON object, like {\"steps\": 30}, not a list or a value."
        return {}
    if has_lone_surrogate(extras):
        errors["extra_fields"] = "Extra fields contain a lone UTF-16 surrogate, which is not a character."
        return {}
    return extras


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


LEAVE_OUT = object()


def check_option(name: str, value: Any, dialect: Dialect, from_form: bool) -> Any:
    """A known option, checked (LEAVE_OUT for a blank form field, or null); any other field, as it was given."""
    if name not in OPTION_CHECKS:
        return value
    if value is None or (from_form and _blank(value)):
        return LEAVE_OUT
    label, check = OPTION_CHECKS[name]
    checked = check(value, label, from_form)
    allowed = dialect.choices.get(name)
    if allowed and checked not in allowed:
        raise ValueError(f"{dialect.label} take {label.lower()} {_alternatives(allowed)}, not {checked!r}.")
    return checked


def _check_together(values: dict[str, Any], options: dict[str, Any], dialect: Dialect, errors: RequestErrors) -> None:
    if options.get("background") == "transparent" and options.get("output_format") == "jpeg":
        errors["background"] = "A transparent background needs the png or webp output format, not jpeg."
    n = values.get("n")
    if n and n > dialect.max_n:
        errors["n"] = f"{dialect.label} makes at most {dialect.max_n} image{'s' * (dialect.max_n != 1)} per " \
                      f"request (n={dialect.max_n})."
    prompt = values.get("prompt") or ""
    if "prompt" not in errors and len(prompt) > dialect.max_prompt:
        errors["prompt"] = f"The prompt is {len(prompt):,} characters; at most {dialect.max_prompt:,} are allowed" \
                           + (f" for {dialect.label}." if dialect.max_prompt != MAX_PROMPT_CHARS else ".")


def _alternatives(values: tuple[str, ...]) -> str:
    return ", ".join(values[:-1]) + f" or {values[-1]}" if len(values) > 1 else values[0]


def _choice(value: Any, label: str, from_form: bool) -> str:
    text = _text(value, label)
    if not text or len(text) > 100:
        raise ValueError(f"{label} must be a short word.")
    return text


def _short_text(value: Any, label: str, from_form: bool) -> str:
    text = _text(value, label)
    if len(text) > 500 or _CONTROL.search(text):
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
    if len(prompt) > MAX_ANY_PROMPT:
        raise ValueError(f"The prompt is {len(prompt):,} characters; at most {MAX_ANY_PROMPT:,} are allowed.")
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
    if size.lower() == "auto":
        return "auto"
    match = _SIZE.match(size)
    if not match:
        raise ValueError('The size must look like "1024x1024" (width x height), or be "auto".')
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


MAX_CELLS = 16
MAX_LISTED = 64
_FIELD_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,63}$")


@dataclass(frozen=True)
class CompareRequest:
    """One prompt sent to several models (columns), optionally along a second axis (rows: seeds, prompts or one
    field's values), as an X/Y grid: one request a cell, along the rows."""

    prompt: str
    cells: list[GenerationRequest]
    layout: dict[str, Any] | None = None  # {"columns", "rows", "row_axis"} when the grid has rows


@dataclass(frozen=True)
class RowAxis:
    name: str  # "seed", "prompt" or a field's name
    labels: list[str]
    overrides: list[dict[str, Any]]  # what each row sets in its cells' requests
    error_key: str  # where a bad value's message goes
    asked: tuple[str, list[Any]] = ("", [])  # the axis and values as given, to fill the form again


def parse_compare(fields: Mapping[str, Any], from_form: bool = False) -> CompareRequest | RequestErrors:
    """Columns: `models` (on one `server`) and/or `targets` ([{"server", "model", ...its own fields}]).
    Rows, at most one axis: `seeds`, `prompts`, `prompt_sr` (search/replace in the prompt, as AUTOMATIC1111's X/Y
    plot does) or `y_axis` with `y_values` (seed, prompt, prompt_sr, or any field such as quality, size, style)."""
    errors = RequestErrors()
    targets = _targets(fields, errors)
    axis = _row_axis(fields, errors)
    rows = len(axis.labels) if axis else 1
    if not targets and "targets" not in errors:
        errors["models"] = "Name at least one model."
    elif len(targets) * rows > MAX_CELLS:
        errors["models"] = f"At most {MAX_CELLS} images in one grid: {len(targets)} model{'s' * (len(targets) != 1)} " \
                           f"× {rows} {_axis_plural(axis)} is {len(targets) * rows}."
    elif len(targets) * rows < 2 and targets:
        errors["models"] = "Name at least two models, or one model and two seeds (or prompts, or values)."
    shared = {name: fields.get(name) for name in fields.keys() if name not in COMPARE_FIELDS}
    cells = []
    for overrides in (axis.overrides if axis else [{}]):
        for target in targets or [{"model": DEFAULT_MODEL}]:
            parsed = parse_request({**shared, **target, **overrides}, from_form)
            if isinstance(parsed, RequestErrors):
                for name, message in parsed.items():
                    key = "models" if name == "model" else axis.error_key if axis and name in overrides else name
                    errors[key] = message
            else:
                cells.append(parsed)
    if errors:
        return errors
    layout = None
    if axis:
        layout = {"columns": [_column_label(target, targets) for target in targets], "rows": axis.labels,
                  "row_axis": axis.name, "y_axis": axis.asked[0], "y_values": axis.asked[1]}
    return CompareRequest(cells[0].prompt, cells, layout)


def _axis_plural(axis: RowAxis | None) -> str:
    return {"seed": "seeds", "prompt": "prompts", None: "seeds"}.get(axis.name if axis else None, "values")


def _column_label(target: dict[str, Any], targets: list[dict[str, Any]]) -> str:
    """"server · model" when the grid spans servers, else the model."""
    return target_label(target, len({t.get("server") or "" for t in targets}) > 1)


# A comparison's own fields: the rest are shared by every cell.
COMPARE_FIELDS = frozenset({"models", "seeds", "model", "seed", "targets", "client_ref", "group_id", "group_position",
                            "target_server", "target_model", "prompts", "prompt_sr", "y_axis", "y_values"})


def _row_axis(fields: Mapping[str, Any], errors: RequestErrors) -> RowAxis | None:
    """The grid's rows, if any: which axis, each row's label and what it sets."""
    given = [name for name in ("seeds", "prompts", "prompt_sr") if not _blank_list(fields.get(name))]
    name = fields.get("y_axis")
    if isinstance(name, str) and name.strip() and not _blank_list(fields.get("y_values")):
        given.append("y_axis")
    if len(given) > 1:
        errors["y_axis"] = "Choose one axis for the rows: seeds, prompts, a prompt search/replace or one field."
        return None
    if not given:
        return None
    if given[0] == "y_axis":
        axis, values, key = name.strip(), fields.get("y_values"), "y_values"
        axis = {"seeds": "seed", "prompts": "prompt"}.get(axis, axis)
    else:
        axis, values, key = {"seeds": "seed", "prompts": "prompt", "prompt_sr": "prompt_sr"}[given[0]], \
            fields.get(given[0]), given[0]
    if axis == "seed":
        seeds = _list(values)
        return RowAxis("seed", [f"seed {seed}" for seed in seeds], [{"seed": seed} for seed in seeds], key,
                       ("seed", seeds))
    if axis == "prompt":
        prompts = _list(values, lines_only=True)
        return RowAxis("prompt", [str(p) for p in prompts], [{"prompt": p} for p in prompts], key, ("prompt", prompts))
    if axis == "prompt_sr":
        return _search_replace(fields.get("prompt"), _list(values), key, errors)
    if not _FIELD_NAME.match(axis) or axis in COMPARE_FIELDS or axis in PROOFSHEET_FIELDS or axis == "model":
        errors["y_axis"] = f"{axis[:64]!r} cannot be a row axis: choose seed, prompt, prompt_sr or a field such as " \
                           "quality, size or style."
        return None
    chosen = _list(values)
    return RowAxis(axis, [f"{axis}: {value}" for value in chosen], [{axis: value} for value in chosen], key,
                   (axis, chosen))


def _search_replace(prompt: Any, values: list[Any], key: str, errors: RequestErrors) -> RowAxis | None:
    """AUTOMATIC1111's Prompt S/R: the first value is looked for in the prompt; each row replaces it with one value
    (the first row is the prompt as written)."""
    if not all(isinstance(value, str) for value in values) or len(values) < 2:
        errors[key] = "Prompt search/replace takes at least two words: the one in the prompt, then its replacements."
        return None
    if not isinstance(prompt, str) or values[0] not in prompt:
        errors[key] = f"Prompt search/replace looks for {values[0]!r} in the prompt, and it is not there."
        return None
    return RowAxis("prompt", values, [{"prompt": prompt.replace(values[0], value)} for value in values], key,
                   ("prompt_sr", values))


def _blank_list(value: Any) -> bool:
    return value is None or value == [] or (isinstance(value, str) and not value.strip())


def _targets(fields: Mapping[str, Any], errors: RequestErrors) -> list[dict[str, Any]]:
    """Each (server, model) to ask: `models` on the comparison's `server`, then each entry of `targets`."""
    server = fields.get("server")
    targets = [{"model": model, "server": server} for model in _list(fields.get("models"))]
    given = fields.get("targets")
    if given is None:
        return targets
    if not isinstance(given, list) or not all(isinstance(target, dict) for target in given):
        errors["targets"] = "\"targets\" must be a list of objects, like [{\"server\": \"openai\", \"model\": " \
                            "\"gpt-image-1\"}]."
        return targets
    for target in given[:MAX_LISTED]:
        if _blank(target.get("model")):
            continue  # an empty row of the form
        entry = {name: value for name, value in target.items() if name not in COMPARE_FIELDS or name == "model"}
        entry["server"] = entry.get("server") or server  # a row without a server: the comparison's own
        if entry not in targets:
            targets.append(entry)
    return targets + given[MAX_LISTED:]


def _list(value: Any, lines_only: bool = False) -> list[Any]:
    """A JSON list, or text separated by commas or new lines (only new lines for prompts), without blanks or
    repeats."""
    if value is None:
        return []
    if isinstance(value, str):
        value = re.split(r"\n" if lines_only else r"[,\n]", value)
    if not isinstance(value, list):
        return [value]
    unique: list[Any] = []
    for item in value[:MAX_LISTED]:  # anything past these is refused below as too many cells anyway
        item = item.strip() if isinstance(item, str) else item
        if item not in ("", None) and item not in unique:  # by equality: items may be lists, from a JSON body
            unique.append(item)
    return unique + value[MAX_LISTED:]


MAX_CONTENDERS = 4


@dataclass(frozen=True)
class ArenaRequest:
    """One prompt for two to four contenders, judged blind; an optional category groups the leaderboard."""

    compare: CompareRequest
    category: str | None


def parse_arena(fields: Mapping[str, Any], from_form: bool = False) -> ArenaRequest | RequestErrors:
    """`contenders` ([{"model", "server"?}]) or the form's rows; every other field is shared, as in a comparison."""
    errors = RequestErrors()
    contenders = fields.get("contenders", fields.get("targets"))
    if contenders is None or contenders == []:
        errors["targets"] = "Name two to four contenders (models, each on its server)."
        return errors
    shared = {name: value for name, value in fields.items()
              if name not in ("contenders", "category", "seeds", "prompts", "prompt_sr", "y_axis", "y_values")}
    parsed = parse_compare({**shared, "targets": contenders}, from_form)
    category = fields.get("category")
    if category is not None and (not isinstance(category, str) or len(category.strip()) > 60
                                 or _CONTROL.search(category)):
        errors["category"] = "The category must be one line of at most 60 characters, like \"portraits\"."
    named = len([c for c in contenders if not isinstance(c, dict) or not _blank(c.get("model"))]) \
        if isinstance(contenders, list) else 0
    if isinstance(parsed, RequestErrors):
        errors.update({("targets" if name == "models" else name): message for name, message in parsed.items()})
    if isinstance(contenders, list) and not 2 <= named <= MAX_CONTENDERS:
        errors["targets"] = f"A blind vote takes two to four contenders, not {named}."
    if errors:
        return errors
    return ArenaRequest(parsed, category.strip() or None if isinstance(category, str) else None)
