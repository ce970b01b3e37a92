"""What a person asks for: reading one generation from a form or a JSON body, checking it, and the body sent
upstream. The field checks are in fields.py; comparisons and blind votes in compare.py."""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Mapping

from proofsheet.asking.bodies import json_problem, loads
from proofsheet.asking.fields import (COMMON_CHECKS, CONTROL, DEFAULT_MODEL, LEAVE_OUT, MAX_ANY_PROMPT,
                                      MAX_PROMPT_CHARS, OPTION_CHECKS, PROOFSHEET_FIELDS, SIZE, blank, check_option,
                                      has_lone_surrogate, text_field)
from proofsheet.upstream.dialects import Dialect, dialect_for

# Also read from here by code written before fields.py and compare.py were split off.
__all__ = ["DEFAULT_MODEL", "MAX_ANY_PROMPT", "PROOFSHEET_FIELDS", "GenerationRequest", "RequestErrors",
           "has_lone_surrogate", "parse_request"]
_IN_COMPARE = ("COMPARE_FIELDS", "CompareRequest", "ArenaRequest", "parse_compare", "parse_arena")


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
        match = SIZE.match(self.size or "")
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
    for name, check in COMMON_CHECKS.items():
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
        name = text_field(value, "The server")
    except ValueError as exc:
        errors["server"] = str(exc)
        return None
    if len(name) > 40 or CONTROL.search(name):
        errors["server"] = "The server must be named by its short name, as on the Servers page."
        return None
    return name or None


def _given_options(fields: Mapping[str, Any], from_form: bool, errors: RequestErrors) -> list[tuple[str, Any]]:
    """Every field that is not a common one or Proofsheet's own, then the Extra fields box's."""
    given = [(name, fields.get(name)) for name in fields.keys()
             if name not in COMMON_CHECKS and name not in PROOFSHEET_FIELDS]
    extras = _extra_fields(fields.get("extra_fields"), errors)
    taken = {name for name, _ in given if not (from_form and blank(fields.get(name)))}
    for name, value in extras.items():
        if name in COMMON_CHECKS or name in PROOFSHEET_FIELDS:
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
        extras = loads(text, "Extra fields")
    except json.JSONDecodeError as exc:
        errors["extra_fields"] = (f"Extra fields are not valid JSON: {exc.msg} (line {exc.lineno}, column "
                                  f"{exc.colno}). Write a JSON object, like {{\"steps\": 30}}.")
        return {}
    except ValueError as exc:
        errors["extra_fields"] = str(exc)
        return {}
    if not isinstance(extras, dict):
        errors["extra_fields"] = "Extra fields must be a JSON object, like {\"steps\": 30}, not a list or a value."
        return {}
    problem = json_problem(extras)
    if problem:
        errors["extra_fields"] = f"Extra fields {problem}"
        return {}
    return extras


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


def __getattr__(name: str) -> Any:
    """The comparison's names, still importable from here: looked up when asked, since compare.py imports this."""
    if name in _IN_COMPARE:
        from proofsheet.asking import compare

        return getattr(compare, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
