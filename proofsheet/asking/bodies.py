"""Reading a JSON body: the value it holds when Proofsheet can keep it and send it on, or a message saying why not.

JSON that Python would take but Proofsheet cannot keep is refused here, at the door, rather than failing later
where it is stored or sent: nesting deeper than any request needs (it would exhaust the stack of the code that
walks it), a lone UTF-16 surrogate (SQLite and UTF-8 refuse it), and NaN, Infinity or a number past a float's range
(not JSON when written out again).
"""
from __future__ import annotations

import json
import math
import re
from typing import Any

MAX_DEPTH = 100  # a request's fields nest a few levels; a chat call's content parts, a dozen
SURROGATE = re.compile(r"[\ud800-\udfff]")  # a lone UTF-16 surrogate: not a character


class NotJson(ValueError):
    """The bytes are not JSON text at all: not UTF-8, or not JSON's grammar."""


def read_json(raw: bytes, subject: str = "The body", finite: bool = True) -> Any:
    """The JSON value in `raw`; NotJson when it holds none, ValueError for JSON Proofsheet cannot keep.

    With `finite` False, NaN, Infinity and 1e400 are let through for the fields' own checks to name.
    """
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise NotJson(f"{subject} is not UTF-8 text.") from None
    try:
        value = loads(text, subject)
    except json.JSONDecodeError as exc:
        raise NotJson(f"{subject} is not valid JSON (line {exc.lineno}, column {exc.colno}).") from None
    problem = json_problem(value, finite)
    if problem:
        raise ValueError(f"{subject} {problem}")
    return value


def loads(text: str, subject: str) -> Any:
    """json.loads; ValueError when the text is nested past Python's stack or holds a number too long to read."""
    try:
        return json.loads(text)
    except RecursionError:
        raise ValueError(f"{subject} {_too_deep()}") from None
    except json.JSONDecodeError:
        raise
    except ValueError:  # an integer of more digits than Python converts (4,300)
        raise NotJson(f"{subject} is not valid JSON: a number in it is too long.") from None


def json_problem(value: Any, finite: bool = True) -> str | None:
    """What makes a JSON value one Proofsheet cannot keep (too deep, a lone surrogate, and unless `finite` is False
    NaN or an infinite number), said after its subject."""
    waiting = [(value, 1)]
    while waiting:  # a loop, not recursion: the depth is what is being checked
        item, depth = waiting.pop()
        if depth > MAX_DEPTH:
            return _too_deep()
        if isinstance(item, str) and SURROGATE.search(item):
            return ("contains a lone UTF-16 surrogate (such as \\ud800), which is not a character; send valid "
                    "Unicode text.")
        if finite and isinstance(item, float) and not math.isfinite(item):
            return ("holds a number JSON cannot carry (NaN, Infinity, or one past ±1.8e308 such as 1e400); send a "
                    "finite number.")
        if isinstance(item, list):
            waiting.extend((entry, depth + 1) for entry in item)
        elif isinstance(item, dict):
            waiting.extend((part, depth + 1) for pair in item.items() for part in pair)
    return None


def _too_deep() -> str:
    return f"is not valid JSON that Proofsheet reads: it is nested more than {MAX_DEPTH} levels deep."
