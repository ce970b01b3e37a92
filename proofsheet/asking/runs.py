"""What a person asks a prompt-set run for: prompts (pasted, a list, or a .txt, .csv or .jsonl file with per-row
fields) × targets (server, model, fields) × repeats, read and checked into the cells to queue.

Every cell is checked as the single generation it will be, before anything is queued: a bad row or target is
named, with its row number, and nothing starts.
"""
from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from proofsheet.asking.fields import CONTROL, blank
from proofsheet.asking.generation import GenerationRequest, RequestErrors, parse_request
from proofsheet.history.prices import PriceTable
from proofsheet.history.runs import PlannedCell

MAX_CELLS = 10_000  # calls in one run: a long night against a fast server; split anything larger into runs
MAX_TARGETS = 16
MAX_REPEATS = 100
DEFAULT_CONCURRENCY = 4  # calls in flight at once per server: polite to a shared server, quick enough for a local one
MAX_CONCURRENCY = 16
MAX_NAME = 60
FILE_KINDS = (".txt", ".csv", ".jsonl")
ROW_ONLY = ("model", "server")  # a target names these, never a prompt row
_WHOLE = re.compile(r"^-?[0-9]{1,18}$")


@dataclass(frozen=True)
class PromptRow:
    """One prompt, the fields sent with it (a size, a seed...) and its category, if any."""

    prompt: str
    fields: dict[str, Any]
    category: str | None = None


@dataclass(frozen=True)
class RunRequest:
    name: str
    prompts: list[PromptRow]
    targets: list[dict[str, Any]]
    repeats: int
    concurrency: int
    dry_run: bool
    planned: list[PlannedCell]
    cells: list[GenerationRequest]  # each planned cell as checked, in the same order

    @property
    def total(self) -> int:
        return len(self.planned)


def read_prompt_file(filename: str, data: bytes) -> list[PromptRow] | str:
    """The prompts of a .txt (one a line), .csv (a `prompt` column) or .jsonl (a `prompt` field) file, each row's
    other columns or fields sent with it; or a message saying what is wrong with the file."""
    kind = next((kind for kind in FILE_KINDS if filename.lower().endswith(kind)), None)
    if kind is None:
        return f"A prompt file is .txt (one prompt a line), .csv or .jsonl (with a \"prompt\" column or field), " \
               f"not {filename[:80]!r}."
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return f"{filename[:80]} is not UTF-8 text."
    if kind == ".txt":
        return text_prompts(text)
    return _csv_rows(text, filename) if kind == ".csv" else _jsonl_rows(text, filename)


def text_prompts(text: str) -> list[PromptRow]:
    """Pasted prompts: one a line, blank lines left out."""
    return [PromptRow(line.strip(), {}) for line in text.splitlines() if line.strip()]


def parse_run(fields: Mapping[str, Any], default_server: str,
              file_rows: list[PromptRow] | None = None) -> RunRequest | RequestErrors:
    """Read and check a run: `prompts` (a list of strings or {"prompt", ...fields} objects, or text one a line) or
    the rows of a file; `targets` [{"model", "server"?, ...fields}]; `repeats`, `concurrency`, `name`, `dry_run`."""
    errors = RequestErrors()
    prompts = file_rows if file_rows is not None else _given_prompts(fields.get("prompts"), errors)
    targets = _targets(fields.get("targets"), default_server, errors)
    repeats = _count(fields.get("repeats"), "repeats", 1, MAX_REPEATS, 1, errors)
    concurrency = _count(fields.get("concurrency"), "concurrency", 1, MAX_CONCURRENCY, DEFAULT_CONCURRENCY, errors)
    name = _name(fields.get("name"), prompts, errors)
    if fields.get("dry_run") not in (None, True, False):  # never a run started for a dry run misspelt
        errors["dry_run"] = "\"dry_run\" is true or false."
    if not prompts and "prompts" not in errors:
        errors["prompts"] = "Give at least one prompt: paste them one a line, or choose a .txt, .csv or .jsonl file."
    if errors:
        return errors
    total = len(prompts) * len(targets) * repeats
    if total > MAX_CELLS:
        errors["prompts"] = f"At most {MAX_CELLS:,} calls in one run: {len(prompts):,} prompts × {len(targets)} " \
                            f"targets × {repeats} repeats is {total:,}. Split the prompts into several runs."
        return errors
    planned, cells = _cells(prompts, targets, repeats, errors)
    if errors:
        return errors
    return RunRequest(name, prompts, targets, repeats, concurrency, fields.get("dry_run") is True, planned, cells)


def estimate(parsed: RunRequest, prices: PriceTable) -> dict[str, Any]:
    """The calls a run makes and what they would cost, per target and in all, from the price table; "unknown"
    where a target's model has no price, or is priced by tokens (known only from each answer's usage)."""
    per_target = [{"server": target["server"], "model": target["model"], "calls": 0, "cost_usd": 0.0}
                  for target in parsed.targets]
    for planned, cell in zip(parsed.planned, parsed.cells):
        entry = per_target[planned.target_index]
        entry["calls"] += 1
        if entry["cost_usd"] != "unknown":
            cost = prices.estimate(cell.model, cell.to_body(), None, cell.n or 1)
            entry["cost_usd"] = entry["cost_usd"] + cost.usd if cost else "unknown"
    for entry in per_target:
        entry["cost_usd"] = round(entry["cost_usd"], 6) if entry["cost_usd"] != "unknown" else "unknown"
    known = all(entry["cost_usd"] != "unknown" for entry in per_target)
    return {"calls": parsed.total, "targets": per_target,
            "cost_usd": round(sum(entry["cost_usd"] for entry in per_target), 6) if known else "unknown"}


def _cells(prompts: list[PromptRow], targets: list[dict[str, Any]], repeats: int,
           errors: RequestErrors) -> tuple[list[PlannedCell], list[GenerationRequest]]:
    """Every call, prompt by prompt (so a stopped run has whole prompts done), each checked as it will be sent."""
    planned, cells = [], []
    for prompt_index, row in enumerate(prompts):
        for target_index, target in enumerate(targets):
            for repeat in range(repeats):
                sent = {**target, **row.fields, "prompt": row.prompt, "model": target["model"]}
                if repeat and isinstance(sent.get("seed"), int):
                    sent["seed"] += repeat  # repeats of a seeded prompt: the next seeds
                parsed = parse_request(sent)
                if isinstance(parsed, RequestErrors):
                    about_row = "prompt" in parsed or any(name in row.fields for name in parsed)
                    errors["prompts" if about_row else "targets"] = \
                        f"Prompt {prompt_index + 1} with target {target_index + 1} ({target['model']}): " \
                        f"{parsed.summary()}"
                    return [], []
                planned.append(PlannedCell(prompt_index, target_index, repeat, target["server"], sent, row.category))
                cells.append(parsed)
    return planned, cells


def _given_prompts(given: Any, errors: RequestErrors) -> list[PromptRow]:
    if isinstance(given, str):
        return text_prompts(given)
    if given is None:
        return []
    if not isinstance(given, list):
        errors["prompts"] = "\"prompts\" is a list of prompts (or of {\"prompt\": ..., and fields} objects)."
        return []
    rows = _rows((f"Prompt {number}", {"prompt": item} if isinstance(item, str) else item)
                 for number, item in enumerate(given, start=1))
    if isinstance(rows, str):
        errors["prompts"] = rows
        return []
    return rows


def _row(item: Any, where: str) -> PromptRow | str | None:
    """One prompt row from an object; a message when it is not one; None for a blank prompt (left out)."""
    if not isinstance(item, dict):
        return f"{where} is not a prompt, nor a JSON object with a \"prompt\"."
    prompt = item.get("prompt")
    if not isinstance(prompt, str):
        return f"{where} has no \"prompt\" text."
    if not prompt.strip():
        return None
    named = [name for name in ROW_ONLY if name in item]
    if named:
        return f"{where} names {named[0]!r}: the targets say which model and server each prompt goes to."
    category = item.get("category")
    if category is not None and (not isinstance(category, str) or len(category) > MAX_NAME or CONTROL.search(category)):
        return f"{where}'s category must be one line of at most {MAX_NAME} characters."
    fields = {name: value for name, value in item.items() if name not in ("prompt", "category")}
    return PromptRow(prompt.strip(), fields, category.strip() or None if category else None)


def _csv_rows(text: str, filename: str) -> list[PromptRow] | str:
    try:
        reader = csv.DictReader(io.StringIO(text))
        if not reader.fieldnames or "prompt" not in [name.strip() for name in reader.fieldnames]:
            return f"{filename[:80]} needs a header row with a \"prompt\" column."
        return _rows((f"Row {number} of {filename[:80]}",
                      {(name or "").strip(): _cell_value(value) for name, value in record.items()
                       if name and isinstance(value, str) and value.strip()})
                     for number, record in enumerate(reader, start=2))
    except csv.Error as exc:
        return f"{filename[:80]} is not a CSV file Proofsheet can read ({exc})."


def _cell_value(value: str) -> Any:
    """A CSV cell: a whole number (a seed, n) as a number, anything else as its text."""
    value = value.strip()
    return int(value) if _WHOLE.match(value) else value


def _jsonl_rows(text: str, filename: str) -> list[PromptRow] | str:
    return _rows((f"Line {number} of {filename[:80]}", _json_or_none(line))
                 for number, line in enumerate(text.splitlines(), start=1) if line.strip())


def _json_or_none(line: str) -> Any:
    try:
        return json.loads(line)
    except (ValueError, RecursionError):
        return None


def _rows(items: Iterable[tuple[str, Any]]) -> list[PromptRow] | str:
    """The prompt rows of (where, item) pairs, blank prompts left out; or what is wrong with the first bad one."""
    rows = []
    for where, item in items:
        row = _row(item, where)
        if isinstance(row, str):
            return row
        if row is not None:
            rows.append(row)
        if len(rows) > MAX_CELLS:
            break  # refused as too many calls anyway
    return rows


def _targets(given: Any, default_server: str, errors: RequestErrors) -> list[dict[str, Any]]:
    """Each (server, model, fields) to ask, as in Compare; a row without a server goes to the default one."""
    if not isinstance(given, list) or not all(isinstance(target, dict) for target in given):
        errors["targets"] = "\"targets\" must be a list of objects, like [{\"server\": \"openai\", \"model\": " \
                            "\"gpt-image-1\"}]."
        return []
    targets = []
    for target in given:
        if blank(target.get("model")):
            continue  # an empty row of the form
        entry = {**target, "server": target.get("server") or default_server}
        if entry not in targets:
            targets.append(entry)
    if not targets:
        errors["targets"] = "Name at least one target: a model, on a server."
    elif len(targets) > MAX_TARGETS:
        errors["targets"] = f"At most {MAX_TARGETS} targets in one run, not {len(targets)}."
    return targets


def _count(value: Any, name: str, low: int, high: int, default: int, errors: RequestErrors) -> int:
    if value is None or value == "":
        return default
    if isinstance(value, str) and _WHOLE.match(value.strip()):
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        errors[name] = f"\"{name}\" is a whole number from {low} to {high}."
        return default
    return value


def _name(value: Any, prompts: list[PromptRow], errors: RequestErrors) -> str:
    if value is None or (isinstance(value, str) and not value.strip()):
        first = " ".join(prompts[0].prompt.split()) if prompts else "run"
        return (first[:40] + "…") if len(first) > 40 else first
    if not isinstance(value, str) or len(value.strip()) > MAX_NAME or CONTROL.search(value):
        errors["name"] = f"The run's name must be one line of at most {MAX_NAME} characters."
        return ""
    return value.strip()
