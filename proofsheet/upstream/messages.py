"""What a person reads when talking to an image server went wrong: one sentence per failure, in the server's own
words where it gave some (the error shapes of OpenAI, gpt4free, FastAPI and LiteLLM are unwrapped)."""
from __future__ import annotations

import email.utils
import html
import json
import math
import re
import time
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, Mapping

from proofsheet.results import Problem

if TYPE_CHECKING:
    from proofsheet.upstream.reading import Body

MB = 1024 * 1024
_TITLE = re.compile(rb"<title[^>]*>(.*?)</title>", re.I | re.S)
# LiteLLM's router, after a deployment failed: "No deployments available ... Try again in 5 seconds" / "cooldown".
_TRY_AGAIN = re.compile(r"try again in (\d+(?:\.\d+)?) ?s(?:ec(?:ond)?s?)?\b", re.I)
COOLDOWN_GUESS = 5  # seconds, when a cooldown names no time (LiteLLM's default cooldown is a few seconds)


def not_reachable(url: str, what: str, how: str) -> str:
    hint = " Start gpt4free with `g4f api`, run `python app.py --demo`, or set PROOFSHEET_API_BASE." \
        if what == "image server" else ""
    return f"Could not reach the {what} at {url}: it {how}.{hint}"


def timed_out(url: str, what: str, timeout: float | None, setting: bool = True) -> Problem:
    """`setting`: the limit is PROOFSHEET_TIMEOUT's (a quick check's own few seconds are not)."""
    limit = f" within {timeout:g} seconds" if timeout else " within the time allowed"
    return Problem("timeout", f"The {what} at {url} did not finish answering{limit}"
                              + (" (PROOFSHEET_TIMEOUT)." if setting else "."))


def too_large(url: str, what: str, cap: int, declared: int | None) -> Problem:
    size = f" ({declared / MB:,.1f} MB)" if declared else ""
    return Problem("too_large", f"The answer from the {what} at {url} is larger than {cap / MB:g} MB{size}; "
                                "Proofsheet stopped reading it.")


def http_error(body: Body) -> Problem:
    """An answer with a 4xx or 5xx status; a rate limit says when to try again."""
    message = http_error_message(body)
    wait = retry_after(body)
    if wait is not None:
        return Problem.rate_limited(wait, message)
    return Problem("http_error", message)


def retry_after(body: Body) -> int | None:
    """A 429's wait in seconds: its Retry-After header, else the words of a cooldown; None when it is no rate limit.
    A 503 that says when to come back (Retry-After, or a cooldown) is a wait too: a server shedding load."""
    if body.status not in (429, 503):
        return None
    header = str(body.headers.get("Retry-After", "")).strip()
    if header:
        return _seconds_until(header)
    words = error_text(body.parsed) if body.is_json else body.data[:4096].decode("utf-8", "replace")
    said = _TRY_AGAIN.search(words)
    if said:
        return max(1, math.ceil(float(said[1])))
    return COOLDOWN_GUESS if "cooldown" in words.lower() else None


def _seconds_until(retry_after: str) -> int:
    """Retry-After's seconds, or its date (RFC 9110, 10.2.3) as seconds from now; at least one."""
    if retry_after.isdigit():
        return max(1, int(retry_after))
    try:
        when = email.utils.parsedate_to_datetime(retry_after).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return COOLDOWN_GUESS
    return max(1, math.ceil(when - time.time()))


def http_error_message(body: Body) -> str:
    head = f"The image server answered {body.status} {body.reason}"
    if body.is_json:
        return f"{head}: {error_text(body.parsed)}"
    if not body.data.strip():
        return f"{head} with an empty body."
    return f"{head}: {describe_text(body.data)}"


def error_text(parsed: Any) -> str:
    """The server's own words, from the shapes gpt4free, OpenAI, FastAPI and LiteLLM use."""
    if isinstance(parsed, dict):
        words = _words(parsed.get("error")) or _words(parsed.get("detail")) or _words(parsed.get("message"))
        if words:
            return words
    return clip(json.dumps(parsed, ensure_ascii=False))


def _words(value: Any) -> str | None:
    """A string as it is; {"message": ...} (OpenAI, LiteLLM's {"error": {"message": ...}}) or FastAPI's list of
    validation entries, read down to their text."""
    if isinstance(value, str) and value.strip():
        return value
    if isinstance(value, Mapping):
        return _words(value.get("message")) or _words(value.get("error"))
    if isinstance(value, list) and value:
        return "; ".join(validation_entry(entry) for entry in value[:10])
    return None


def validation_entry(entry: Any) -> str:
    if not isinstance(entry, dict):
        return clip(str(entry))
    where = ".".join(str(part) for part in entry.get("loc", []) if part != "body")
    message = str(entry.get("msg", "invalid"))
    return f"{where}: {message}" if where else message


def describe_text(data: bytes) -> str:
    if not data.strip():
        return "the body is empty."
    head = data[:4096].lstrip().lower()
    if head.startswith((b"<!doctype html", b"<html")) or b"<body" in head:
        title = _TITLE.search(data[:65536])
        named = f" titled \"{clip(html.unescape(title[1].decode('utf-8', 'replace')).strip(), 120)}\"" \
            if title else ""
        return f"it sent an HTML page{named} instead."
    return f"it sent \"{clip(data[:4096].decode('utf-8', 'replace'))}\"."  # only what is shown is decoded


def clip(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def shape(value: Any) -> str:
    if isinstance(value, dict):
        keys = ", ".join(list(value)[:5])
        return f"an object with keys {keys}" if keys else "an empty object"
    return {list: "a list", str: "a string", bool: "a boolean", type(None): "null"}.get(type(value), "a number")


def reason_phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def not_images_api(body: Body, api_base: str) -> str:
    """A server that answers GET /models, but not with a model list: what it gave, in its own words."""
    what = "an HTML page" if not body.is_json and b"<" in body.data[:512] else \
        f"{body.status} {body.reason}" if body.status >= 400 else "JSON without a model list"
    said = error_text(body.parsed) if body.status >= 400 and body.is_json else body.reason
    words = f": {said}" if said.strip().lower() != body.reason.lower() else ""  # not "404 Not Found: Not Found"
    hint = f" Did you mean {api_base}/v1?" if not api_base.endswith("/v1") else ""
    return (f"The server at {api_base} answers, but not as an OpenAI images API (GET /models gave {what}{words})."
            f"{hint}")


def key_refused(body: Body, api_base: str, key_hint: str) -> str:
    """Which key was refused (or that none was sent), where this server reads it from, and the server's words."""
    words = f" It said: {error_text(body.parsed)}" if body.is_json else ""
    return (f"The image server at {api_base} answered {body.status} {body.reason}: it refused the API key "
            f"({key_hint}).{words}")
