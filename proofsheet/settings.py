"""Settings, read in one place: defaults, then the environment; the CLI and tests pass theirs to create_app."""
from __future__ import annotations

import ipaddress
import os
import re
import urllib.parse
from pathlib import Path
from typing import Any, Mapping

DEFAULT_API_BASE = "http://localhost:1337/v1"
DEFAULT_DATA_DIR = Path(__file__).resolve().parent.parent / "instance"  # beside app.py
MB = 1024 * 1024
TIMEOUT = 300.0  # seconds an image server may take to answer a generation
IMAGE_TIMEOUT = 60.0  # seconds for fetching the images of one answer, all together
MAX_RESPONSE_BYTES = 64 * MB  # an answer larger than this is cut
MAX_IMAGE_BYTES = 32 * MB  # an image fetched from a url item larger than this is refused
THREADS = 96  # the web server's threads (--threads)
PAGE_THREADS = 16  # threads kept free for pages, whatever the generations in flight
LIVE_PAGES = 8  # pages following the history live, each holding a thread while connected
ROOM_THREADS = 16  # the voters' listener's own threads (--room): phones never take the presenter's
# Requests per 10 s on the voters' listener: from one address (on a room's Wi-Fi each phone has its own), and votes
# from one device (its cookie). Far above what a person tapping does; a script looping is slowed down.
ROOM_ADDRESS_LIMIT = 120
ROOM_DEVICE_LIMIT = 10
RUN_MAX_ATTEMPTS = 10  # sends of one run cell a server asked to wait for (429, 503), before it counts as failed


def in_flight_for(threads: int) -> int:
    """How many generations may wait on image servers at once: the threads left once the pages have theirs."""
    return max(1, threads - PAGE_THREADS - LIVE_PAGES)


MAX_IN_FLIGHT = in_flight_for(THREADS)


def defaults() -> dict[str, Any]:
    """The app's settings before the environment, the command line and the test config have their say."""
    return {
        "API_BASE": DEFAULT_API_BASE,
        "API_KEY": None,
        "TIMEOUT": TIMEOUT,
        "DATA_DIR": str(DEFAULT_DATA_DIR),
        "SERVER_LABEL": None,
        "MAX_RESPONSE_BYTES": MAX_RESPONSE_BYTES,
        "MAX_IMAGE_BYTES": MAX_IMAGE_BYTES,
        "IMAGE_TIMEOUT": IMAGE_TIMEOUT,
        "MAX_IN_FLIGHT": MAX_IN_FLIGHT,
        "LIVE_PAGES": LIVE_PAGES,
        "PROXY_TOKEN": None,
        "REWRITE_URLS": False,
        "ALLOWED_HOSTS": [],
        "DEFAULT_SERVER": "default",
        "SERVERS": [],  # (name, base URL) given at start besides the default one
        "ROOM": None,  # (address, port) of the voters' listener, when the room votes (--room)
        "ROOM_ADDRESS_LIMIT": ROOM_ADDRESS_LIMIT,
        "ROOM_DEVICE_LIMIT": ROOM_DEVICE_LIMIT,
        "RUN_MAX_ATTEMPTS": RUN_MAX_ATTEMPTS,
    }


# Every variable Proofsheet reads, for --help.
VARIABLES = {
    "PROOFSHEET_API_BASE": f"the image server's base URL (default {DEFAULT_API_BASE})",
    "PROOFSHEET_API_KEY": "its API key, sent as Authorization: Bearer (never shown or logged)",
    "PROOFSHEET_API_KEY_<NAME>": "the key of a server given with --server NAME=URL",
    "OPENAI_BASE_URL": "the image server, when PROOFSHEET_API_BASE is not set",
    "OPENAI_API_KEY": "sent only to OpenAI's own API or to the server OPENAI_BASE_URL names",
    "PROOFSHEET_DATA": "the data folder, where the history is kept (default: instance/ beside app.py)",
    "PROOFSHEET_TIMEOUT": f"seconds to wait for a generation (default {TIMEOUT:g})",
    "PROOFSHEET_IMAGE_TIMEOUT": f"seconds for fetching one answer's images (default {IMAGE_TIMEOUT:g})",
    "PROOFSHEET_ALLOWED_HOSTS": "other host names to answer to, comma-separated",
    "PROOFSHEET_PROXY_TOKEN": "a token callers of /v1 must send (Authorization: Bearer ...)",
    "PROOFSHEET_REWRITE_URLS": "1 to point /v1 answers' url items at Proofsheet's own copies",
    "PROOFSHEET_ROOM": "ADDRESS:PORT of the voters' listener, as --room (off unless set)",
}


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
    if environ.get("PROOFSHEET_ROOM"):
        settings["ROOM"] = room_address(environ["PROOFSHEET_ROOM"], "PROOFSHEET_ROOM")
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


def environment_key(variable: str, environ: Mapping[str, str] = os.environ) -> str | None:
    """The API key an environment variable holds; None when it is not set (or empty)."""
    return environ.get(variable) or None


def key_variable(name: str) -> str:
    """The environment variable that holds the key of a server named on the command line."""
    return "PROOFSHEET_API_KEY_" + re.sub(r"[^A-Za-z0-9]", "_", name).upper()


def data_dir(environ: Mapping[str, str] = os.environ) -> Path:
    return Path(environ.get("PROOFSHEET_DATA") or DEFAULT_DATA_DIR)


def checked_api_base(url: str, source: str) -> str:
    """An http(s) URL with a host; anything else stops start-up with one line that says what to write."""
    parts = urllib.parse.urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        guess = "http://" + url.strip().split("://")[-1].lstrip("/")
        raise SystemExit(f"{source} must be an http:// or https:// URL, not {url!r}. Did you mean {guess!r}?")
    return url.strip()


def room_address(text: str, source: str) -> tuple[str, int]:
    """ADDRESS:PORT of the voters' listener (an IPv6 address in brackets); anything else stops start-up saying so."""
    host, _, port = text.strip().rpartition(":")
    host = host.strip("[]")
    if not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise SystemExit(f"{source} must be ADDRESS:PORT, for example 0.0.0.0:5001 (every network) or "
                         f"192.168.1.20:5001, not {text!r}.")
    return host, int(port)


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
