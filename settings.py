"""Settings, read in one place: defaults, then the environment; the CLI and tests pass theirs to create_app."""
from __future__ import annotations

import os
from typing import Any, Mapping

DEFAULT_API_BASE = "http://localhost:1337/v1"


def from_environment(environ: Mapping[str, str] = os.environ) -> dict[str, Any]:
    settings: dict[str, Any] = {
        "API_BASE": environ.get("PROOFSHEET_API_BASE") or environ.get("OPENAI_BASE_URL") or DEFAULT_API_BASE,
        "API_KEY": environ.get("PROOFSHEET_API_KEY") or environ.get("OPENAI_API_KEY") or None,
    }
    if environ.get("PROOFSHEET_TIMEOUT"):
        settings["TIMEOUT"] = _positive_number(environ["PROOFSHEET_TIMEOUT"], "PROOFSHEET_TIMEOUT")
    if environ.get("PROOFSHEET_IMAGE_TIMEOUT"):
        settings["IMAGE_TIMEOUT"] = _positive_number(environ["PROOFSHEET_IMAGE_TIMEOUT"], "PROOFSHEET_IMAGE_TIMEOUT")
    if environ.get("PROOFSHEET_DATA"):
        settings["DATA_DIR"] = environ["PROOFSHEET_DATA"]
    return settings


def _positive_number(text: str, name: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise SystemExit(f"{name} must be a number of seconds, not {text!r}.") from None
    if value <= 0:
        raise SystemExit(f"{name} must be more than 0 seconds.")
    return value
