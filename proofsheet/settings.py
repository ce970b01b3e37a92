"""Settings, read in one place: defaults, then the environment; the CLI and tests pass theirs to create_app."""
from __future__ import annotations

import ipaddress
import os
import urllib.parse
from pathlib import Path
from typing import Any, Mapping

DEFAULT_API_BASE = "http://localhost:1337/v1"
DEFAULT_DATA_DIR = Path(__file__).resolve().parent.parent / "instance"  # beside app.py


def from_environment(environ: Mapping[str, str] = os.environ) -> dict[str, Any]:
    named = environment_api_base(environ)
    settings: dict[str, Any] = {
        "API_BASE": checked_api_base(named[1], named[0]) if named else DEFAULT_API_BASE,
    }
    if environ.get("PROOFSHEET_API_KEY"):
        settings["API_KEY"] = environ["PROOFSHEET_API_KEY"]
    if environ.get("PROOFSHEET_TIMEOUT"):
        settings["TIMEOUT"] = _positive_number(environ["PROOFSHEET_TIMEOUT"], "PROOFSHEET_TIMEOUT")
    if environ.get("PROOFSHEET_IMAGE_TIMEOUT"):
        settings["IMAGE_TIMEOUT"] = _positive_number(environ["PROOFSHEET_IMAGE_TIMEOUT"], "PROOFSHEET_IMAGE_TIMEOUT")
    if environ.get("PROOFSHEET_DATA"):
        settings["DATA_DIR"] = environ["PROOFSHEET_DATA"]
    if environ.get("PROOFSHEET_PROXY_TOKEN"):
        settings["PROXY_TOKEN"] = environ["PROOFSHEET_PROXY_TOKEN"]
    if environ.get("PROOFSHEET_REWRITE_URLS"):
        settings["REWRITE_URLS"] = environ["PROOFSHEET_REWRITE_URLS"].lower() in ("1", "true", "yes")
    if environ.get("PROOFSHEET_ALLOWED_HOSTS"):
        settings["ALLOWED_HOSTS"] = allowed_hosts(environ["PROOFSHEET_ALLOWED_HOSTS"].split(","))
    return settings


def environment_api_base(environ: Mapping[str, str] = os.environ) -> tuple[str, str] | None:
    """The variable that names the image server, and its value, if one does (else the first --server is the
    default one)."""
    for name in ("PROOFSHEET_API_BASE", "OPENAI_BASE_URL"):
        if environ.get(name):
            return name, environ[name]
    return None


def openai_key_for(api_base: str, environ: Mapping[str, str] = os.environ) -> str | None:
    """OPENAI_API_KEY, for the server it was set for: OpenAI's own API, or the one OPENAI_BASE_URL names. Set in a
    shell for other programs, it is never sent to another image server (gpt4free, a LocalAI box)."""
    key = environ.get("OPENAI_API_KEY")
    if not key:
        return None
    host = (urllib.parse.urlsplit(api_base).hostname or "").lower()
    meant_for = environ.get("OPENAI_BASE_URL", "").strip().rstrip("/")
    return key if host == "api.openai.com" or (meant_for and api_base.strip().rstrip("/") == meant_for) else None


def is_own_address(url: str, host: str, port: int) -> bool:
    """Whether `url` reaches the Proofsheet listening on host:port from this machine (a loopback name or address,
    or the address it listens on, with its port)."""
    parts = urllib.parse.urlsplit(url.strip())
    try:
        url_port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    except ValueError:
        return False
    name = (parts.hostname or "").rstrip(".").lower()
    if url_port != port or not name:
        return False
    if name in ("localhost", host.strip("[]").lower()) or name.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return False
    return address.is_loopback


def data_dir(environ: Mapping[str, str] = os.environ) -> Path:
    return Path(environ.get("PROOFSHEET_DATA") or DEFAULT_DATA_DIR)


def checked_api_base(url: str, source: str) -> str:
    """An http(s) URL with a host; anything else stops start-up with one line that says what to write."""
    parts = urllib.parse.urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        guess = "http://" + url.strip().split("://")[-1].lstrip("/")
        raise SystemExit(f"{source} must be an http:// or https:// URL, not {url!r}. Did you mean {guess!r}?")
    return url.strip()


def allowed_hosts(names: list[str]) -> list[str]:
    return [name.strip().rstrip(".").lower() for name in names if name.strip()]


def _positive_number(text: str, name: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise SystemExit(f"{name} must be a number of seconds, not {text!r}.") from None
    if value <= 0:
        raise SystemExit(f"{name} must be more than 0 seconds.")
    return value
