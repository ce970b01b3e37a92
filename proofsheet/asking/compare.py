"""What a person asks a comparison for (one prompt across models, seeds, prompts or a field's values, as a grid)
and a blind vote (the same, two to four contenders judged without their names)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Mapping

from proofsheet.asking.fields import CONTROL, DEFAULT_MODEL, PROOFSHEET_FIELDS, blank
from proofsheet.asking.generation import GenerationRequest, RequestErrors, parse_request
from proofsheet.results import target_label


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
        if blank(target.get("model")):
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
                                 or CONTROL.search(category)):
        errors["category"] = "The category must be one line of at most 60 characters, like \"portraits\"."
    named = len([c for c in contenders if not isinstance(c, dict) or not blank(c.get("model"))]) \
        if isinstance(contenders, list) else 0
    if isinstance(parsed, RequestErrors):
        errors.update({("targets" if name == "models" else name): message for name, message in parsed.items()})
    if isinstance(contenders, list) and not 2 <= named <= MAX_CONTENDERS:
        errors["targets"] = f"A blind vote takes two to four contenders, not {named}."
    if errors:
        return errors
    return ArenaRequest(parsed, category.strip() or None if isinstance(category, str) else None)
